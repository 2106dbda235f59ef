package provider

import (
	"strings"
)

// ExitError is the Err of a Lost event from Local: a TaskManager process
// exited without being released. Its message is "taskmanager <id> exited:
// <how>: <last lines of stderr>", e.g. "taskmanager 1a2b3c4d-tm-2 exited:
// exit status 2: open state: permission denied".
type ExitError struct {
	TaskManager string
	// Err is the error of waiting for the process, usually an
	// *exec.ExitError; nil if it exited with status 0.
	Err error
	// Stderr holds the last few lines the process wrote to stderr, oldest
	// first, preceded by the line of a Go panic if there was one.
	Stderr []string
	// Log is the path of the file with its whole output.
	Log string
}

// Error describes the exit.
func (e *ExitError) Error() string {
	var b strings.Builder
	b.WriteString("taskmanager ")
	b.WriteString(e.TaskManager)
	b.WriteString(" exited: ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("exit status 0")
	}
	if len(e.Stderr) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Stderr, " | "))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }
