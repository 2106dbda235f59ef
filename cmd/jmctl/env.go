package main

import (
	"io"
	"os"
	"os/signal"
	"time"
)

// cliEnv is what a command touches outside itself, so that tests can
// replace it.
type cliEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// tty says whether stdout is a terminal: submit then refreshes its
	// progress line in place.
	tty bool
	// notifyInterrupt delivers SIGINT on the channel until stop is called.
	notifyInterrupt func() (c <-chan os.Signal, stop func())
	// planTimeout bounds a job binary's run in plan mode.
	planTimeout time.Duration
	// progressEvery is how often submit prints a progress line when stdout
	// is not a terminal.
	progressEvery time.Duration
}

// newProcessEnv returns the environment of the jmctl process.
func newProcessEnv() *cliEnv {
	return &cliEnv{
		stdout:          os.Stdout,
		stderr:          os.Stderr,
		getenv:          os.Getenv,
		now:             time.Now,
		tty:             isTerminal(os.Stdout),
		notifyInterrupt: notifyInterrupt,
		planTimeout:     60 * time.Second,
		progressEvery:   5 * time.Second,
	}
}

func notifyInterrupt() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	return c, func() { signal.Stop(c) }
}

// isTerminal reports whether f is a character device, such as a terminal.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
