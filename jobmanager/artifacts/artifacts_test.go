package artifacts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPutVerifiesAndKeeps(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bin := []byte("#!/bin/sh\necho hi\n")
	d := digestOf(bin)
	created, err := s.Put(d, bytes.NewReader(bin), 1<<20)
	if err != nil || !created {
		t.Fatalf("Put = %v, %v", created, err)
	}
	p, err := s.Path(d)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(p); info.Mode()&0o111 == 0 {
		t.Fatal("stored artifact is not executable")
	}
	if got, _ := Digest(p); got != d {
		t.Fatal("stored bytes differ")
	}
	// Storing it again changes nothing.
	if created, err := s.Put(d, bytes.NewReader(bin), 1<<20); err != nil || created {
		t.Fatalf("second Put = %v, %v", created, err)
	}
}

func TestPutRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	bin := []byte("payload")
	d := digestOf(bin)
	cases := []struct {
		name   string
		digest string
		body   []byte
		limit  int64
		want   error
	}{
		{"mismatch", d, []byte("other"), 100, ErrDigestMismatch},
		{"too large", d, bin, 3, ErrTooLarge},
		{"traversal", "../../etc/passwd", bin, 100, ErrInvalidDigest},
		{"upper case", strings.ToUpper(d), bin, 100, ErrInvalidDigest},
		{"short", d[:10], bin, 100, ErrInvalidDigest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Put(tc.digest, bytes.NewReader(tc.body), tc.limit); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("refused uploads left files: %v", entries)
	}
	if _, err := s.Path(d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Path of a missing artifact: %v", err)
	}
	if _, err := s.Path("../" + filepath.Base(dir)); !errors.Is(err, ErrInvalidDigest) {
		t.Fatalf("Path with traversal: %v", err)
	}
}
