package server

import (
	"io"
	"log/slog"
	"slices"
	"testing"
)

// TestLogEnv: the TaskManagers the JobManager starts log at its level and
// in its format.
func TestLogEnv(t *testing.T) {
	for _, tc := range []struct {
		level  slog.Level
		format string
		want   []string
	}{
		{slog.LevelDebug, "json", []string{"SLUICE_LOG_LEVEL=debug", "SLUICE_LOG_FORMAT=json"}},
		{slog.LevelInfo, "", []string{"SLUICE_LOG_LEVEL=info", "SLUICE_LOG_FORMAT=text"}},
		{slog.LevelWarn, "text", []string{"SLUICE_LOG_LEVEL=warn", "SLUICE_LOG_FORMAT=text"}},
		{slog.LevelError, "", []string{"SLUICE_LOG_LEVEL=error", "SLUICE_LOG_FORMAT=text"}},
	} {
		h := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: tc.level})
		if got := logEnv(h, tc.format); !slices.Equal(got, tc.want) {
			t.Errorf("level %v, format %q: %v, want %v", tc.level, tc.format, got, tc.want)
		}
	}
}
