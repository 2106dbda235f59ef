package task

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/taskmanager/network"
)

// Stats are a running task's counters, updated once per buffer (never per
// record) by the task's goroutine and read by anyone: the JobManager's
// status, heartbeats, metrics scrapes.
type Stats struct {
	// RecordsIn counts the records a task received from other tasks, or
	// read from its source; RecordsOut the records it sent to other tasks.
	RecordsIn  atomic.Int64
	RecordsOut atomic.Int64
	// BytesIn and BytesOut count the serialized records received from and
	// sent to tasks on other TaskManagers (the payloads of data-plane
	// frames); records exchanged in-process are not serialized and count
	// no bytes.
	BytesIn  atomic.Int64
	BytesOut atomic.Int64
	// BackpressureNanos is the time the task waited to send its output:
	// for a credit of an in-process channel, and in data-plane writes,
	// which block while the consumer's window is exhausted (it includes
	// handing each frame to the connection). A wait in progress counts.
	BackpressureNanos network.WaitTime

	watermark    atomic.Int64
	hasWatermark atomic.Bool
}

// SetWatermark records the task's current watermark (milliseconds since
// the epoch): the event time it passes on to its outputs. It is called
// whenever the watermark advances, not per record.
func (s *Stats) SetWatermark(wm int64) {
	s.watermark.Store(wm)
	s.hasWatermark.Store(true)
}

// Watermark returns the task's current watermark, and false if the task
// has none (it takes no part in event time, or none arrived yet).
func (s *Stats) Watermark() (int64, bool) {
	if !s.hasWatermark.Load() {
		return 0, false
	}
	return s.watermark.Load(), true
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
// checkpoints. log is the subtask's logger (Deployment.Logger; nil: none).
func Run(chain Chain, inbox *network.Inbox, done <-chan struct{}, cfg Config, stats *Stats, cp *Checkpointing, log *slog.Logger) (err error) {
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if chain.IsSource() {
		err = runSource(chain, done, cfg, stats, cp, log)
	} else {
		err = runInputs(chain, inbox, done, cfg, stats, cp, log)
	}
	if err != nil {
		return err
	}
	log.Debug("input ended; finishing", "records_in", stats.RecordsIn.Load())
	if err := chain.EndInput(); err != nil {
		return &OperatorError{Operator: chain.Operator(), Err: err}
	}
	chain.Flush()
	chain.EndOutputs()
	log.Debug("output ended", "records_out", stats.RecordsOut.Load())
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
func snapshot(chain Chain, cp *Checkpointing, id int64, alignment time.Duration, log *slog.Logger) error {
	start := time.Now()
	s, err := chain.Checkpoint(id)
	if err != nil {
		return &OperatorError{Operator: chain.Operator(), Err: err}
	}
	m := SnapshotMetrics{Alignment: alignment, Sync: time.Since(start)}
	log.Debug("snapshot taken", "checkpoint", id, "operators", len(s.Operators), "sync", m.Sync, "alignment", m.Alignment)
	if cp.OnSnapshot == nil {
		s.Release()
		return nil
	}
	cp.OnSnapshot(id, s, m)
	return nil
}

func runSource(chain Chain, done <-chan struct{}, cfg Config, stats *Stats, cp *Checkpointing, log *slog.Logger) error {
	w := newWakeup(chain)
	defer w.stop()
	lastFlush := time.Now()
	for {
		if isDone(done) {
			return ErrCancelled
		}
		select {
		case id := <-cp.Triggers:
			// Between two reads the source's position is consistent
			// with what it emitted: snapshot it, then the barrier.
			if err := snapshot(chain, cp, id, 0, log); err != nil {
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
		// A source's chain is polled, not woken: its timers fire between
		// two Reads, which block briefly at most.
		now := time.Now()
		if w.due(now) {
			if err := w.fire(chain, now); err != nil {
				return err
			}
		}
		if n == 0 || now.Sub(lastFlush) >= cfg.BufferTimeout {
			chain.Flush()
			lastFlush = now
		}
	}
}

func runInputs(chain Chain, inbox *network.Inbox, done <-chan struct{}, cfg Config, stats *Stats, cp *Checkpointing, log *slog.Logger) error {
	open := inbox.Channels()
	ended := make([]bool, open)
	al := newAligner(open, cp.Aligned)
	wms := newValve(open)
	et, _ := chain.(EventTime)
	queue := inbox.Queue()
	w := newWakeup(chain)
	defer w.stop()
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
				// The wait also ends when the next timer is due.
				wake, due := w.arm(lastFlush)
				if due {
					if isDone(done) {
						return ErrCancelled
					}
					if err := w.fire(chain, lastFlush); err != nil {
						return err
					}
					continue
				}
				select {
				case b = <-queue:
				case <-done:
					return ErrCancelled
				case now := <-wake:
					if err := w.fire(chain, now); err != nil {
						return err
					}
					continue
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
			if f, ok := b.Batch.(*network.Frame); ok { // from another TaskManager
				stats.BytesIn.Add(int64(len(f.Data)))
			}
			n := chain.Process(&b)
			stats.RecordsIn.Add(int64(n))
			inbox.Recycle(b)
		case network.EventEndOfStream:
			inbox.Recycle(b)
			if !ended[b.Channel] {
				ended[b.Channel] = true
				open--
				if err := wms.tell(wms.end(b.Channel), chain, et); err != nil {
					return err
				}
			}
			if al.complete(ended) {
				if err := alignedSnapshot(chain, cp, al, log); err != nil {
					return err
				}
			}
		case network.EventBarrier:
			inbox.Recycle(b)
			if al.id != 0 && b.Checkpoint > al.id {
				log.Debug("checkpoint alignment aborted by a newer barrier", "checkpoint", al.id, "newer", b.Checkpoint)
			}
			if al.barrier(b.Channel, b.Checkpoint, ended, time.Now()) {
				if err := alignedSnapshot(chain, cp, al, log); err != nil {
					return err
				}
			}
		case network.EventWatermark:
			inbox.Recycle(b)
			if err := wms.tell(wms.watermark(b.Channel, b.Watermark), chain, et); err != nil {
				return err
			}
		case network.EventIdle:
			inbox.Recycle(b)
			if err := wms.tell(wms.markIdle(b.Channel), chain, et); err != nil {
				return err
			}
		case network.EventActive:
			inbox.Recycle(b)
			if err := wms.tell(wms.markActive(b.Channel), chain, et); err != nil {
				return err
			}
		}
		now := time.Now()
		// Once every input has ended, pending timers are dropped.
		if open > 0 && w.due(now) {
			if err := w.fire(chain, now); err != nil {
				return err
			}
		}
		if now.Sub(lastFlush) >= cfg.BufferTimeout {
			if isDone(done) {
				return ErrCancelled
			}
			chain.Flush()
			lastFlush = now
		}
	}
	return nil
}

// wakeup fires the timers of a chain that has them (see Timers): between
// buffers when they are due, and by waking the task's wait for input at
// the next deadline with one time.Timer, reused for the task's life.
type wakeup struct {
	timers Timers // nil: the chain has no timers
	timer  *time.Timer
}

func newWakeup(chain Chain) *wakeup {
	t, _ := chain.(Timers)
	return &wakeup{timers: t}
}

// due reports whether a timer is due at now.
func (w *wakeup) due(now time.Time) bool {
	if w.timers == nil {
		return false
	}
	at, ok := w.timers.NextTimer()
	return ok && !at.After(now)
}

// arm returns a channel that delivers when the next timer is due (nil, on
// which a select never receives, when none is pending), or due true when
// one is due already.
func (w *wakeup) arm(now time.Time) (wake <-chan time.Time, due bool) {
	if w.timers == nil {
		return nil, false
	}
	at, ok := w.timers.NextTimer()
	if !ok {
		return nil, false
	}
	d := at.Sub(now)
	if d <= 0 {
		return nil, true
	}
	// Since Go 1.23 a Reset timer never delivers a stale expiry, so the
	// timer needs no draining between waits.
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer.C, false
}

func (w *wakeup) fire(chain Chain, now time.Time) error {
	if err := w.timers.FireTimers(now); err != nil {
		return &OperatorError{Operator: chain.Operator(), Err: err}
	}
	return nil
}

func (w *wakeup) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// alignedSnapshot takes the checkpoint every input has delivered the
// barrier of, then releases the held inputs.
func alignedSnapshot(chain Chain, cp *Checkpointing, al *aligner, log *slog.Logger) error {
	id, alignment := al.id, time.Since(al.start)
	if !al.aligned {
		alignment = 0
	}
	err := snapshot(chain, cp, id, alignment, log)
	al.done()
	return err
}
