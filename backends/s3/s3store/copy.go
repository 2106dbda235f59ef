package s3store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sluicehq/sluice/plugins"
)

// copyObject copies the object at key src to key dst server-side, giving
// dst the metadata of obj: a multipart upload of dst whose parts are
// UploadPartCopy ranges of src, completed with If-None-Match: * so an
// existing dst is never replaced (the error then says PreconditionFailed).
// On any failure the upload is aborted.
func (s *Store) copyObject(ctx context.Context, t *target, src, dst string, obj plugins.Object) error {
	created, err := t.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:   aws.String(t.bucket),
		Key:      aws.String(dst),
		Metadata: metadata(obj),
	})
	if err != nil {
		return fmt.Errorf("starting the copy from staging: %w", err)
	}
	uploadID := aws.ToString(created.UploadId)
	parts, err := s.copyParts(ctx, t, src, dst, uploadID, obj.Size)
	if err == nil {
		_, err = t.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(t.bucket),
			Key:             aws.String(dst),
			UploadId:        aws.String(uploadID),
			IfNoneMatch:     aws.String("*"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if err != nil {
		s.abort(ctx, t, dst, uploadID)
		return err
	}
	return nil
}

// copyParts copies src into the parts of an upload of dst, copyConcurrency
// at a time, and returns them in order.
func (s *Store) copyParts(ctx context.Context, t *target, src, dst, uploadID string, size int64) ([]types.CompletedPart, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	n := max(1, (size+s.copyPartSize-1)/s.copyPartSize)
	parts := make([]types.CompletedPart, n)
	source := t.bucket + "/" + escapePath(src)
	sem := make(chan struct{}, copyConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			first, last := i*s.copyPartSize, min(size, (i+1)*s.copyPartSize)-1
			out, err := t.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
				Bucket:          aws.String(t.bucket),
				Key:             aws.String(dst),
				UploadId:        aws.String(uploadID),
				PartNumber:      aws.Int32(int32(i + 1)),
				CopySource:      aws.String(source),
				CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
			})
			if err == nil && out.CopyPartResult == nil {
				err = fmt.Errorf("no CopyPartResult in the response")
			}
			if err != nil {
				cancel(fmt.Errorf("copying part %d from staging: %w", i+1, err))
				return
			}
			parts[i] = types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(int32(i + 1))}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return parts, nil
}

// escapePath URL-escapes each segment of a key for x-amz-copy-source.
func escapePath(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
