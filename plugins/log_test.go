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

// TestHclogLevelsAndNames maps every hclog level onto slog's, and checks
// that With and Named make new loggers and leave the parent alone.
func TestHclogLevelsAndNames(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: levelTrace}))
	root := newHclog(l, "plugin")
	child := root.Named("s3").With("pid", 7)
	child.Trace("t")
	child.Debug("d")
	child.Info("i")
	child.Warn("w")
	child.Error("e")
	child.Log(hclog.NoLevel, "n")
	child.Log(hclog.Off, "off")
	root.ResetNamed("other").Info("root")
	want := []struct{ msg, level, logger string }{
		{"t", "DEBUG-4", "plugin.s3"}, {"d", "DEBUG", "plugin.s3"}, {"i", "INFO", "plugin.s3"},
		{"w", "WARN", "plugin.s3"}, {"e", "ERROR", "plugin.s3"}, {"n", "INFO", "plugin.s3"}, {"root", "INFO", "other"},
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["msg"] != w.msg || rec["level"] != w.level || rec["logger"] != w.logger {
			t.Errorf("line %d = %s, want msg %q level %s logger %s", i, lines[i], w.msg, w.level, w.logger)
		}
		if _, ok := rec["pid"]; ok != (w.msg != "root") {
			t.Errorf("line %d = %s: pid only on the child's lines", i, lines[i])
		}
	}
	if root.Name() != "plugin" || len(root.ImpliedArgs()) != 0 || child.Name() != "plugin.s3" || len(child.ImpliedArgs()) != 2 {
		t.Errorf("root %q %v, child %q %v", root.Name(), root.ImpliedArgs(), child.Name(), child.ImpliedArgs())
	}
	if !child.IsTrace() || child.GetLevel() != hclog.Trace {
		t.Errorf("IsTrace %v, GetLevel %v: want the handler's trace", child.IsTrace(), child.GetLevel())
	}
}
