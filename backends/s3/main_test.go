package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/plugins/backendtest"
)

// TestMain checks the plugin processes, the S3 server and their
// connections are all gone at the end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// buildPlugin compiles this command as sluice-backend-s3.
func buildPlugin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), plugins.BinaryPrefix+"s3")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestPlugin builds this binary and runs the conformance suite through
// plugins.Open, against the real process and a real versitygw.
func TestPlugin(t *testing.T) {
	bin := buildPlugin(t)
	srv := s3test.Start(t)
	var buckets atomic.Int64
	t.Run("Conformance", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) plugins.Backend {
			bucket := fmt.Sprintf("plugin-%d", buckets.Add(1))
			srv.CreateBucket(t, bucket)
			c, err := plugins.Open(t.Context(), plugins.Config{
				Name: "s3", Path: bin, Logger: testLogger(t), Settings: settings(srv, bucket),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		})
	})

	// A bad setting fails Open with the backend's message, across the
	// process boundary.
	t.Run("BadSettings", func(t *testing.T) {
		bad := settings(srv, "no-such-bucket")
		_, err := plugins.Open(t.Context(), plugins.Config{Name: "s3", Path: bin, Logger: testLogger(t), Settings: bad})
		if !errors.Is(err, plugins.ErrSettings) || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
			t.Fatalf("Open with a missing bucket: %v; want ErrSettings saying the bucket does not exist", err)
		}
		bad = settings(srv, "plugin-1")
		bad["colour"] = "blue"
		_, err = plugins.Open(t.Context(), plugins.Config{Name: "s3", Path: bin, Logger: testLogger(t), Settings: bad})
		if !errors.Is(err, plugins.ErrSettings) || !strings.Contains(err.Error(), `"colour"`) {
			t.Fatalf("Open with an unknown setting: %v; want ErrSettings naming it", err)
		}
	})
}

func settings(srv *s3test.Server, bucket string) map[string]string {
	return map[string]string{
		"bucket":            bucket,
		"prefix":            "sluice",
		"endpoint":          srv.Endpoint,
		"path_style":        "true",
		"access_key_id":     srv.AccessKey,
		"secret_access_key": srv.SecretKey,
	}
}

// testLogger logs to the test's output, warnings and up only.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
