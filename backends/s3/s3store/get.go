package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/plugins"
)

// Get opens a stored object for streaming. Reading to the end verifies the
// bytes against the sha256 and size in the object's metadata; a mismatch
// is an error wrapping plugins.ErrChecksum that names the object. A
// missing object is plugins.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	t, err := s.configured()
	if err != nil {
		return nil, err
	}
	if err := plugins.ValidName(name); err != nil {
		return nil, err
	}
	out, err := t.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(t.objectKey(name))})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, fmt.Errorf("%w: %q", plugins.ErrNotFound, name)
		}
		return nil, fmt.Errorf("s3: get %q from %s: %w", name, t.endpoint, err)
	}
	want, err := fromMetadata(name, out.Metadata)
	if err != nil {
		out.Body.Close()
		return nil, err
	}
	return &verifier{body: out.Body, want: want, h: sha256.New()}, nil
}

// verifier streams an object's body and checks it at EOF.
type verifier struct {
	body io.ReadCloser
	want plugins.Object
	h    hash.Hash
	n    int64
	err  error // sticky: io.EOF once verified, or the failure
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.body.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.want.Size:
		v.err = fmt.Errorf("%w: %q: more than the %d bytes its metadata records", plugins.ErrChecksum, v.want.Name, v.want.Size)
	case err == io.EOF:
		v.err = v.check()
	case err != nil:
		v.err = fmt.Errorf("s3: reading object %q: %w", v.want.Name, err)
	}
	return n, v.err
}

// check compares what was read with the metadata: io.EOF if it matches.
func (v *verifier) check() error {
	if v.n != v.want.Size {
		return fmt.Errorf("%w: %q: read %d bytes, its metadata records %d", plugins.ErrChecksum, v.want.Name, v.n, v.want.Size)
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Checksum {
		return fmt.Errorf("%w: %q: sha256 of the stored bytes is %s, its metadata records %s", plugins.ErrChecksum, v.want.Name, got, v.want.Checksum)
	}
	return io.EOF
}

// Close releases the connection; the object need not have been read.
func (v *verifier) Close() error { return v.body.Close() }
