package agent

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/sluicehq/sluice/internal/logging"
)

// NewLogger returns the logger of a TaskManager process: lines on w at the
// level and in the format that getenv gives for EnvLogLevel (debug, info,
// warn or error; default info) and EnvLogFormat (text or json; default
// text). The JobManager's local and Nomad providers set both to its own.
func NewLogger(w io.Writer, getenv func(string) string) (*slog.Logger, error) {
	level, err := logging.ParseLevel(getenv(EnvLogLevel))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLogLevel, err)
	}
	format := getenv(EnvLogFormat)
	if err := logging.CheckFormat(format); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvLogFormat, err)
	}
	return logging.New(w, level, format)
}
