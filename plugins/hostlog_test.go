package plugins_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/plugins"
)

// lockedBuffer is a bytes.Buffer safe for go-plugin's stderr reader and
// the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPluginLogReachesTheHostLogger: what a backend logs with slog goes
// through its stderr, as hclog JSON, to the host's slog logger, with its
// level, its attributes and the backend's name.
func TestPluginLogReachesTheHostLogger(t *testing.T) {
	var out lockedBuffer
	host := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := t.TempDir()
	c, err := plugins.Open(t.Context(), plugins.Config{Name: "file", Path: fileBinary(t), Settings: map[string]string{"dir": dir}, Logger: host})
	if err != nil {
		t.Fatal(err)
	}
	// Close waits for go-plugin's stderr reader: every line is in.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a host log line is not JSON: %v\n%s", err, line)
		}
		if rec["backend"] != "file" {
			t.Errorf("a line lacks backend=file: %s", line)
		}
		if rec["msg"] == "configured" {
			found = true
			if rec["level"] != "DEBUG" || rec["dir"] != dir || !strings.HasPrefix(rec["logger"].(string), "plugin.") {
				t.Errorf("the plugin's line came through as %s", line)
			}
		}
	}
	if !found {
		t.Errorf("the plugin's debug line did not reach the host logger:\n%s", out.String())
	}
}
