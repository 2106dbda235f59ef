package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultGracePeriod is how long Local waits after SIGTERM before it sends
// SIGKILL, unless LocalConfig.GracePeriod says otherwise.
const DefaultGracePeriod = 5 * time.Second

// LocalConfig configures a Local provider.
type LocalConfig struct {
	// WorkDir holds the log file of every TaskManager, <id>.log. It is
	// created if missing. Required.
	WorkDir string
	// GracePeriod is how long a TaskManager has to exit after SIGTERM
	// before it is killed (default 5s).
	GracePeriod time.Duration
	// Logger receives the provider's logs (default slog.Default()).
	Logger *slog.Logger
}

// Local runs TaskManagers as child processes of the JobManager.
//
// Each TaskManager runs req.Path with req.Args, with the environment of the
// JobManager plus req.Env plus EnvTaskManagerID=<id>, and its stdout and
// stderr appended to <WorkDir>/<id>.log. Ids are "<first 8 characters of
// the job id>-tm-<n>", n counting from 1 for each such prefix (replacements
// and TaskManagers started after a Release get new numbers), so an id is
// never reused while the provider lives, even by jobs whose ids start
// alike.
//
// One goroutine per child waits for it. A child that exits unreleased is
// forgotten and reported on Lost with an *ExitError. Lost events wait in an
// unbounded queue inside the provider (at most one per TaskManager started),
// so a waiter never blocks on a slow reader of Lost.
//
// On Linux a child gets SIGKILL when the JobManager dies (Pdeathsig).
// Strictly, Linux sends it when the OS thread that started the child
// exits; the Go runtime keeps its threads unless a goroutine exits while
// locked to one (runtime.LockOSThread), so do not call Ensure from such a
// goroutine. Each child
// also runs in a process group of its own, so that a Ctrl-C at the
// terminal reaches only the JobManager, which stops them with Close.
// Elsewhere children outlive a JobManager that dies without Close.
//
// Local uses req.Path, Args, Env and TaskManagers of a Request; the
// JobManager passes anything else a TaskManager needs (slots, memory) in
// Args or Env. When a job's request changes, TaskManagers started from
// then on use the new one; running ones are left alone.
//
// Its methods are safe for concurrent use.
type Local struct {
	workDir string
	grace   time.Duration
	log     *slog.Logger
	lost    *LostQueue

	mu      sync.Mutex
	closed  bool
	jobs    map[string]map[string]*child // job id → TaskManager id → running child
	next    map[string]int               // id prefix → last n used
	waiters sync.WaitGroup               // one per child, until it is waited for

	closeOnce sync.Once
	closeErr  error
}

var _ Provider = (*Local)(nil)

// NewLocal returns a Local provider. Close it to stop its TaskManagers and
// its goroutines.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.WorkDir == "" {
		return nil, errors.New("provider: LocalConfig.WorkDir is empty; want the directory for TaskManager logs")
	}
	if cfg.GracePeriod < 0 {
		return nil, fmt.Errorf("provider: LocalConfig.GracePeriod is %v; want 0 (the default, %v) or more", cfg.GracePeriod, DefaultGracePeriod)
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("provider: create work directory: %w", err)
	}
	if cfg.GracePeriod == 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Local{
		workDir: cfg.WorkDir,
		grace:   cfg.GracePeriod,
		log:     cfg.Logger.With("provider", "local"),
		lost:    NewLostQueue(),
		jobs:    make(map[string]map[string]*child),
		next:    make(map[string]int),
	}, nil
}

// Name returns "local".
func (*Local) Name() string { return "local" }

// Ensure starts as many TaskManagers as the job lacks: req.TaskManagers
// minus those still running. It never stops any; Release does. It returns
// the ids it started. If it fails or ctx ends part way, it returns the ids
// started until then, which keep running, with the error. A missing or
// non-executable binary fails it before anything starts.
func (l *Local) Ensure(ctx context.Context, req Request) ([]string, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	if err := checkBinary(req.Path); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	running := l.jobs[req.JobID]
	if running == nil {
		running = make(map[string]*child)
		l.jobs[req.JobID] = running
	}
	var started []string
	for len(running) < req.TaskManagers {
		if err := ctx.Err(); err != nil {
			return started, fmt.Errorf("provider: ensure taskmanagers of job %s: %w", req.JobID, err)
		}
		c, err := l.start(req, l.nextID(req.JobID))
		if err != nil {
			return started, err
		}
		running[c.id] = c
		started = append(started, c.id)
		l.waiters.Add(1)
		go l.wait(c)
	}
	return started, nil
}

// checkRequest rejects requests Local cannot serve.
func checkRequest(req Request) error {
	switch {
	case req.JobID == "":
		return errors.New("provider: request has no job id")
	case strings.ContainsAny(idPrefix(req.JobID), "/\\\x00"):
		return fmt.Errorf("provider: job id %q cannot start a file name; want no '/', '\\' or NUL in its first 8 characters", req.JobID)
	case req.TaskManagers < 0:
		return fmt.Errorf("provider: request for job %s asks for %d taskmanagers; want 0 or more", req.JobID, req.TaskManagers)
	}
	return nil
}

// idPrefix returns the first 8 characters of jobID.
func idPrefix(jobID string) string {
	n := 0
	for i := range jobID {
		if n == 8 {
			return jobID[:i]
		}
		n++
	}
	return jobID
}

// nextID returns a new TaskManager id for jobID. The caller holds l.mu.
func (l *Local) nextID(jobID string) string {
	prefix := idPrefix(jobID)
	l.next[prefix]++
	return fmt.Sprintf("%s-tm-%d", prefix, l.next[prefix])
}

// Release stops the job's TaskManagers: SIGTERM, then SIGKILL to those
// still running after the grace period. It returns once they have all
// exited, and no Lost event of the job is delivered after it returns. A
// job it does not know is released already.
func (l *Local) Release(jobID string) error {
	l.mu.Lock()
	children := l.forget(jobID)
	// Under l.mu, so that the events of a later Ensure are not purged.
	l.lost.Purge(jobID)
	l.mu.Unlock()
	if err := l.stop(children); err != nil {
		return fmt.Errorf("provider: release job %s: %w", jobID, err)
	}
	return nil
}

// forget drops the job and marks its children released, so that their
// waiters report no loss, and returns them. The caller holds l.mu.
func (l *Local) forget(jobID string) []*child {
	var children []*child
	for _, c := range l.jobs[jobID] {
		c.released = true
		children = append(children, c)
	}
	delete(l.jobs, jobID)
	return children
}

// Lost delivers the TaskManagers that exited without being released, and
// is closed by Close.
func (l *Local) Lost() <-chan Lost { return l.lost.C() }

// Close releases every job at once (so within one grace period), waits
// until every child has exited and been waited for, and closes the Lost
// channel; queued Lost events are dropped. Ensure fails with ErrClosed
// afterwards. Close may be called more than once.
func (l *Local) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		var children []*child
		for jobID := range l.jobs {
			children = append(children, l.forget(jobID)...)
		}
		l.mu.Unlock()
		l.lost.Close()
		if err := l.stop(children); err != nil {
			l.closeErr = fmt.Errorf("provider: close: %w", err)
		}
		l.waiters.Wait()
	})
	return l.closeErr
}
