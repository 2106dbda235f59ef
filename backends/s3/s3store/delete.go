package s3store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/plugins"
)

// Delete removes an object; deleting a missing one is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	t, err := s.configured()
	if err != nil {
		return err
	}
	if err := plugins.ValidName(name); err != nil {
		return err
	}
	_, err = t.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(t.objectKey(name))})
	if err != nil && !isNoSuchKey(err) {
		return fmt.Errorf("s3: delete %q at %s: %w", name, t.endpoint, err)
	}
	return nil
}
