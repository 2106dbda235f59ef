// Package logging builds the loggers of Sluice's processes: text or JSON
// lines at a level, as the JobManager's --log-level and --log-format and a
// TaskManager's SLUICE_LOG_LEVEL and SLUICE_LOG_FORMAT give them.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats.
const (
	FormatText = "text" // slog's key=value lines (the default)
	FormatJSON = "json" // one JSON object per line
)

// ParseLevel parses a level name: debug, info, warn or error, in any case
// (slog's offsets, such as warn+2, work too). The empty string is info.
func ParseLevel(s string) (slog.Level, error) {
	if s == "" {
		return slog.LevelInfo, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not a log level; use debug, info, warn or error", s)
	}
	return l, nil
}

// CheckFormat reports whether s is a log format; the empty string is text.
func CheckFormat(s string) error {
	switch s {
	case "", FormatText, FormatJSON:
		return nil
	}
	return fmt.Errorf("%q is not a log format; use %s or %s", s, FormatText, FormatJSON)
}

// New returns a logger that writes records at level and above to w in
// format ("": text).
func New(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	if err := CheckFormat(format); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == FormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// Parse is New with the level and format given as text, as flags and
// environment variables give them.
func Parse(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return New(w, l, format)
}

// LevelName returns the name of the lowest of debug, info and warn that h
// logs, else "error": the level to give processes that should log as
// much as the one with handler h.
func LevelName(h slog.Handler) string {
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if h.Enabled(context.Background(), l) {
			return strings.ToLower(l.String())
		}
	}
	return "error"
}
