package s3store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/plugins"
)

// TestCorruptionAtRest damages stored objects behind the server's back, in
// its posix directory, and checks Get reports it as ErrChecksum naming the
// object, once the reader reaches the end.
func TestCorruptionAtRest(t *testing.T) {
	f := newFixture(t, "ckpt")
	f.store.partSize = 5 * mib
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		size   int64
		damage func(path string) error
	}{
		{"small/flipped", 4096, flipByte(1000)},
		{"large/flipped", 6 * mib, flipByte(5*mib + 7)}, // in the second part
		{"small/truncated", 4096, func(path string) error { return os.Truncate(path, 4000) }},
		{"small/extended", 4096, appendBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.store.Put(ctx, tc.name, newStream(9, tc.size)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(f.srv.Dir, f.bucket, "ckpt", filepath.FromSlash(tc.name))
			if err := tc.damage(path); err != nil {
				t.Fatal(err)
			}
			_, _, err := readAllSum(t, f.store, tc.name)
			if !errors.Is(err, plugins.ErrChecksum) || !strings.Contains(err.Error(), `"`+tc.name+`"`) {
				t.Fatalf("Get of a damaged object: %v; want ErrChecksum naming %q", err, tc.name)
			}
			t.Logf("%v", err)
		})
	}
}

// TestReplacedBytesKeepMetadata overwrites an object through S3 with other
// bytes of the same length but the original metadata.
func TestReplacedBytesKeepMetadata(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if _, err := f.store.Put(ctx, "obj", strings.NewReader("original")); err != nil {
		t.Fatal(err)
	}
	raw := f.srv.Client()
	head, err := raw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(f.bucket), Key: aws.String("obj"),
		Body: strings.NewReader("0riginal"), Metadata: head.Metadata,
	}); err != nil {
		t.Fatal(err)
	}
	rc, err := f.store.Get(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if !errors.Is(err, plugins.ErrChecksum) || !strings.Contains(err.Error(), `"obj"`) {
		t.Fatalf("Get: %v, want ErrChecksum naming the object", err)
	}
	if !bytes.Equal(data, []byte("0riginal")) {
		t.Fatalf("read %q before the error", data)
	}
	// The error is sticky.
	if _, err := rc.Read(make([]byte, 1)); !errors.Is(err, plugins.ErrChecksum) {
		t.Fatalf("Read after the mismatch: %v", err)
	}
}

// flipByte returns a damage that inverts the byte at off in place (the
// file keeps its extended attributes, where versitygw keeps metadata).
func flipByte(off int64) func(string) error {
	return func(path string) error {
		file, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer file.Close()
		b := make([]byte, 1)
		if _, err := file.ReadAt(b, off); err != nil {
			return err
		}
		b[0] ^= 0xff
		_, err = file.WriteAt(b, off)
		return err
	}
}

func appendBytes(path string) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer file.Close()
	_, err = file.WriteString("tail")
	return err
}
