package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Operator lifecycle hooks; an operator implements those it needs.
type (
	opener   interface{ open() error }
	finisher interface{ finish() error }
	flusher  interface{ flush() }
	closer   interface{ close() error }
)

// snapshotter is an operator with state to checkpoint and restore.
type snapshotter interface {
	// snapshot returns the state as bytes, or frozen copy-on-write to
	// be written out later.
	snapshot() ([]byte, task.FrozenState, error)
	restore(snapshots [][]byte) error
}

// timed is an operator that may have timers.
type timed interface {
	hasTimers() bool
	// nextTimer returns the earliest pending timer, in Unix nanoseconds.
	nextTimer() (int64, bool)
	// fireTimers fires the timers due at now (Unix nanoseconds).
	fireTimers(now int64) error
}

// sourceHead is the input of a source operator: the task reads from it.
type sourceHead interface {
	read() (int, error)
}

// chain is one running subtask of an operator chain.
type chain struct {
	state   chainState
	uids    []string // operator uids by chain index
	ops     []any    // built operators, by chain index
	source  sourceHead
	inputs  []func(*network.Buffer) int // per input edge
	edgeOf  []int                       // inbox channel -> input edge
	writers []outputWriter
}

var _ task.Program = (*Environment)(nil)

// NewChain builds one subtask of a task of this job; it implements
// task.Program for the TaskManagers.
func (e *Environment) NewChain(d *task.Deployment, io task.IO) (task.Chain, error) {
	if e.planned == nil {
		return nil, errors.New("stream: the environment has not been planned; call Plan or Execute first")
	}
	if e.planned.Fingerprint != d.Graph.Fingerprint {
		return nil, fmt.Errorf("stream: job graph fingerprint %s does not match this binary's %s; run the binary the graph was planned from", d.Graph.Fingerprint, e.planned.Fingerprint)
	}
	uids := d.Task.Operators
	c := &chain{ops: make([]any, len(uids)), uids: uids}
	c.state.done = io.Done()
	if c.state.log = io.Logger(); c.state.log == nil {
		c.state.log = slog.New(slog.DiscardHandler)
	}
	c.state.ops = c.ops
	c.state.next = make([][]int, len(uids))
	c.state.outs = make([][]outputWriter, len(uids))
	for _, uid := range uids {
		n, ok := e.byUID[uid]
		if !ok {
			return nil, fmt.Errorf("stream: operator uid %s of task %q is not in this job; the binary does not match the submitted graph", uid, d.Task.Name)
		}
		c.state.names = append(c.state.names, n.name)
	}
	cfg := d.Config.WithDefaults()
	stats := io.Stats()
	c.state.stats = stats
	// Build tail first so that each operator gets its outputs.
	for i := len(uids) - 1; i >= 0; i-- {
		n := e.byUID[uids[i]]
		var outs []any
		var sides map[string][]any // side outputs by name (see SideOutput)
		for _, ge := range d.Graph.Outputs(n.uid) {
			target := e.byUID[ge.Target]
			if j := slices.Index(uids, ge.Target); j >= 0 {
				if !routeSide(&sides, n.edgeTo(target), c.ops[j]) {
					outs = append(outs, c.ops[j])
				}
				c.state.next[i] = append(c.state.next[i], j)
				continue
			}
			te := slices.IndexFunc(d.Outputs, func(x jobgraph.TaskEdge) bool { return x.Source == ge.Source && x.Target == ge.Target })
			if te < 0 {
				return nil, fmt.Errorf("stream: edge %s -> %s is neither chained nor an output of task %q", n.name, target.name, d.Task.Name)
			}
			chans, err := io.Outputs(d.Outputs[te])
			if err != nil {
				return nil, err
			}
			spec := writerSpec{
				part: ge.Partitioning, channels: chans, subtask: d.Subtask,
				batchSize: cfg.BatchSize, done: io.Done(), sent: &stats.RecordsOut,
				register: func(w outputWriter) {
					c.writers = append(c.writers, w)
					c.state.outs[i] = append(c.state.outs[i], w)
				},
			}
			if in := n.edgeTo(target); in != nil && in.route != nil {
				top, _ := d.Graph.Operator(target.uid)
				spec.route = in.route(top.MaxParallelism, top.Parallelism)
			}
			if in := n.edgeTo(target); in != nil && in.side != nil {
				routeSide(&sides, in, in.side.writer(spec))
			} else {
				outs = append(outs, n.writer(spec))
			}
		}
		var out any
		switch len(outs) {
		case 0:
			if n.kind != "sink" {
				out = n.discard()
			}
		case 1:
			out = outs[0]
		default:
			out = n.fanout(outs)
		}
		op, _ := d.Graph.Operator(n.uid)
		prev := i
		for _, in := range d.Graph.Inputs(n.uid) {
			if j := slices.Index(uids, in.Source); j >= 0 {
				prev = j
			}
		}
		c.state.cur = i
		built, err := n.build(&opContext{
			chain: &c.state, idx: i, prev: prev, name: n.name, env: e,
			subtask: d.Subtask, parallelism: op.Parallelism, maxPar: op.MaxParallelism, sides: sides,
		}, out)
		if err != nil {
			return nil, fmt.Errorf("operator %q: %w", n.name, err)
		}
		c.ops[i] = built
	}
	head := e.byUID[uids[0]]
	if src, ok := c.ops[0].(sourceHead); ok {
		c.source = src
	} else {
		for _, in := range d.Inputs {
			feed := head.input
			if ie := e.byUID[in.Source].edgeTo(head); ie != nil && ie.input != nil {
				feed = ie.input // a two-input operator: the edge's side
			}
			c.inputs = append(c.inputs, feed(c.ops[0]))
		}
		for ch := range task.InputChannels(d.Graph, d.Inputs) {
			c.edgeOf = append(c.edgeOf, task.EdgeOf(d.Graph, d.Inputs, ch))
		}
	}
	var withTimers []timed
	for _, op := range c.ops {
		if t, ok := op.(timed); ok && t.hasTimers() {
			withTimers = append(withTimers, t)
		}
	}
	if len(withTimers) > 0 {
		return &timedChain{chain: c, timed: withTimers}, nil
	}
	return c, nil
}

// timedChain is a chain with timers: it implements task.Timers, which the
// task loop looks for once, so chains without timers are plain chains.
type timedChain struct {
	*chain
	timed []timed // in chain order
}

var (
	_ task.Timers    = (*timedChain)(nil)
	_ task.EventTime = (*chain)(nil)
)

func (c *timedChain) NextTimer() (time.Time, bool) {
	var next int64
	found := false
	for _, t := range c.timed {
		if at, ok := t.nextTimer(); ok && (!found || at < next) {
			next, found = at, true
		}
	}
	if !found {
		return time.Time{}, false
	}
	return time.Unix(0, next), true
}

// FireTimers fires the due timers of each operator, in chain order; what
// an operator's timers emit reaches the operators after it at once.
func (c *timedChain) FireTimers(now time.Time) error {
	n := now.UnixNano()
	for _, t := range c.timed {
		if err := t.fireTimers(n); err != nil {
			return err
		}
	}
	return nil
}

func (c *chain) IsSource() bool { return c.source != nil }

// StateBytes estimates the keyed state the chain holds; the TaskManager
// accounts it against the subtask's slot. Safe from any goroutine.
func (c *chain) StateBytes() int64 {
	var n int64
	for _, s := range c.state.sized {
		n += s.b.EstimatedBytes()
	}
	return n
}

// OperatorStateBytes calls f with the estimated keyed state of each
// operator that has keyed state, in chain order. Safe from any goroutine.
func (c *chain) OperatorStateBytes(f func(uid string, bytes int64)) {
	for i, uid := range c.uids {
		var n int64
		found := false
		for _, s := range c.state.sized {
			if s.op == i {
				n += s.b.EstimatedBytes()
				found = true
			}
		}
		if found {
			f(uid, n)
		}
	}
}

func (c *chain) Operator() string { return c.state.names[c.state.cur] }

func (c *chain) Open() error {
	for i := len(c.ops) - 1; i >= 0; i-- {
		if o, ok := c.ops[i].(opener); ok {
			c.state.cur = i
			if err := o.open(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *chain) Read() (int, error) { return c.source.read() }

func (c *chain) Process(b *network.Buffer) int { return c.inputs[c.edgeOf[b.Channel]](b) }

// AdvanceWatermark passes the task's input watermark down the chain. It
// is the task's watermark unless a generator in the chain makes its own.
func (c *chain) AdvanceWatermark(wm int64) error {
	if c.state.generators == 0 {
		c.state.recordWatermark(wm)
	}
	return c.state.watermarkAt(0, wm)
}

// SetIdle passes the task's input status down the chain.
func (c *chain) SetIdle(idle bool) { c.state.statusAt(0, idle) }

// EndInput ends the input: a source chain first advances its event time to
// the end of time, as Flink's sources do, so that every event-time timer
// fires and every consumer sees the watermark reach math.MaxInt64.
func (c *chain) EndInput() error {
	if c.source != nil {
		if err := c.state.watermarkAt(0, math.MaxInt64); err != nil {
			return err
		}
	}
	for i, op := range c.ops {
		if f, ok := op.(finisher); ok {
			c.state.cur = i
			if err := f.finish(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *chain) Flush() {
	for i, op := range c.ops {
		if f, ok := op.(flusher); ok {
			c.state.cur = i
			f.flush()
		}
	}
	for _, w := range c.writers {
		w.flush()
	}
}

// Checkpoint snapshots the stateful operators, then sends the barrier on
// every output after the records that came before it.
func (c *chain) Checkpoint(id int64) (*task.Snapshot, error) {
	s := &task.Snapshot{}
	for i, op := range c.ops {
		if sn, ok := op.(snapshotter); ok {
			c.state.cur = i
			data, frozen, err := sn.snapshot()
			if err != nil {
				s.Release()
				return nil, err
			}
			s.Operators = append(s.Operators, task.OperatorState{UID: c.uids[i], Data: data, Frozen: frozen})
		}
	}
	c.Flush()
	for _, w := range c.writers {
		w.barrier(id)
	}
	return s, nil
}

// Restore loads the operators' state; an operator with state but none to
// restore starts empty.
func (c *chain) Restore(state map[string][][]byte) error {
	for i, op := range c.ops {
		snaps, ok := state[c.uids[i]]
		if !ok {
			continue
		}
		sn, ok := op.(snapshotter)
		if !ok {
			return fmt.Errorf("operator %q (uid %s) has no state to restore into", c.state.names[i], c.uids[i])
		}
		c.state.cur = i
		if err := sn.restore(snaps); err != nil {
			return fmt.Errorf("restoring operator %q (uid %s): %w", c.state.names[i], c.uids[i], err)
		}
	}
	return nil
}

func (c *chain) EndOutputs() {
	for _, w := range c.writers {
		w.end()
	}
}

func (c *chain) Close() error {
	var errs []error
	for i, op := range c.ops {
		if cl, ok := op.(closer); ok {
			c.state.cur = i
			if err := cl.close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
