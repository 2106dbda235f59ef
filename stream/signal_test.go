package stream_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// helperEnv makes the test binary act as a job binary running an unbounded
// job until it is interrupted.
const helperEnv = "SLUICE_TEST_UNBOUNDED_HELPER"

func TestUnboundedJobRunsUntilInterrupted(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		runUnboundedHelper()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestUnboundedJobRunsUntilInterrupted$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	// Wait until the job has produced output, then press Ctrl-C.
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "seen ") {
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var last string
	for lines.Scan() {
		last = lines.Text()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("job binary exited with %v after Ctrl-C", err)
	}
	if last != "job cancelled" {
		t.Fatalf("last line %q, want the job reported as cancelled", last)
	}
}

func runUnboundedHelper() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := stream.NewEnvironment().SetParallelism(2)
	seq := stream.UnboundedSequence(env, 0, 5000)
	stream.Print(stream.Filter(seq, func(v int64) bool { return v%500 == 0 }).Name("every-500th")).SetParallelism(1)
	env.SetOutput(prefixWriter{os.Stdout, "seen "})
	res, err := env.Execute(ctx, "unbounded")
	if err != context.Canceled || res == nil {
		fmt.Println("unexpected end:", err)
		os.Exit(3)
	}
	fmt.Println("job " + string(res.State))
	os.Exit(0)
}

type prefixWriter struct {
	f      *os.File
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	var out []byte
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			out = append(out, p.prefix+line...)
		}
	}
	_, err := p.f.Write(out)
	return len(b), err
}
