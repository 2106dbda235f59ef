package checkpoint

import (
	"errors"
	"fmt"
	"time"
)

// Mode is the consistency of checkpoints.
type Mode string

// Modes.
const (
	// ExactlyOnce aligns barriers on tasks with several inputs: an input
	// that delivered the barrier is held until every input has.
	ExactlyOnce Mode = "exactly-once"
	// AtLeastOnce does not align: records after the barrier may be in the
	// snapshot's state and be replayed after a restore.
	AtLeastOnce Mode = "at-least-once"
)

// Config tunes checkpointing. The zero Interval disables periodic
// checkpoints (savepoints still work).
type Config struct {
	Interval time.Duration `json:"interval"`
	// Timeout aborts a checkpoint that has not completed (default 10 min).
	Timeout time.Duration `json:"timeout"`
	// MinPause is the least time between the end of one checkpoint and the
	// start of the next.
	MinPause time.Duration `json:"minPause"`
	// Retained is how many completed checkpoints are kept (default 1).
	Retained int  `json:"retained"`
	Mode     Mode `json:"mode"`
	// RetainOnCancel keeps the completed checkpoints of a cancelled job.
	RetainOnCancel bool `json:"retainOnCancel"`
}

// Defaults for zero fields.
const (
	DefaultTimeout  = 10 * time.Minute
	DefaultRetained = 1
)

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("invalid checkpoint config")

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retained == 0 {
		c.Retained = DefaultRetained
	}
	if c.Mode == "" {
		c.Mode = ExactlyOnce
	}
	return c
}

// Validate checks a configuration after defaults.
func (c Config) Validate() error {
	var errs []error
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %v is negative; use 0 to disable periodic checkpoints", c.Interval))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %v must be positive", c.Timeout))
	}
	if c.MinPause < 0 {
		errs = append(errs, fmt.Errorf("minimum pause %v is negative", c.MinPause))
	}
	if c.Retained < 1 {
		errs = append(errs, fmt.Errorf("retained %d: keep at least one completed checkpoint", c.Retained))
	}
	if c.Mode != ExactlyOnce && c.Mode != AtLeastOnce {
		errs = append(errs, fmt.Errorf("mode %q: use %q or %q", c.Mode, ExactlyOnce, AtLeastOnce))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

// Subtask names one parallel instance of a task.
type Subtask struct {
	Task  string `json:"task"`
	Index int    `json:"index"`
}

// Ack is a subtask's acknowledgement of a checkpoint.
type Ack struct {
	Subtask Subtask `json:"subtask"`
	// States locates the subtask's snapshot in the state backend: per
	// operator uid, the name of the object holding its state.
	States map[string]string `json:"states,omitempty"`
	// Size of the snapshot in bytes.
	Size int64 `json:"size"`
	// SyncDuration is how long processing paused to take the snapshot,
	// AsyncDuration how long writing it out took, Alignment how long the
	// subtask held inputs to align barriers.
	SyncDuration  time.Duration `json:"syncDuration"`
	AsyncDuration time.Duration `json:"asyncDuration"`
	Alignment     time.Duration `json:"alignment"`
}

// Status of a checkpoint.
type Status string

// Statuses.
const (
	Pending   Status = "pending"
	Completed Status = "completed"
	Aborted   Status = "aborted"
	Discarded Status = "discarded"
)

// Checkpoint is the coordinator's record of one checkpoint or savepoint.
type Checkpoint struct {
	ID        int64     `json:"id"`
	Savepoint bool      `json:"savepoint"`
	Target    string    `json:"target,omitempty"` // savepoint location
	Attempt   int       `json:"attempt"`
	Status    Status    `json:"status"`
	Triggered time.Time `json:"triggered"`
	Ended     time.Time `json:"ended,omitzero"`
	Reason    string    `json:"reason,omitempty"` // why it was aborted
	// Recorded: a completed checkpoint is recorded (in the HA store) and
	// may be restored from; until then it is only acknowledged.
	Recorded bool            `json:"recorded,omitempty"`
	Acks     map[Subtask]Ack `json:"-"`
	AckList  []Ack           `json:"acks"`
}

// Size is the total snapshot size.
func (c *Checkpoint) Size() int64 {
	var n int64
	for _, a := range c.Acks {
		n += a.Size
	}
	return n
}

// Duration is from trigger to completion or abort.
func (c *Checkpoint) Duration() time.Duration {
	if c.Ended.IsZero() {
		return 0
	}
	return c.Ended.Sub(c.Triggered)
}

// ActionKind says what the caller must do.
type ActionKind int

// Actions.
const (
	// Trigger: inject barrier ID at every source subtask.
	Trigger ActionKind = iota + 1
	// Abort: tell the subtasks to drop checkpoint ID and delete what they
	// wrote for it.
	Abort
	// Complete: every subtask acknowledged; record the checkpoint (write
	// its metadata and pointer) and confirm it with Recorded.
	Complete
	// Discard: delete the snapshots of checkpoint ID.
	Discard
)

// Action is an instruction to the caller.
type Action struct {
	Kind       ActionKind
	Checkpoint *Checkpoint
}
