package server

import (
	"log/slog"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/taskmanager/agent"
)

// logEnv is the environment that makes the TaskManagers of the local and
// nomad providers log as the JobManager with handler h and format does: at
// its level (debug when it runs at debug) and in its format ("": text).
func logEnv(h slog.Handler, format string) []string {
	if format == "" {
		format = logging.FormatText
	}
	return []string{agent.EnvLogLevel + "=" + logging.LevelName(h), agent.EnvLogFormat + "=" + format}
}
