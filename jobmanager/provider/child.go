package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const (
	// stderrLines and stderrLineBytes bound the stderr kept for ExitError.
	stderrLines     = 3
	stderrLineBytes = 512
	// pipeWait bounds the wait for a child's stderr to close after it
	// exited (a grandchild may hold it open).
	pipeWait = time.Second
)

// child is one TaskManager process.
type child struct {
	id, jobID string
	proc      *os.Process
	cmd       *exec.Cmd
	logPath   string
	logFile   *os.File
	stderr    *tail
	done      chan struct{} // closed once the process has been waited for
	released  bool          // guarded by Local.mu: stopped on purpose, not lost
}

// start starts the TaskManager id of req. The caller holds l.mu.
func (l *Local) start(req Request, id string) (*child, error) {
	logPath := filepath.Join(l.workDir, id+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("provider: start taskmanager %s of job %s: open log: %w", id, req.JobID, err)
	}
	c := &child{id: id, jobID: req.JobID, logPath: logPath, logFile: f,
		stderr: newTail(stderrLines, stderrLineBytes), done: make(chan struct{})}
	cmd := exec.Command(req.Path, req.Args...)
	env := append(os.Environ(), req.Env...)
	cmd.Env = append(env, EnvTaskManagerID+"="+id) // the last value of a key wins
	cmd.Stdout = f
	cmd.Stderr = io.MultiWriter(f, c.stderr)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = pipeWait
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("provider: start taskmanager %s of job %s: %w", id, req.JobID, err)
	}
	c.cmd, c.proc = cmd, cmd.Process
	l.log.Info("taskmanager started", "taskmanager", id, "job", req.JobID, "pid", c.proc.Pid, "log", logPath)
	return c, nil
}

// wait waits for c to exit and reports it on Lost unless it was released.
func (l *Local) wait(c *child) {
	defer l.waiters.Done()
	waitErr := c.cmd.Wait()
	if err := c.logFile.Close(); err != nil {
		l.log.Warn("closing taskmanager log", "taskmanager", c.id, "err", err)
	}

	l.mu.Lock()
	lost := !c.released
	var exitErr *ExitError
	if lost {
		delete(l.jobs[c.jobID], c.id)
		exitErr = &ExitError{TaskManager: c.id, Err: waitErr, Stderr: c.stderr.Lines(), Log: c.logPath}
		l.lost.Push(Lost{TaskManager: c.id, JobID: c.jobID, Err: exitErr})
	}
	l.mu.Unlock()
	close(c.done)

	if lost {
		l.log.Warn("taskmanager lost", "taskmanager", c.id, "job", c.jobID, "err", exitErr, "log", c.logPath)
	} else {
		l.log.Info("taskmanager stopped", "taskmanager", c.id, "job", c.jobID, "exit", c.cmd.ProcessState.String())
	}
}

// stop sends SIGTERM to every child, SIGKILL to those still running after
// the grace period, and returns once all have been waited for.
func (l *Local) stop(children []*child) error {
	if len(children) == 0 {
		return nil
	}
	var errs []error
	for _, c := range children {
		if err := c.proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			// No SIGTERM here (Windows, say): kill at once.
			if err := c.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				errs = append(errs, fmt.Errorf("stop taskmanager %s: %w", c.id, err))
			}
		}
	}
	grace, cancel := context.WithTimeout(context.Background(), l.grace)
	defer cancel()
	for _, c := range children {
		select {
		case <-c.done:
			continue
		case <-grace.Done():
		}
		select {
		case <-c.done: // exited meanwhile
			continue
		default:
		}
		l.log.Warn("taskmanager still running after the grace period; killing it", "taskmanager", c.id, "job", c.jobID, "grace", l.grace)
		if err := c.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("kill taskmanager %s: %w", c.id, err))
		}
		<-c.done
	}
	return errors.Join(errs...)
}
