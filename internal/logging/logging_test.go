package logging

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("verbose"); err == nil || !strings.Contains(err.Error(), "use debug, info, warn or error") {
		t.Errorf("ParseLevel(verbose): %v", err)
	}
}

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	l, err := Parse(&buf, "debug", FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hello", "job", "j1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "hello" || rec["job"] != "j1" || rec["level"] != "DEBUG" {
		t.Errorf("json line %s: %v", buf.String(), err)
	}
	buf.Reset()
	if l, err = Parse(&buf, "", ""); err != nil {
		t.Fatal(err)
	}
	l.Debug("dropped")
	l.Info("hello", "job", "j1")
	if got := buf.String(); !strings.Contains(got, "level=INFO msg=hello job=j1") || strings.Contains(got, "dropped") {
		t.Errorf("text at info: %q", got)
	}
	if _, err := Parse(io.Discard, "info", "xml"); err == nil || !strings.Contains(err.Error(), `"xml" is not a log format; use text or json`) {
		t.Errorf("format xml: %v", err)
	}
}

func TestLevelName(t *testing.T) {
	for level, want := range map[slog.Level]string{slog.LevelDebug - 4: "debug", slog.LevelDebug: "debug", slog.LevelInfo: "info", slog.LevelWarn: "warn", slog.LevelError: "error"} {
		h := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level})
		if got := LevelName(h); got != want {
			t.Errorf("LevelName at %v = %q, want %q", level, got, want)
		}
	}
}
