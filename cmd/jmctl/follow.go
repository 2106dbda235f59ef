package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/jobmanager/api"
)

// clearLine is the terminal sequence that erases to the end of the line.
const clearLine = "\x1b[K"

// Job and subtask states of the API (jobmanager.JobState and task.State;
// jmctl depends only on the API's strings).
const (
	stateRunning   = "running"
	stateFinished  = "finished"
	stateFailed    = "failed"
	stateCancelled = "cancelled"
)

// terminal reports whether a job in state s has ended.
func terminal(s string) bool {
	return s == stateFinished || s == stateFailed || s == stateCancelled
}

// follower polls a submitted job and prints its state changes and progress
// until it ends or the user interrupts.
type follower struct {
	env      *cliEnv
	client   *api.Client
	id       string
	interval time.Duration

	state        string
	prev         sample
	lastProgress time.Time
	onScreen     bool // a refreshing progress line is shown (tty)
}

// sample is the summed record counters of a job at a time.
type sample struct {
	at      time.Time
	in, out int64
}

// run follows the job. It returns nil when the job finished or the user
// detached with Ctrl-C, and an error with exit code 1 when the job failed
// or was cancelled. It never cancels the job.
func (f *follower) run(ctx context.Context) error {
	sig, stop := f.env.notifyInterrupt()
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var detached atomic.Bool
	go func() {
		select {
		case <-sig:
			detached.Store(true)
			cancel()
		case <-ctx.Done():
		}
	}()

	ticker := time.NewTicker(f.interval)
	defer ticker.Stop()
	for {
		d, err := f.client.Job(ctx, f.id)
		if detached.Load() {
			return f.detach()
		}
		if err != nil {
			f.endLine()
			if errors.Is(err, api.ErrNotFound) {
				return &cliError{code: exitAPI, err: fmt.Errorf("job %s vanished from the JobManager while jmctl followed it (was the JobManager restarted?): %w", f.id, err)}
			}
			return fmt.Errorf("following job %s (it may still be running; see `jmctl info %s`): %w", f.id, f.id, err)
		}
		if terminal(d.State) {
			return f.finish(d)
		}
		f.show(d)
		select {
		case <-ctx.Done():
			if detached.Load() {
				return f.detach()
			}
			f.endLine()
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// show prints a line when the state changed, and the progress line.
func (f *follower) show(d *api.JobDetail) {
	now := f.env.now()
	cur := sumRecords(d, now)
	if d.State != f.state {
		f.endLine()
		fmt.Fprintf(f.env.stdout, "state: %s\n", d.State)
		f.state = d.State
		f.lastProgress = now
	}
	line := progressLine(d, f.prev, cur)
	f.prev = cur
	if f.env.tty {
		fmt.Fprint(f.env.stdout, "\r"+line+clearLine)
		f.onScreen = true
	} else if now.Sub(f.lastProgress) >= f.env.progressEvery {
		fmt.Fprintln(f.env.stdout, line)
		f.lastProgress = now
	}
}

// endLine erases the refreshing progress line, if one is shown.
func (f *follower) endLine() {
	if f.onScreen {
		io.WriteString(f.env.stdout, "\r"+clearLine)
		f.onScreen = false
	}
}

// detach reports that jmctl stops following a job that keeps running.
func (f *follower) detach() error {
	f.endLine()
	fmt.Fprintf(f.env.stdout, "detached; job %s keeps running (jmctl info %s)\n", f.id, f.id)
	return nil
}

// finish prints how the job ended; an error with exit code 1 unless it
// finished.
func (f *follower) finish(d *api.JobDetail) error {
	f.endLine()
	took := preciseDuration(jobDuration(f.env.now(), d.Start, d.End))
	if d.State == stateFinished {
		fmt.Fprintf(f.env.stdout, "job %s finished in %s\n", f.id, took)
		return nil
	}
	fmt.Fprintf(f.env.stdout, "job %s %s after %s\n", f.id, d.State, took)
	if d.Error != "" {
		fmt.Fprintf(f.env.stdout, "error: %s\n", d.Error)
	}
	return &cliError{code: exitFailed, msg: fmt.Sprintf("job %s %s; see its exceptions with `jmctl info %s`", f.id, d.State, f.id)}
}

// sumRecords sums the record counters of a job's subtasks.
func sumRecords(d *api.JobDetail, at time.Time) sample {
	s := sample{at: at}
	for _, t := range d.Tasks {
		s.in += t.RecordsIn
		s.out += t.RecordsOut
	}
	return s
}

// progressLine is the state, running/total subtasks and record rates
// between two samples ("-" without a previous sample).
func progressLine(d *api.JobDetail, prev, cur sample) string {
	running := 0
	for _, t := range d.Tasks {
		if t.State == stateRunning {
			running++
		}
	}
	in, out := "-", "-"
	if dt := cur.at.Sub(prev.at).Seconds(); !prev.at.IsZero() && dt > 0 {
		// Counters restart from zero when the job restarts.
		in = humanCount(float64(max(cur.in-prev.in, 0)) / dt)
		out = humanCount(float64(max(cur.out-prev.out, 0)) / dt)
	}
	return fmt.Sprintf("%s: %d/%d subtasks running, %s records/s in, %s records/s out",
		d.State, running, len(d.Tasks), in, out)
}
