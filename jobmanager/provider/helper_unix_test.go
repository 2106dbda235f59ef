//go:build unix

package provider

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary itself plays the TaskManager: Ensure runs it with
// -test.run=^TestHelperProcess$ and helperEnv set to a behaviour.
const (
	helperEnv   = "SLUICE_PROVIDER_TEST_HELPER"
	extraEnv    = "SLUICE_PROVIDER_TEST_EXTRA"
	sleep       = "sleep"       // sleep until killed; SIGTERM ends it
	ignoreTerm  = "ignore-term" // ignore SIGTERM, then sleep until killed
	exit3       = "exit3"       // write to stderr and exit with status 3
	exit0       = "exit0"       // exit with status 0 at once
	panicking   = "panic"       // panic, so that Go prints a stack trace
	waitTimeout = 30 * time.Second
)

// TestHelperProcess is the TaskManager of the tests when helperEnv is set.
// It prints its hello line to stdout (see helloLine), then behaves as
// helperEnv says.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("run by the tests as a TaskManager")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	if mode == jobManagerHelper {
		runJobManagerHelper()
		os.Exit(0)
	}
	if mode == ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	fmt.Printf("hello %s pid %d extra %s args %q\n", os.Getenv(EnvTaskManagerID), os.Getpid(), os.Getenv(extraEnv), args)
	switch mode {
	case exit3:
		fmt.Fprintln(os.Stderr, "starting up")
		fmt.Fprintln(os.Stderr, "loading state")
		fmt.Fprintln(os.Stderr, "")
		fmt.Fprintln(os.Stderr, "open state: permission denied")
		os.Exit(3)
	case exit0:
		os.Exit(0)
	case panicking:
		// Not on the test's goroutine, where testing would recover it.
		go panic("operator exploded")
		time.Sleep(time.Minute)
	}
	// Sleep until killed; a safety net ends an orphan anyway.
	time.Sleep(5 * time.Minute)
	os.Exit(4)
}

// helloLine is what the helper with id prints first.
func helloLine(id string, pid int, args ...string) string {
	return fmt.Sprintf("hello %s pid %d extra from-test args %q", id, pid, args)
}

// helperRequest asks for n TaskManagers of jobID running the helper in mode.
func helperRequest(t *testing.T, jobID string, n int, mode string, args ...string) Request {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Request{
		JobID:               jobID,
		Artifact:            strings.Repeat("ab", 32),
		Path:                exe,
		Args:                append([]string{"-test.run=^TestHelperProcess$", "--"}, args...),
		Env:                 []string{helperEnv + "=" + mode, extraEnv + "=from-test"},
		TaskManagers:        n,
		SlotsPerTaskManager: 2,
	}
}

// newLocal returns a Local provider with a short grace period in a fresh
// work directory, closed when the test ends.
func newLocal(t *testing.T, grace time.Duration) *Local {
	t.Helper()
	p, err := NewLocal(LocalConfig{
		WorkDir:     filepath.Join(t.TempDir(), "work"),
		GracePeriod: grace,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// ensure calls p.Ensure and checks the ids it returns.
func ensure(t *testing.T, p *Local, req Request, want ...string) {
	t.Helper()
	ids, err := p.Ensure(context.Background(), req)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("Ensure started %q, want %q", ids, want)
	}
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logOf returns the contents of the log of TaskManager id.
func logOf(t *testing.T, p *Local, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.workDir, id+".log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// waitHello waits for the hello line of TaskManager id in its log and
// returns its pid.
func waitHello(t *testing.T, p *Local, id string) int {
	t.Helper()
	var pid int
	waitFor(t, "the hello line of "+id, func() bool {
		line, _, _ := strings.Cut(logOf(t, p, id), "\n")
		_, err := fmt.Sscanf(line, "hello "+id+" pid %d", &pid)
		return err == nil
	})
	return pid
}

// alive reports whether process pid exists (a zombie counts).
func alive(t *testing.T, pid int) bool {
	t.Helper()
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("kill -0 %d: %v", pid, err)
	}
	return err == nil
}

// checkGone fails the test if any of pids still exists.
func checkGone(t *testing.T, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		if alive(t, pid) {
			t.Errorf("process %d is still there", pid)
		}
	}
}

// receiveLost returns the next Lost event of p.
func receiveLost(t *testing.T, p Provider) Lost {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case l, ok := <-p.Lost():
		if !ok {
			t.Fatal("Lost channel closed")
		}
		return l
	case <-timer.C:
		t.Fatal("timed out waiting for a Lost event")
	}
	return Lost{}
}

// lines returns the lines of s.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// jobManagerHelper is a helper mode that plays the JobManager: it starts
// one sleeping TaskManager with a Local provider in the directory workDirEnv
// names, prints "taskmanager <pid>" and sleeps, never closing the provider.
const (
	jobManagerHelper = "jobmanager"
	workDirEnv       = "SLUICE_PROVIDER_TEST_WORKDIR"
)

// runJobManagerHelper is the jobManagerHelper mode of TestHelperProcess.
func runJobManagerHelper() {
	dir := os.Getenv(workDirEnv)
	p, err := NewLocal(LocalConfig{WorkDir: dir})
	if err != nil {
		panic(err)
	}
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	ids, err := p.Ensure(context.Background(), Request{
		JobID:        "deadbeef-pdeathsig",
		Path:         exe,
		Args:         []string{"-test.run=^TestHelperProcess$"},
		Env:          []string{helperEnv + "=" + sleep},
		TaskManagers: 1,
	})
	if err != nil {
		panic(err)
	}
	for {
		b, _ := os.ReadFile(filepath.Join(dir, ids[0]+".log"))
		var pid int
		if _, err := fmt.Sscanf(string(b), "hello "+ids[0]+" pid %d", &pid); err == nil {
			fmt.Printf("taskmanager %d\n", pid)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(5 * time.Minute)
}
