//go:build unix

package provider

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const jobA = "a1b2c3d4e5f60718293a4b5c6d7e8f90"

func TestLocalEnsureStartsTaskManagers(t *testing.T) {
	p := newLocal(t, time.Minute)
	req := helperRequest(t, jobA, 3, sleep, "--slots", "2")
	ensure(t, p, req, "a1b2c3d4-tm-1", "a1b2c3d4-tm-2", "a1b2c3d4-tm-3")

	var pids []int
	for _, id := range []string{"a1b2c3d4-tm-1", "a1b2c3d4-tm-2", "a1b2c3d4-tm-3"} {
		pid := waitHello(t, p, id)
		if got, want := lines(logOf(t, p, id))[0], helloLine(id, pid, "--slots", "2"); got != want {
			t.Errorf("log of %s starts with\n%q, want\n%q", id, got, want)
		}
		if slices.Contains(pids, pid) {
			t.Errorf("pid %d twice", pid)
		}
		pids = append(pids, pid)
	}

	// All are running: Ensure has nothing to do, and asking for fewer stops none.
	ensure(t, p, req)
	req.TaskManagers = 1
	ensure(t, p, req)
	for _, pid := range pids {
		if !alive(t, pid) {
			t.Errorf("process %d died", pid)
		}
	}

	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkGone(t, pids...)
}

func TestLocalLostAndReplaced(t *testing.T) {
	p := newLocal(t, time.Minute)
	req := helperRequest(t, jobA, 2, sleep)
	ensure(t, p, req, "a1b2c3d4-tm-1", "a1b2c3d4-tm-2")
	pid1, pid2 := waitHello(t, p, "a1b2c3d4-tm-1"), waitHello(t, p, "a1b2c3d4-tm-2")

	if err := syscall.Kill(pid1, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	l := receiveLost(t, p)
	if l.TaskManager != "a1b2c3d4-tm-1" || l.JobID != jobA {
		t.Fatalf("Lost %+v, want a1b2c3d4-tm-1 of %s", l, jobA)
	}
	var ee *ExitError
	if !errors.As(l.Err, &ee) {
		t.Fatalf("Lost.Err %T %v, want an *ExitError", l.Err, l.Err)
	}
	if got, want := l.Err.Error(), "taskmanager a1b2c3d4-tm-1 exited: signal: killed"; got != want {
		t.Errorf("Lost.Err = %q, want %q", got, want)
	}
	if !strings.HasSuffix(ee.Log, "a1b2c3d4-tm-1.log") {
		t.Errorf("ExitError.Log = %q", ee.Log)
	}
	checkGone(t, pid1)

	// The same request again starts exactly the replacement, with a new number.
	ensure(t, p, req, "a1b2c3d4-tm-3")
	pid3 := waitHello(t, p, "a1b2c3d4-tm-3")
	if !alive(t, pid2) {
		t.Errorf("a1b2c3d4-tm-2 (process %d) died", pid2)
	}
	ensure(t, p, req)

	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkGone(t, pid2, pid3)
}

func TestLocalLostError(t *testing.T) {
	tests := []struct {
		mode   string
		status int
		want   string // the message after "taskmanager <id> exited: "
	}{
		{exit3, 3, "exit status 3: starting up | loading state | open state: permission denied"},
		{exit0, 0, "exit status 0"},
		{panicking, 2, "exit status 2: panic: operator exploded | "},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			p := newLocal(t, time.Minute)
			ensure(t, p, helperRequest(t, jobA, 1, tt.mode), "a1b2c3d4-tm-1")
			l := receiveLost(t, p)
			if l.TaskManager != "a1b2c3d4-tm-1" || l.JobID != jobA {
				t.Fatalf("Lost %+v, want a1b2c3d4-tm-1 of %s", l, jobA)
			}
			msg := l.Err.Error()
			if want := "taskmanager a1b2c3d4-tm-1 exited: " + tt.want; !strings.HasPrefix(msg, want) {
				t.Errorf("Lost.Err =\n%q, want it to start with\n%q", msg, want)
			}
			var ee *exec.ExitError
			if tt.status == 0 {
				if errors.Unwrap(l.Err) != nil {
					t.Errorf("Lost.Err wraps %v, want nothing", errors.Unwrap(l.Err))
				}
			} else if !errors.As(l.Err, &ee) || ee.ExitCode() != tt.status {
				t.Errorf("Lost.Err %v does not wrap an *exec.ExitError with status %d", l.Err, tt.status)
			}
			if tt.mode == exit3 && !strings.Contains(logOf(t, p, "a1b2c3d4-tm-1"), "loading state\n\nopen state: permission denied\n") {
				t.Errorf("log lacks the stderr:\n%s", logOf(t, p, "a1b2c3d4-tm-1"))
			}
		})
	}
}

func TestLocalRelease(t *testing.T) {
	const grace = time.Minute // long: SIGTERM must be enough
	p := newLocal(t, grace)
	ensure(t, p, helperRequest(t, jobA, 2, sleep), "a1b2c3d4-tm-1", "a1b2c3d4-tm-2")
	pids := []int{waitHello(t, p, "a1b2c3d4-tm-1"), waitHello(t, p, "a1b2c3d4-tm-2")}

	start := time.Now()
	if err := p.Release(jobA); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if took := time.Since(start); took >= grace {
		t.Errorf("Release took %v: SIGTERM was not enough", took)
	}
	checkGone(t, pids...)
	if err := p.Release(jobA); err != nil {
		t.Errorf("second Release: %v", err)
	}
	checkNoLostBefore(t, p)

	// Released means forgotten: the job can have TaskManagers again,
	// numbered on.
	ensure(t, p, helperRequest(t, jobA, 1, sleep), "a1b2c3d4-tm-3")
}

func TestLocalReleaseKillsAfterGracePeriod(t *testing.T) {
	const grace = 200 * time.Millisecond
	p := newLocal(t, grace)
	ensure(t, p, helperRequest(t, jobA, 1, ignoreTerm), "a1b2c3d4-tm-1")
	ensure(t, p, helperRequest(t, "b0000000-other", 1, sleep), "b0000000-tm-1")
	stubborn := waitHello(t, p, "a1b2c3d4-tm-1") // it ignores SIGTERM from now on
	other := waitHello(t, p, "b0000000-tm-1")

	start := time.Now()
	if err := p.Release(jobA); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if took := time.Since(start); took < grace {
		t.Errorf("Release took %v, less than the grace period: was SIGTERM ignored?", took)
	}
	checkGone(t, stubborn)
	if !alive(t, other) {
		t.Errorf("the other job's TaskManager died")
	}
	checkNoLostBefore(t, p)
}

// checkNoLostBefore fails the test if p delivers a Lost event before that of
// a TaskManager it starts and kills now.
func checkNoLostBefore(t *testing.T, p *Local) {
	t.Helper()
	const job = "feedface-sentinel"
	ids, err := p.Ensure(context.Background(), helperRequest(t, job, 1, sleep))
	if err != nil || len(ids) != 1 {
		t.Fatalf("Ensure sentinel: %v %v", ids, err)
	}
	if err := syscall.Kill(waitHello(t, p, ids[0]), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if l := receiveLost(t, p); l.TaskManager != ids[0] {
		t.Fatalf("got Lost %+v, want only that of the sentinel %s", l, ids[0])
	}
}

func TestLocalReleaseRacesAnExit(t *testing.T) {
	// TaskManagers that die on their own while or before their job is
	// released must not be reported once Release returned, even when their
	// Lost events are already waiting to be received.
	for i := range 6 {
		p := newLocal(t, time.Minute)
		ensure(t, p, helperRequest(t, jobA, 3, exit3), "a1b2c3d4-tm-1", "a1b2c3d4-tm-2", "a1b2c3d4-tm-3")
		if i%2 == 0 {
			waitFor(t, "the TaskManagers to exit", func() bool {
				p.mu.Lock()
				defer p.mu.Unlock()
				return len(p.jobs[jobA]) == 0
			})
		}
		if err := p.Release(jobA); err != nil {
			t.Fatalf("Release: %v", err)
		}
		checkNoLostBefore(t, p)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalClose(t *testing.T) {
	const grace = 200 * time.Millisecond
	p := newLocal(t, grace)
	ensure(t, p, helperRequest(t, jobA, 2, sleep), "a1b2c3d4-tm-1", "a1b2c3d4-tm-2")
	ensure(t, p, helperRequest(t, "b0000000-other", 1, ignoreTerm), "b0000000-tm-1")
	ensure(t, p, helperRequest(t, "c0000000-other", 1, ignoreTerm), "c0000000-tm-1")
	var pids []int
	for _, id := range []string{"a1b2c3d4-tm-1", "a1b2c3d4-tm-2", "b0000000-tm-1", "c0000000-tm-1"} {
		pids = append(pids, waitHello(t, p, id))
	}

	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took < grace || took > grace+10*time.Second {
		t.Errorf("Close took %v; want one grace period (%v) for all jobs, plus a little", took, grace)
	}
	checkGone(t, pids...)
	if l, ok := <-p.Lost(); ok {
		t.Errorf("Lost after Close: %+v", l)
	}
	if ids, err := p.Ensure(context.Background(), helperRequest(t, jobA, 1, sleep)); !errors.Is(err, ErrClosed) || ids != nil {
		t.Errorf("Ensure after Close = %v, %v; want ErrClosed", ids, err)
	}
	if err := p.Release(jobA); err != nil {
		t.Errorf("Release after Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLocalCloseDropsPendingLost(t *testing.T) {
	p := newLocal(t, time.Minute)
	ensure(t, p, helperRequest(t, jobA, 1, exit3), "a1b2c3d4-tm-1")
	waitFor(t, "the exit of a1b2c3d4-tm-1", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.jobs[jobA]) == 0
	})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if l, ok := <-p.Lost(); ok {
		t.Errorf("Lost after Close: %+v", l)
	}
}

func TestLocalTaskManagerIDs(t *testing.T) {
	p := newLocal(t, time.Minute)
	// A job id shorter than 8 characters is used whole; ids of jobs whose
	// ids start alike stay distinct; multi-byte characters are not cut.
	ensure(t, p, helperRequest(t, "job7", 2, sleep), "job7-tm-1", "job7-tm-2")
	ensure(t, p, helperRequest(t, "wordcount-1", 1, sleep), "wordcoun-tm-1")
	ensure(t, p, helperRequest(t, "wordcount-2", 2, sleep), "wordcoun-tm-2", "wordcoun-tm-3")
	ensure(t, p, helperRequest(t, "ĵöβ-ünïcødé", 1, sleep), "ĵöβ-ünïc-tm-1")
	for _, id := range []string{"job7-tm-1", "job7-tm-2", "wordcoun-tm-1", "wordcoun-tm-2", "wordcoun-tm-3", "ĵöβ-ünïc-tm-1"} {
		waitHello(t, p, id)
	}
	ensure(t, p, helperRequest(t, "job7", 0, sleep))
}

func TestLocalEnsureErrors(t *testing.T) {
	p := newLocal(t, time.Minute)
	ctx := context.Background()
	good := helperRequest(t, jobA, 1, sleep)
	tests := []struct {
		name string
		edit func(*Request)
		want string
	}{
		{"no job id", func(r *Request) { r.JobID = "" }, "provider: request has no job id"},
		{"job id with a slash", func(r *Request) { r.JobID = "../../etc" }, `provider: job id "../../etc" cannot start a file name`},
		{"negative count", func(r *Request) { r.TaskManagers = -1 }, "asks for -1 taskmanagers; want 0 or more"},
		{"no path", func(r *Request) { r.Path = "" }, "provider: request has no taskmanager binary path"},
	}
	for _, tt := range tests {
		req := good
		tt.edit(&req)
		ids, err := p.Ensure(ctx, req)
		if err == nil || !strings.Contains(err.Error(), tt.want) || ids != nil {
			t.Errorf("%s: Ensure = %v, %v; want an error containing %q", tt.name, ids, err, tt.want)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ids, err := p.Ensure(cancelled, good)
	if !errors.Is(err, context.Canceled) || ids != nil {
		t.Errorf("Ensure with a cancelled context = %v, %v; want context.Canceled", ids, err)
	}
	// Nothing was started, so the next TaskManager is the first.
	ensure(t, p, good, "a1b2c3d4-tm-1")
}
