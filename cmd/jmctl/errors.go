package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/jobmanager/api"
)

// Exit codes of jmctl (see the package comment).
const (
	exitOK          = 0
	exitFailed      = 1 // the job failed or was cancelled, or another error
	exitUsage       = 2
	exitAPI         = 3
	exitUnreachable = 4
)

// cliError is an error with the exit code it ends jmctl with and, if msg
// is set, the message to print instead of err's.
type cliError struct {
	code int
	msg  string
	err  error
}

func (e *cliError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}

func (e *cliError) Unwrap() error { return e.err }

// usageErrorf returns an error that exits with code 2.
func usageErrorf(format string, a ...any) error {
	return &cliError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// noJob is the error for a job id the JobManager does not know; err is its
// 404 answer.
func noJob(id string, err error) error {
	return &cliError{code: exitAPI, msg: fmt.Sprintf("no job %s; list jobs with `jmctl list`", id), err: err}
}

// exitCode is the exit code err ends jmctl with.
func exitCode(err error) int {
	var ce *cliError
	var apiErr *api.APIError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, api.ErrUnreachable):
		return exitUnreachable
	case errors.As(err, &apiErr):
		return exitAPI
	default:
		return exitFailed
	}
}

// oneLine joins the non-blank lines of s with "; ", so that every error
// jmctl prints is one line.
func oneLine(s string) string {
	var parts []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}
