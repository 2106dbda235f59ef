package s3store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/backends/s3/s3store"
	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/plugins/backendtest"
)

// TestConformance runs the plugins.Backend conformance suite against the
// store on a real versitygw, with and without a key prefix. The subtests
// share one server; each gets its own bucket.
func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	var buckets atomic.Int64
	for _, prefix := range []string{"", "sluice/snapshots"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) plugins.Backend {
				bucket := fmt.Sprintf("conformance-%d", buckets.Add(1))
				srv.CreateBucket(t, bucket)
				s := s3store.New()
				settings := map[string]string{
					s3store.SettingBucket:          bucket,
					s3store.SettingPrefix:          prefix,
					s3store.SettingEndpoint:        srv.Endpoint,
					s3store.SettingPathStyle:       "true",
					s3store.SettingAccessKeyID:     srv.AccessKey,
					s3store.SettingSecretAccessKey: srv.SecretKey,
				}
				if err := s.Configure(context.Background(), settings); err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}
