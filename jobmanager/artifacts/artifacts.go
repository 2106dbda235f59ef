// Package artifacts stores job binaries on the JobManager, addressed by the
// sha256 of their bytes: a binary is accepted only if it hashes to the digest
// it was uploaded under, is stored executable, and never changes once stored.
package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Errors callers branch on.
var (
	ErrInvalidDigest  = errors.New("invalid artifact digest")
	ErrDigestMismatch = errors.New("artifact does not match its digest")
	ErrTooLarge       = errors.New("artifact too large")
	ErrNotFound       = errors.New("artifact not found")
)

// Store is a directory of artifacts named by digest.
type Store struct {
	dir string
}

// Open returns the store in dir, creating the directory.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("artifact store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// ValidDigest reports whether d is a lowercase hex sha256.
func ValidDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for _, c := range d {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkDigest(d string) error {
	if !ValidDigest(d) {
		return fmt.Errorf("%w %q: want the 64 lowercase hex digits of a sha256", ErrInvalidDigest, d)
	}
	return nil
}

// Path returns where the artifact with digest d is stored, if it is. Since
// d is validated as hex, it cannot name anything outside the store.
func (s *Store) Path(d string) (string, error) {
	if err := checkDigest(d); err != nil {
		return "", err
	}
	p := filepath.Join(s.dir, d)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	return p, nil
}

// Put stores the bytes of r under digest d if they hash to it and are at
// most limit bytes long. It reports whether the artifact is new. An
// artifact already stored is kept as it is.
func (s *Store) Put(d string, r io.Reader, limit int64) (bool, error) {
	if err := checkDigest(d); err != nil {
		return false, err
	}
	final := filepath.Join(s.dir, d)
	if _, err := os.Stat(final); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r, limit))
		return false, nil
	}
	tmp, err := os.CreateTemp(s.dir, ".upload-*")
	if err != nil {
		return false, fmt.Errorf("artifact store: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, limit+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("artifact store: receiving %s: %w", d, err)
	}
	if n > limit {
		return false, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d {
		return false, fmt.Errorf("%w: the uploaded bytes hash to %s, not %s", ErrDigestMismatch, got, d)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return false, fmt.Errorf("artifact store: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return false, fmt.Errorf("artifact store: %w", err)
	}
	return true, nil
}

// Digest returns the sha256 of the file at path, as stored digests are.
func Digest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
