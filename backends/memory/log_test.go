package main

import (
	"log/slog"
	"testing"
)

// testLogger logs to the test's output, warnings and up only.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
