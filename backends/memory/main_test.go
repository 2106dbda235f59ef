package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/plugins/backendtest"
)

// TestPlugin builds this binary and runs the conformance suite through
// plugins.Open, against the real process.
func TestPlugin(t *testing.T) {
	defer goleak.VerifyNone(t)
	bin := filepath.Join(t.TempDir(), "sluice-backend-memory")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("Conformance", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) plugins.Backend {
			c, err := plugins.Open(t.Context(), plugins.Config{Name: "memory", Path: bin, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		})
	})
}
