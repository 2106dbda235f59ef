package plugins

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestHclogToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := newHclog(l, "plugin").Named("memory").With("pid", 42)
	h.Debug("dropped")
	h.Info("started", "version", 1)
	h.Error("exited", "error", "signal: killed")
	out := buf.String()
	if strings.Contains(out, "dropped") {
		t.Errorf("a Debug record got through an Info handler:\n%s", out)
	}
	for _, want := range []string{"level=INFO msg=started", "logger=plugin.memory", "pid=42", "version=1", "level=ERROR msg=exited", `error="signal: killed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := h.GetLevel(); got != hclog.Info {
		t.Errorf("GetLevel = %v, want Info (the slog handler's)", got)
	}
	if h.IsDebug() || !h.IsWarn() {
		t.Errorf("IsDebug = %v, IsWarn = %v", h.IsDebug(), h.IsWarn())
	}
	h.SetLevel(hclog.Error)
	h.Warn("dropped too")
	if strings.Contains(buf.String(), "dropped too") {
		t.Error("SetLevel(Error) let a Warn record through")
	}
	h.StandardLogger(nil).Print("via the standard logger")
	if !strings.Contains(buf.String(), "via the standard logger") {
		t.Error("StandardLogger does not write to slog")
	}
}

// TestPluginLogFormat checks that a plugin's slog records come out in the
// JSON shape go-plugin parses on the host.
func TestPluginLogFormat(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(pluginLogHandler(&buf))
	l.Debug("putting", "name", "a/b")
	l.Log(t.Context(), levelTrace, "too low")
	l.Warn("slow disk")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["@level"] != "debug" || rec["@message"] != "putting" || rec["name"] != "a/b" {
		t.Errorf("record = %v", rec)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", rec["@timestamp"].(string)); err != nil {
		t.Errorf("@timestamp: %v", err)
	}
	if !strings.Contains(lines[1], `"@level":"warn"`) {
		t.Errorf("warn record = %s", lines[1])
	}
}

func TestTail(t *testing.T) {
	tl := &tail{max: 32}
	tl.Write([]byte(`{"@level":"debug","@message":"x"}`))
	tl.Write([]byte("\n"))
	tl.Write([]byte("panic: boom\n"))
	tl.Write([]byte("goroutine 1 [running]:\nmain.main()\n"))
	if got := tl.String(); len(got) > 32 || strings.Contains(got, "@level") || !strings.HasSuffix(got, "main.main()\n") {
		t.Errorf("tail = %q: want at most 32 bytes, no JSON log line, the last line", got)
	}
}
