package task

import (
	"io"
	"time"

	"github.com/sluicehq/sluice/taskmanager/network"
)

// Checkpointing connects a task to the checkpoints of its job.
type Checkpointing struct {
	// Aligned selects exactly-once barrier alignment; without it barriers
	// are counted but no input is held (at-least-once).
	Aligned bool
	// Triggers delivers, to source tasks, the ids of checkpoints to start.
	Triggers <-chan int64
	// OnSnapshot receives each snapshot the task took, on the task's
	// goroutine; it must hand the writing-out to another goroutine.
	OnSnapshot func(id int64, s *Snapshot, m SnapshotMetrics)
}

// Snapshot is the state of one subtask for one checkpoint: one entry per
// operator that has state, in chain order.
type Snapshot struct {
	Operators []OperatorState
}

// OperatorState is one operator's part of a snapshot: bytes taken at once
// (a source's position), or keyed state frozen copy-on-write, which the
// TaskManager writes out off the task goroutine while processing goes on.
type OperatorState struct {
	UID    string
	Data   []byte
	Frozen FrozenState // if set, the state; Data is nil
}

// FrozenState is state captured at a checkpoint and written out later. It
// must be written (which releases it) or released, or the backend keeps
// copying the pages it shares.
type FrozenState interface {
	io.WriterTo
	Release()
}

// Release drops the frozen states of a snapshot that will not be written.
func (s *Snapshot) Release() {
	for _, op := range s.Operators {
		if op.Frozen != nil {
			op.Frozen.Release()
		}
	}
}

// SnapshotMetrics describe how a snapshot was taken.
type SnapshotMetrics struct {
	// Alignment is how long the task held inputs waiting for barriers.
	Alignment time.Duration
	// Sync is how long processing paused to take the snapshot.
	Sync time.Duration
}

// aligner tracks the barriers of one checkpoint across a task's inputs.
type aligner struct {
	aligned  bool
	id       int64 // checkpoint being aligned, 0: none
	last     int64 // last checkpoint snapshotted
	arrived  []bool
	held     [][]network.Buffer
	start    time.Time
	backlog  []network.Buffer // released held buffers, processed before the inbox
	backHead int
}

func newAligner(channels int, aligned bool) *aligner {
	return &aligner{aligned: aligned, arrived: make([]bool, channels), held: make([][]network.Buffer, channels)}
}

// holding reports whether a buffer from channel ch must wait: the channel
// delivered the barrier being aligned (exactly-once only).
func (a *aligner) holding(ch int) bool { return a.aligned && a.id != 0 && a.arrived[ch] }

// hold sets a buffer aside until the alignment ends. Its credit is not
// returned, so the channel's producer stops once its credits are held.
func (a *aligner) hold(b network.Buffer) { a.held[b.Channel] = append(a.held[b.Channel], b) }

// barrier records barrier id from channel ch. It reports whether the
// alignment it belongs to is complete, given which channels have ended.
func (a *aligner) barrier(ch int, id int64, ended []bool, now time.Time) bool {
	if id <= a.last || (a.id != 0 && id < a.id) {
		return false // an aborted or finished checkpoint's barrier
	}
	if id > a.id {
		// A newer checkpoint: the one being aligned was aborted.
		a.release()
		a.id, a.start = id, now
	}
	a.arrived[ch] = true
	return a.complete(ended)
}

// complete reports whether every channel delivered the barrier or ended.
func (a *aligner) complete(ended []bool) bool {
	if a.id == 0 {
		return false
	}
	for ch := range a.arrived {
		if !a.arrived[ch] && !ended[ch] {
			return false
		}
	}
	return true
}

// done ends the alignment of the current checkpoint.
func (a *aligner) done() {
	a.last = a.id
	a.release()
}

// release queues the held buffers for processing and resets the alignment.
func (a *aligner) release() {
	for ch := range a.held {
		a.backlog = append(a.backlog, a.held[ch]...)
		a.held[ch] = a.held[ch][:0]
		a.arrived[ch] = false
	}
	a.id = 0
}

// next returns a released buffer to process before the inbox, if any.
func (a *aligner) next() (network.Buffer, bool) {
	if a.backHead < len(a.backlog) {
		b := a.backlog[a.backHead]
		a.backlog[a.backHead] = network.Buffer{}
		a.backHead++
		return b, true
	}
	a.backlog, a.backHead = a.backlog[:0], 0
	return network.Buffer{}, false
}
