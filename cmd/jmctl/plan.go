package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

// The environment of a job binary in plan mode (see package stream).
const (
	modeEnv        = "SLUICE_MODE"        // stream.ModeEnv
	modePlan       = "plan"               // stream.ModePlan
	parallelismEnv = "SLUICE_PARALLELISM" // the default parallelism
)

// Bounds on what jmctl keeps of a job binary's output in plan mode.
const (
	maxPlanOutput = 16<<20 + 1 // one byte over jobgraph's limit, so that Parse reports it
	maxPlanStderr = 8 << 10
	stderrLines   = 3
)

// checkBinary returns the absolute path of a job binary, or a usage error
// if it is missing, not a file or not executable.
func checkBinary(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", usageErrorf("job binary %s: %w", path, err)
	}
	info, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", usageErrorf("job binary %s does not exist; build it first (go build -o %s ./yourjob)", path, path)
	case err != nil:
		return "", usageErrorf("job binary %s: %w", path, err)
	case info.IsDir():
		return "", usageErrorf("job binary %s is a directory; give the path of a built job binary", path)
	case !info.Mode().IsRegular():
		return "", usageErrorf("job binary %s is not a regular file", path)
	case info.Mode().Perm()&0o111 == 0:
		return "", usageErrorf("job binary %s is not executable; chmod +x %s, or build it with go build", path, path)
	}
	return abs, nil
}

// planEnv is the environment of a job binary in plan mode: jmctl's own,
// without any SLUICE_MODE or SLUICE_PARALLELISM of it, plus plan mode and
// --parallelism if given, so that the plan depends only on what the
// submission records.
func planEnv(parallelism int) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != modeEnv && k != parallelismEnv {
			env = append(env, kv)
		}
	}
	env = append(env, modeEnv+"="+modePlan)
	if parallelism > 0 {
		env = append(env, parallelismEnv+"="+strconv.Itoa(parallelism))
	}
	return env
}

// plan runs the job binary at abs (named name in messages) in plan mode
// with args and returns the job graph it printed, trimmed. Every failure of
// the binary is a usage error.
func plan(ctx context.Context, name, abs string, args []string, parallelism int, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stdout := &headBuffer{max: maxPlanOutput}
	stderr := &tailBuffer{max: maxPlanStderr}
	cmd := exec.CommandContext(ctx, abs, args...)
	cmd.Env = planEnv(parallelism)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 2 * time.Second // if children of the binary hold its output open
	err := cmd.Run()

	var exitErr *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, usageErrorf("plan mode of %s did not finish within %v; in plan mode a job binary must build its job and call env.Execute (package stream), which prints the job graph and exits", name, timeout)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("plan mode of %s: %w", name, ctx.Err())
	case errors.As(err, &exitErr):
		return nil, usageErrorf("plan mode of %s failed (%v): %s", name, exitErr, lastLines(stderr.String(), stderrLines))
	case err != nil:
		return nil, usageErrorf("cannot run %s in plan mode: %w; is it a job binary built for this machine?", name, err)
	}

	graph := bytes.TrimSpace(stdout.Bytes())
	if len(graph) == 0 {
		return nil, usageErrorf("%s printed no valid job graph in plan mode: its output was empty; the binary must build its job with package stream and call env.Execute", name)
	}
	if _, err := jobgraph.Parse(graph); err != nil {
		return nil, usageErrorf("%s printed no valid job graph in plan mode: %s; the binary must build its job with package stream and call env.Execute, and print nothing else on stdout", name, oneLine(err.Error()))
	}
	return graph, nil
}

// lastLines returns the last n non-blank lines of s joined with " | ", or a
// note that s is empty.
func lastLines(s string, n int) string {
	var lines []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return "(nothing on stderr)"
	}
	return strings.Join(lines[max(len(lines)-n, 0):], " | ")
}

// headBuffer keeps the first max bytes written to it and discards the rest.
type headBuffer struct {
	bytes.Buffer
	max int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// tailBuffer keeps about the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.buf) }
