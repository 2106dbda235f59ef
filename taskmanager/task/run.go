package task

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/taskmanager/network"
)

// Stats are a running task's counters, updated once per buffer. RecordsIn
// counts the records a task received from other tasks, or read from its
// source; RecordsOut the records it sent to other tasks.
type Stats struct {
	RecordsIn  atomic.Int64
	RecordsOut atomic.Int64
}

// OperatorError is the error of a task whose user code failed or panicked.
type OperatorError struct {
	Operator string
	Panic    bool
	Err      error
	Stack    []byte // the goroutine's stack at the panic
}

func (e *OperatorError) Error() string {
	if e.Panic {
		return fmt.Sprintf("operator %q panicked: %v", e.Operator, e.Err)
	}
	return fmt.Sprintf("operator %q failed: %v", e.Operator, e.Err)
}

func (e *OperatorError) Unwrap() error { return e.Err }

// Failure is what operator code panics with to fail its task with err
// without a per-record error return. Run turns it into an OperatorError.
type Failure struct{ Err error }

// Run drives chain until its input ends, done is closed, or it fails.
// inbox is nil for a source task; cp is nil when the job takes no
// checkpoints.
func Run(chain Chain, inbox *network.Inbox, done <-chan struct{}, cfg Config, stats *Stats, cp *Checkpointing) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recovered(chain, r)
		}
		if cerr := closeChain(chain); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := chain.Open(); err != nil {
		return &OperatorError{Operator: chain.Operator(), Err: err}
	}
	if cp == nil {
		cp = &Checkpointing{}
	}
	if chain.IsSource() {
		err = runSource(chain, done, cfg, stats, cp)
	} else {
		err = runInputs(chain, inbox, done, cfg, stats, cp)
	}
	if err != nil {
		return err
	}
	if err := chain.EndInput(); err != nil {
		return &OperatorError{Operator: chain.Operator(), Err: err}
	}
	chain.Flush()
	chain.EndOutputs()
	return nil
}

func closeChain(chain Chain) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recovered(chain, r)
		}
	}()
	if err := chain.Close(); err != nil {
		return &OperatorError{Operator: chain.Operator(), Err: err}
	}
	return nil
}

func recovered(chain Chain, r any) error {
	if f, ok := r.(Failure); ok {
		if errors.Is(f.Err, network.ErrClosed) || errors.Is(f.Err, ErrCancelled) {
			return ErrCancelled
		}
		return &OperatorError{Operator: chain.Operator(), Err: f.Err}
	}
	perr, ok := r.(error)
	if !ok {
		perr = fmt.Errorf("%v", r)
	}
	return &OperatorError{Operator: chain.Operator(), Panic: true, Err: perr, Stack: debug.Stack()}
}

func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// snapshot takes checkpoint id and hands it on.
func snapshot(chain Chain, cp *Checkpointing, id int64, alignment time.Duration) error {
	start := time.Now()
	s, err := chain.Checkpoint(id)
	if err != nil {
		return &OperatorError{Operator: chain.Operator(), Err: err}
	}
	if cp.OnSnapshot != nil {
		cp.OnSnapshot(id, s, SnapshotMetrics{Alignment: alignment, Sync: time.Since(start)})
	}
	return nil
}

func runSource(chain Chain, done <-chan struct{}, cfg Config, stats *Stats, cp *Checkpointing) error {
	lastFlush := time.Now()
	for {
		if isDone(done) {
			return ErrCancelled
		}
		select {
		case id := <-cp.Triggers:
			// Between two reads the source's position is consistent
			// with what it emitted: snapshot it, then the barrier.
			if err := snapshot(chain, cp, id, 0); err != nil {
				return err
			}
		default:
		}
		n, err := chain.Read()
		stats.RecordsIn.Add(int64(n))
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &OperatorError{Operator: chain.Operator(), Err: err}
		}
		if n == 0 {
			chain.Flush()
			lastFlush = time.Now()
		} else if now := time.Now(); now.Sub(lastFlush) >= cfg.BufferTimeout {
			chain.Flush()
			lastFlush = now
		}
	}
}

func runInputs(chain Chain, inbox *network.Inbox, done <-chan struct{}, cfg Config, stats *Stats, cp *Checkpointing) error {
	open := inbox.Channels()
	ended := make([]bool, open)
	al := newAligner(open, cp.Aligned)
	queue := inbox.Queue()
	lastFlush := time.Now()
	for open > 0 {
		b, ok := al.next()
		if !ok {
			select {
			case b = <-queue:
			default:
				// About to wait: send what is buffered so that latency
				// stays low when input is slow.
				chain.Flush()
				lastFlush = time.Now()
				select {
				case b = <-queue:
				case <-done:
					return ErrCancelled
				}
			}
		}
		// Released buffers are checked too: after an aborted alignment
		// they may hold the next checkpoint's barrier.
		if al.holding(b.Channel) {
			al.hold(b)
			continue
		}
		switch b.Event {
		case network.EventNone:
			n := chain.Process(&b)
			stats.RecordsIn.Add(int64(n))
			inbox.Recycle(b)
		case network.EventEndOfStream:
			inbox.Recycle(b)
			if !ended[b.Channel] {
				ended[b.Channel] = true
				open--
			}
			if al.complete(ended) {
				if err := alignedSnapshot(chain, cp, al); err != nil {
					return err
				}
			}
		case network.EventBarrier:
			inbox.Recycle(b)
			if al.barrier(b.Channel, b.Checkpoint, ended, time.Now()) {
				if err := alignedSnapshot(chain, cp, al); err != nil {
					return err
				}
			}
		}
		if now := time.Now(); now.Sub(lastFlush) >= cfg.BufferTimeout {
			if isDone(done) {
				return ErrCancelled
			}
			chain.Flush()
			lastFlush = now
		}
	}
	return nil
}

// alignedSnapshot takes the checkpoint every input has delivered the
// barrier of, then releases the held inputs.
func alignedSnapshot(chain Chain, cp *Checkpointing, al *aligner) error {
	id, alignment := al.id, time.Since(al.start)
	if !al.aligned {
		alignment = 0
	}
	err := snapshot(chain, cp, id, alignment)
	al.done()
	return err
}
