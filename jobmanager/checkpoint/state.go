package checkpoint

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers branch on.
var (
	ErrUnknownCheckpoint   = errors.New("unknown or finished checkpoint")
	ErrSavepointInProgress = errors.New("a savepoint is already in progress")
	ErrStopped             = errors.New("checkpointing stopped")
)

// historySize bounds the checkpoints kept for statistics.
const historySize = 64

// Coordinator decides about the checkpoints of one job.
type Coordinator struct {
	cfg      Config
	subtasks []Subtask
	sources  []Subtask
	attempt  int
	nextID   int64

	pending   *Checkpoint
	queued    *Checkpoint // a savepoint waiting for the pending checkpoint
	lastStart time.Time
	lastEnd   time.Time

	completed []*Checkpoint // retained, oldest first (savepoints excluded)
	history   []*Checkpoint // recent, oldest first
	stopped   bool
}

// New returns a coordinator for a job whose subtasks must all acknowledge a
// checkpoint and whose sources inject its barriers. Periodic checkpoints
// start an interval after now.
func New(cfg Config, subtasks, sources []Subtask, now time.Time) (*Coordinator, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, errors.New("checkpoint: a job without sources cannot inject barriers")
	}
	return &Coordinator{cfg: cfg, subtasks: subtasks, sources: sources, nextID: 1, lastStart: now, lastEnd: now}, nil
}

// Config returns the configuration in force.
func (c *Coordinator) Config() Config { return c.cfg }

// Sources returns the subtasks that inject barriers.
func (c *Coordinator) Sources() []Subtask { return c.sources }

// Tick aborts a pending checkpoint that timed out and triggers the next one
// when it is due.
func (c *Coordinator) Tick(now time.Time) []Action {
	if c.stopped {
		return nil
	}
	var acts []Action
	if p := c.pending; p != nil && now.Sub(p.Triggered) >= c.cfg.Timeout {
		acts = append(acts, c.abort(now, fmt.Sprintf("timed out after %v with %d of %d acknowledgements", c.cfg.Timeout, len(p.Acks), len(c.subtasks)))...)
	}
	if c.pending != nil {
		return acts
	}
	if c.queued != nil {
		sp := c.queued
		c.queued = nil
		return append(acts, c.trigger(now, sp))
	}
	if c.cfg.Interval > 0 && !now.Before(c.lastStart.Add(c.cfg.Interval)) && !now.Before(c.lastEnd.Add(c.cfg.MinPause)) {
		acts = append(acts, c.trigger(now, &Checkpoint{}))
	}
	return acts
}

// NextTick returns when Tick has something to decide next, so the caller can
// sleep until then.
func (c *Coordinator) NextTick(now time.Time) time.Time {
	if c.stopped {
		return time.Time{}
	}
	if c.pending != nil {
		return c.pending.Triggered.Add(c.cfg.Timeout)
	}
	if c.queued != nil {
		return now
	}
	if c.cfg.Interval == 0 {
		return time.Time{}
	}
	next := c.lastStart.Add(c.cfg.Interval)
	if pause := c.lastEnd.Add(c.cfg.MinPause); pause.After(next) {
		next = pause
	}
	return next
}

func (c *Coordinator) trigger(now time.Time, cp *Checkpoint) Action {
	cp.ID = c.nextID
	c.nextID++
	cp.Attempt = c.attempt
	cp.Status = Pending
	cp.Triggered = now
	cp.Acks = map[Subtask]Ack{}
	c.pending = cp
	c.lastStart = now
	c.remember(cp)
	return Action{Kind: Trigger, Checkpoint: cp}
}

// TriggerSavepoint asks for a savepoint to target. It is triggered now, or
// as soon as the pending checkpoint ends.
func (c *Coordinator) TriggerSavepoint(now time.Time, target string) (*Checkpoint, []Action, error) {
	if c.stopped {
		return nil, nil, ErrStopped
	}
	if c.queued != nil || (c.pending != nil && c.pending.Savepoint) {
		return nil, nil, ErrSavepointInProgress
	}
	sp := &Checkpoint{Savepoint: true, Target: target}
	if c.pending != nil {
		sp.Status = Pending
		c.queued = sp
		return sp, nil, nil
	}
	return sp, []Action{c.trigger(now, sp)}, nil
}

// Acknowledge records a subtask's acknowledgement. When every subtask has
// acknowledged, the checkpoint completes.
func (c *Coordinator) Acknowledge(now time.Time, id int64, ack Ack) ([]Action, error) {
	p := c.pending
	if p == nil || p.ID != id {
		return nil, fmt.Errorf("%w: %d", ErrUnknownCheckpoint, id)
	}
	if _, dup := p.Acks[ack.Subtask]; dup {
		return nil, nil
	}
	p.Acks[ack.Subtask] = ack
	p.AckList = append(p.AckList, ack)
	if len(p.Acks) < len(c.subtasks) {
		return nil, nil
	}
	p.Status = Completed
	p.Ended = now
	c.pending = nil
	c.lastEnd = now
	return []Action{{Kind: Complete, Checkpoint: p}}, nil
}

// Recorded confirms that a completed checkpoint's metadata is written: it
// becomes the latest to restore from, and older ones beyond the retained
// number are discarded. Savepoints are never discarded.
func (c *Coordinator) Recorded(id int64) []Action {
	cp := c.find(id)
	if cp == nil || cp.Status != Completed || cp.Savepoint {
		return nil
	}
	cp.Recorded = true
	c.completed = append(c.completed, cp)
	var acts []Action
	for len(c.completed) > c.cfg.Retained {
		old := c.completed[0]
		c.completed = c.completed[1:]
		old.Status = Discarded
		acts = append(acts, Action{Kind: Discard, Checkpoint: old})
	}
	return acts
}

// RecordFailed handles a completed checkpoint whose metadata could not be
// written: it is dropped as if aborted.
func (c *Coordinator) RecordFailed(id int64, err error) []Action {
	cp := c.find(id)
	if cp == nil || cp.Status != Completed {
		return nil
	}
	cp.Status = Aborted
	cp.Reason = "recording it failed: " + err.Error()
	return []Action{{Kind: Discard, Checkpoint: cp}}
}

// Decline aborts the pending checkpoint because a subtask could not take
// its snapshot.
func (c *Coordinator) Decline(now time.Time, id int64, who Subtask, reason string) []Action {
	if c.pending == nil || c.pending.ID != id {
		return nil
	}
	return c.abort(now, fmt.Sprintf("%s subtask %d declined: %s", who.Task, who.Index, reason))
}

func (c *Coordinator) abort(now time.Time, reason string) []Action {
	p := c.pending
	if p == nil {
		return nil
	}
	p.Status = Aborted
	p.Reason = reason
	p.Ended = now
	c.pending = nil
	c.lastEnd = now
	return []Action{{Kind: Abort, Checkpoint: p}}
}

// Restart is called when the job restarts as attempt: the pending
// checkpoint is aborted, and the latest completed one is returned to
// restore from (nil: start from scratch).
func (c *Coordinator) Restart(now time.Time, attempt int) (*Checkpoint, []Action) {
	acts := c.abort(now, "the job is restarting")
	c.attempt = attempt
	c.lastStart = now
	return c.Latest(), acts
}

// Stop ends checkpointing when the job ends. Completed checkpoints are
// discarded when the job finished, and when it was cancelled unless
// RetainOnCancel; a failed job keeps them for a manual restore.
func (c *Coordinator) Stop(now time.Time, finished, cancelled bool) []Action {
	acts := c.abort(now, "the job ended")
	if sp := c.queued; sp != nil {
		sp.Status, sp.Reason, c.queued = Aborted, "the job ended", nil
	}
	c.stopped = true
	if finished || (cancelled && !c.cfg.RetainOnCancel) {
		for _, cp := range c.completed {
			cp.Status = Discarded
			acts = append(acts, Action{Kind: Discard, Checkpoint: cp})
		}
		c.completed = nil
	}
	return acts
}

// Latest returns the newest completed, recorded checkpoint, or nil.
func (c *Coordinator) Latest() *Checkpoint {
	if len(c.completed) == 0 {
		return nil
	}
	return c.completed[len(c.completed)-1]
}

// Retained returns the completed checkpoints kept, oldest first.
func (c *Coordinator) Retained() []*Checkpoint { return append([]*Checkpoint(nil), c.completed...) }

// Pending returns the pending checkpoint, or nil.
func (c *Coordinator) Pending() *Checkpoint { return c.pending }

// History returns the recent checkpoints and savepoints, oldest first.
func (c *Coordinator) History() []*Checkpoint { return append([]*Checkpoint(nil), c.history...) }

func (c *Coordinator) remember(cp *Checkpoint) {
	c.history = append(c.history, cp)
	if len(c.history) > historySize {
		c.history = c.history[len(c.history)-historySize:]
	}
}

func (c *Coordinator) find(id int64) *Checkpoint {
	for _, cp := range c.history {
		if cp.ID == id {
			return cp
		}
	}
	return nil
}
