package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/plugins"
)

// cleanupTimeout bounds the requests that tidy up after a failed or
// finished Put (aborts, staging deletes); they run even if ctx is done.
const cleanupTimeout = 30 * time.Second

// Put stores the bytes of r under name, once: if the name exists it fails
// with plugins.ErrExists. Data up to PartSize goes in one PutObject; longer
// data streams through a multipart upload to a staging key and is then
// copied server-side to its name (see the package documentation). If r
// fails, nothing is stored.
func (s *Store) Put(ctx context.Context, name string, r io.Reader) (plugins.Object, error) {
	t, err := s.configured()
	if err != nil {
		return plugins.Object{}, err
	}
	if err := plugins.ValidName(name); err != nil {
		return plugins.Object{}, err
	}
	hr := &hashingReader{r: r, h: sha256.New()}
	head, err := readUpTo(hr, s.partSize)
	if err != nil {
		return plugins.Object{}, fmt.Errorf("s3: put %q: reading the data: %w", name, err)
	}
	if int64(len(head)) < s.partSize {
		return s.putSingle(ctx, t, name, head, hr.object(name))
	}
	return s.putStaged(ctx, t, name, io.MultiReader(bytes.NewReader(head), hr), hr)
}

// putSingle stores a whole object held in memory with one conditional
// PutObject.
func (s *Store) putSingle(ctx context.Context, t *target, name string, data []byte, obj plugins.Object) (plugins.Object, error) {
	sum, _ := hex.DecodeString(obj.Checksum)
	_, err := t.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(t.bucket),
		Key:            aws.String(t.objectKey(name)),
		Body:           bytes.NewReader(data),
		ContentLength:  aws.Int64(obj.Size),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum)),
		IfNoneMatch:    aws.String("*"),
		Metadata:       metadata(obj),
	})
	if err != nil {
		return plugins.Object{}, t.writeError(name, err)
	}
	return obj, nil
}

// putStaged streams body (whose tail is hr) to a staging key, then copies
// it to its name with its checksum in the metadata.
func (s *Store) putStaged(ctx context.Context, t *target, name string, body io.Reader, hr *hashingReader) (plugins.Object, error) {
	key := t.objectKey(name)
	// Fail fast rather than upload gigabytes for nothing; the conditional
	// completion of the copy is what guarantees write-once.
	if _, err := t.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(key)}); err == nil {
		return plugins.Object{}, fmt.Errorf("%w: %q", plugins.ErrExists, name)
	} else if !isNoSuchKey(err) {
		return plugins.Object{}, fmt.Errorf("s3: put %q: checking whether it exists at %s: %w", name, t.endpoint, err)
	}

	staging := t.stagingKey(rand.Text())
	uploader := manager.NewUploader(t.client, func(u *manager.Uploader) {
		u.PartSize = s.partSize
		u.Concurrency = s.concurrency
	})
	_, err := uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket: aws.String(t.bucket),
		Key:    aws.String(staging),
		Body:   body,
	})
	if err != nil {
		// The uploader aborts a failed multipart upload, but with ctx: if
		// that is done, abort here.
		var failure manager.MultiUploadFailure
		if errors.As(err, &failure) && ctx.Err() != nil {
			s.abort(ctx, t, staging, failure.UploadID())
		}
		if hr.err != nil {
			return plugins.Object{}, fmt.Errorf("s3: put %q: reading the data: %w", name, hr.err)
		}
		return plugins.Object{}, fmt.Errorf("s3: put %q: uploading to %s: %w", name, t.endpoint, err)
	}
	defer s.deleteStaging(ctx, t, staging)
	obj := hr.object(name)
	if err := s.copyObject(ctx, t, staging, key, obj); err != nil {
		return plugins.Object{}, t.writeError(name, err)
	}
	return obj, nil
}

// writeError maps the error of a conditional write of name.
func (t *target) writeError(name string, err error) error {
	if isPreconditionFailed(err) {
		return fmt.Errorf("%w: %q", plugins.ErrExists, name)
	}
	return fmt.Errorf("s3: put %q to %s: %w", name, t.endpoint, err)
}

// deleteStaging removes a staging object, logging (not returning) failure.
// It logs with slog.Default() of the moment: plugins.Serve sets it after
// New has run.
func (s *Store) deleteStaging(ctx context.Context, t *target, staging string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := t.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(staging)})
	if err != nil && !isNoSuchKey(err) {
		slog.Warn("cannot delete staging object; a lifecycle rule or a manual delete must remove it",
			"bucket", t.bucket, "key", staging, "err", err)
	}
}

// abort aborts a multipart upload, logging (not returning) failure.
func (s *Store) abort(ctx context.Context, t *target, key, uploadID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := t.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(t.bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
	})
	if err != nil && apiCode(err) != "NoSuchUpload" {
		slog.Warn("cannot abort multipart upload; a lifecycle rule or a manual abort must remove its parts",
			"bucket", t.bucket, "key", key, "upload_id", uploadID, "err", err)
	}
}
