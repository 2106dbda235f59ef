package stream

import (
	"log/slog"
	"math"

	"github.com/sluicehq/sluice/taskmanager/keygroup"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// chainState is shared by the operators of one running chain.
type chainState struct {
	cur   int      // index of the operator that ran user code last
	names []string // operator names by chain index
	done  <-chan struct{}
	// log is the subtask's logger (task.IO.Logger): its lines carry the
	// job, task, subtask and attempt.
	log *slog.Logger
	// sized are the keyed backends of the chain, for state accounting.
	sized []sizedBackend
	// stats are the task's counters; the chain records its watermark
	// there (recordWatermark).
	stats *task.Stats
	// generators counts the watermark generators in the chain.
	generators int
	// The chain's shape, for the events that go down it (watermarks and
	// watermark statuses): ops by chain index, next[i] the chained
	// successors of operator i and outs[i] the network senders it writes
	// to, one per channel of each of its output edges.
	ops  []any
	next [][]int
	outs [][]outputWriter
}

// sizedBackend is a keyed backend of the operator at chain index op.
type sizedBackend struct {
	op int
	b  interface{ EstimatedBytes() int64 }
}

// recordWatermark records wm as the task's current watermark, for metrics:
// called when the watermark advances, never per record.
func (s *chainState) recordWatermark(wm int64) {
	if s.stats != nil {
		s.stats.SetWatermark(wm)
	}
}

// opContext is what an operator subtask is built with.
//
// Panic attribution: an operator sets chain.cur to its own index when it is
// called and, once its downstream call returns, back to prev, the index of
// the chained operator that called it. So cur always names the operator whose
// code is running, also when user code keeps running after emitting (FlatMap,
// Process, sources), at the cost of two stores per operator and record.
type opContext struct {
	chain       *chainState
	idx         int // position in the chain
	prev        int // position of the chained predecessor (idx for the head)
	name        string
	subtask     int
	parallelism int
	maxPar      int
	env         *Environment
	// sides are the consumers of the operator's side outputs, by name
	// (see sideOutputOf).
	sides map[string][]any
}

// logger returns the subtask's logger with the operator's name.
func (c *opContext) logger() *slog.Logger {
	if c.chain.log == nil { // a chain built by hand, in tests
		return slog.New(slog.DiscardHandler)
	}
	return c.chain.log.With(slog.String("operator", c.name))
}

// fail aborts the task with err; the task loop reports it with the operator.
func fail(err error) { panic(task.Failure{Err: err}) }

// input is how records reach an operator inside a chain: a batch at a time,
// so that chaining costs one call per operator per batch, not per record.
// An operator must not keep recs after push returns.
type input[T any] interface {
	push(recs []T)
}

// emitLimit is how many records an emitter gathers before it pushes them
// downstream even though the user code has not returned yet.
const emitLimit = 512

// emitter is the Collector handed to user code (FlatMap, Process, sources):
// it gathers emitted records and pushes them downstream in batches.
type emitter[T any] struct {
	ts  *chainState
	idx int
	buf []T
	out input[T]
}

func newEmitter[T any](c *opContext, out any) *emitter[T] {
	return &emitter[T]{ts: c.chain, idx: c.idx, out: out.(input[T])}
}

// Collect adds a record to the pending batch.
func (e *emitter[T]) Collect(v T) {
	e.buf = append(e.buf, v)
	if len(e.buf) >= emitLimit {
		e.emit()
	}
}

// emit pushes the pending batch; user code of the emitting operator may run
// again afterwards, so cur goes back to it.
func (e *emitter[T]) emit() {
	if len(e.buf) > 0 {
		e.out.push(e.buf)
		clear(e.buf)
		e.buf = e.buf[:0]
		e.ts.cur = e.idx
	}
}

// Map applies fn to every record.
func Map[IN, OUT any](s *DataStream[IN], fn func(IN) OUT) *DataStream[OUT] {
	n := newNode[OUT](s.env, "map", "Map", s.edges())
	consumes[IN](n)
	n.build = func(c *opContext, out any) (any, error) {
		return &mapOp[IN, OUT]{ts: c.chain, idx: c.idx, prev: c.prev, fn: fn, out: out.(input[OUT])}, nil
	}
	return streamOf[OUT](n)
}

type mapOp[IN, OUT any] struct {
	ts        *chainState
	idx, prev int
	fn        func(IN) OUT
	buf       []OUT
	out       input[OUT]
}

func (o *mapOp[IN, OUT]) push(in []IN) {
	o.ts.cur = o.idx
	if cap(o.buf) < len(in) {
		o.buf = make([]OUT, len(in))
	}
	buf, fn := o.buf[:len(in)], o.fn
	for i := range in {
		buf[i] = fn(in[i])
	}
	o.out.push(buf)
	o.ts.cur = o.prev
}

// Filter keeps the records for which keep returns true.
func Filter[T any](s *DataStream[T], keep func(T) bool) *DataStream[T] {
	n := newNode[T](s.env, "filter", "Filter", s.edges())
	consumes[T](n)
	n.build = func(c *opContext, out any) (any, error) {
		return &filterOp[T]{ts: c.chain, idx: c.idx, prev: c.prev, keep: keep, out: out.(input[T])}, nil
	}
	res := streamOf[T](n)
	res.ts = s.ts // the same records: the same timestamps
	return res
}

type filterOp[T any] struct {
	ts        *chainState
	idx, prev int
	keep      func(T) bool
	buf       []T
	out       input[T]
}

func (o *filterOp[T]) push(in []T) {
	o.ts.cur = o.idx
	buf, keep := o.buf[:0], o.keep
	for i := range in {
		if keep(in[i]) {
			buf = append(buf, in[i])
		}
	}
	o.buf = buf
	if len(buf) > 0 {
		o.out.push(buf)
	}
	o.ts.cur = o.prev
}

// FlatMap calls fn for every record; fn emits any number of records to out.
func FlatMap[IN, OUT any](s *DataStream[IN], fn func(IN, Collector[OUT])) *DataStream[OUT] {
	n := newNode[OUT](s.env, "flatmap", "FlatMap", s.edges())
	consumes[IN](n)
	n.build = func(c *opContext, out any) (any, error) {
		return &flatMapOp[IN, OUT]{ts: c.chain, idx: c.idx, prev: c.prev, fn: fn, em: newEmitter[OUT](c, out)}, nil
	}
	return streamOf[OUT](n)
}

type flatMapOp[IN, OUT any] struct {
	ts        *chainState
	idx, prev int
	fn        func(IN, Collector[OUT])
	em        *emitter[OUT]
}

func (o *flatMapOp[IN, OUT]) push(in []IN) {
	o.ts.cur = o.idx
	for i := range in {
		o.fn(in[i], o.em)
	}
	o.em.emit()
	o.ts.cur = o.prev
}

// KeyedStream is a stream partitioned by key: records with equal keys go to
// the same subtask of the next operator, which keeps state per key.
type KeyedStream[K comparable, T any] struct {
	s   *DataStream[T]
	key func(T) K
}

// KeyBy partitions s by the key that key extracts. Keys are routed by a
// stable hash of their encoding, so K must be a type package codec encodes.
func KeyBy[T any, K comparable](s *DataStream[T], key func(T) K) *KeyedStream[K, T] {
	if _, err := keygroup.NewHasher[K](); err != nil {
		s.env.fail(errorf("KeyBy: %w", err))
	}
	ins := s.edges()
	for _, e := range ins {
		e.part = "hash"
		e.route = func(maxPar, par int) any {
			h, _ := keygroup.NewHasher[K]()
			return func(v T) int {
				return keygroup.Subtask(keygroup.Of(h(key(v)), maxPar), maxPar, par)
			}
		}
	}
	return &KeyedStream[K, T]{s: &DataStream[T]{env: s.env, op: s.op, ins: ins, ts: s.ts}, key: key}
}

// keyedNode adds an operator reading the keyed stream.
func keyedNode[K comparable, IN, OUT any](ks *KeyedStream[K, IN], kind, name string) *node {
	n := newNode[OUT](ks.s.env, kind, name, ks.s.edges())
	n.keyed = true
	consumes[IN](n)
	return n
}

// Reduce combines the records of each key with fn and emits the running
// result after every record.
func Reduce[K comparable, T any](ks *KeyedStream[K, T], fn func(acc, v T) T) *DataStream[T] {
	n := keyedNode[K, T, T](ks, "reduce", "Reduce")
	n.build = func(c *opContext, out any) (any, error) {
		b, err := newBackend[K](c)
		if err != nil {
			return nil, err
		}
		acc, err := newValue[T](b, "reduce")
		if err != nil {
			return nil, err
		}
		return &reduceOp[K, T]{ts: c.chain, idx: c.idx, prev: c.prev, key: ks.key, b: b, acc: acc, fn: fn, out: out.(input[T])}, nil
	}
	return streamOf[T](n)
}

type reduceOp[K comparable, T any] struct {
	ts        *chainState
	idx, prev int
	key       func(T) K
	b         *keyedBackend[K]
	acc       *valueState[T]
	fn        func(T, T) T
	buf       []T
	out       input[T]
}

func (o *reduceOp[K, T]) push(in []T) {
	o.ts.cur = o.idx
	buf := o.buf[:0]
	for _, v := range in {
		o.b.setKey(o.key(v))
		if old, ok := o.acc.Get(); ok {
			v = o.fn(old, v)
		}
		o.acc.Set(v)
		buf = append(buf, v)
	}
	o.buf = buf
	o.out.push(buf)
	o.ts.cur = o.prev
}

// KeyedProcessFunction processes the records of a keyed stream one at a time
// with access to keyed state. Each subtask gets its own instance. A function
// that also implements TimerHandler can register timers from its Context.
type KeyedProcessFunction[K comparable, IN, OUT any] interface {
	// Open is called once before any record; it creates the states.
	Open(ctx *OpenContext[K]) error
	// ProcessElement is called for each record; ctx.Key() is its key and
	// states read and write that key's values.
	ProcessElement(ctx *Context[K], in IN, out Collector[OUT]) error
}

// OpenContext is given to KeyedProcessFunction.Open.
type OpenContext[K comparable] struct {
	b           *keyedBackend[K]
	subtask     int
	parallelism int
	log         *slog.Logger
}

// Logger returns the logger of this subtask, for the function to keep and
// log with: its lines carry the job, task, task_name, subtask, attempt and
// operator, and go where the TaskManager's log goes.
func (c *OpenContext[K]) Logger() *slog.Logger { return c.log }

// Subtask returns the index of this parallel instance, from 0.
func (c *OpenContext[K]) Subtask() int { return c.subtask }

// Parallelism returns the number of parallel instances.
func (c *OpenContext[K]) Parallelism() int { return c.parallelism }

// Context is given to KeyedProcessFunction.ProcessElement.
type Context[K comparable] struct {
	b      *keyedBackend[K]
	timers *timerService[K] // nil: the function has no OnTimer
	clock  *eventClock
}

// Key returns the key of the record being processed.
func (c *Context[K]) Key() K { return c.b.CurrentKey() }

// Process runs a KeyedProcessFunction made by newFn for each subtask.
//
// If the keyed stream has timestamps, ctx.Timestamp() returns the record's.
// Watermarks reach the operator in order with the records; it fires its
// event-time timers up to each watermark (in timestamp order), then passes
// the watermark on. The output has no timestamps: give it some with
// WithTimestamps if a later operator needs them.
func Process[K comparable, IN, OUT any](ks *KeyedStream[K, IN], newFn func() KeyedProcessFunction[K, IN, OUT]) *DataStream[OUT] {
	n := keyedNode[K, IN, OUT](ks, "process", "Process")
	extract, _ := timestampsOf(ks.s)
	n.build = func(c *opContext, out any) (any, error) {
		b, err := newBackend[K](c)
		if err != nil {
			return nil, err
		}
		fn := newFn()
		clock := &eventClock{watermark: math.MinInt64}
		op := &processOp[K, IN, OUT]{
			ts: c.chain, idx: c.idx, prev: c.prev, key: ks.key, b: b, fn: fn,
			ctx: &Context[K]{b: b, clock: clock}, clock: clock, em: newEmitter[OUT](c, out),
		}
		if extract != nil {
			clock.timestamp = func() (int64, bool) {
				if op.batch == nil {
					return 0, false // a timer is firing
				}
				return extract(op.batch[op.at]), true
			}
		}
		// Registered before Open, so that the function cannot take the
		// name of the timers' state.
		if op.timers, op.onTimer, op.onEventTimer, err = timerHooks[K, OUT](b, op.ctx, fn, op.em); err != nil {
			return nil, err
		}
		c.chain.cur = c.idx
		if err := fn.Open(&OpenContext[K]{b: b, subtask: c.subtask, parallelism: c.parallelism, log: c.logger()}); err != nil {
			return nil, err
		}
		return op, nil
	}
	return streamOf[OUT](n)
}

type processOp[K comparable, IN, OUT any] struct {
	ts           *chainState
	idx, prev    int
	key          func(IN) K
	b            *keyedBackend[K]
	fn           KeyedProcessFunction[K, IN, OUT]
	ctx          *Context[K]
	clock        *eventClock
	em           *emitter[OUT]
	timers       *timerService[K]     // nil: fn is no TimerHandler
	onTimer      func(at int64) error // calls fn's OnTimer for a processing-time timer
	onEventTimer func(at int64) error // and for an event-time timer
	// The record being processed, for ctx.Timestamp.
	batch []IN
	at    int
}

func (o *processOp[K, IN, OUT]) push(in []IN) {
	o.ts.cur = o.idx
	o.batch = in
	for i := range in {
		o.at = i
		o.b.setKey(o.key(in[i]))
		if err := o.fn.ProcessElement(o.ctx, in[i], o.em); err != nil {
			fail(err)
		}
	}
	o.batch = nil
	o.em.emit()
	o.ts.cur = o.prev
}

// watermark moves the operator's event time to wm and fires the event-time
// timers it reached; what they emit goes down the chain before wm does.
func (o *processOp[K, IN, OUT]) watermark(wm int64) (bool, error) {
	o.clock.watermark = wm
	if o.timers == nil {
		return true, nil
	}
	if err := o.timers.fire(EventTime, wm, o.onEventTimer); err != nil {
		return false, err
	}
	o.em.emit()
	return true, nil
}

// fanout passes each batch to several outputs.
type fanout[T any] []input[T]

func newFanout[T any](outs []any) any {
	f := make(fanout[T], len(outs))
	for i, o := range outs {
		f[i] = o.(input[T])
	}
	return f
}

func (f fanout[T]) push(recs []T) {
	for _, o := range f {
		o.push(recs)
	}
}

// discard is the output of an operator whose stream nobody reads.
type discard[T any] struct{}

func (discard[T]) push([]T) {}

func (o *reduceOp[K, T]) snapshot() ([]byte, task.FrozenState, error) { return o.b.snapshot() }
func (o *reduceOp[K, T]) restore(snaps [][]byte) error                { return o.b.restore(snaps) }

func (o *processOp[K, IN, OUT]) snapshot() ([]byte, task.FrozenState, error) {
	return o.b.snapshot()
}

func (o *processOp[K, IN, OUT]) restore(snaps [][]byte) error {
	if o.timers != nil {
		return o.timers.restore(snaps)
	}
	return o.b.restore(snaps)
}

func (o *processOp[K, IN, OUT]) hasTimers() bool { return o.timers != nil }

func (o *processOp[K, IN, OUT]) nextTimer() (int64, bool) { return o.timers.next(ProcessingTime) }

func (o *processOp[K, IN, OUT]) fireTimers(now int64) error {
	o.ts.cur = o.idx
	if err := o.timers.fire(ProcessingTime, now, o.onTimer); err != nil {
		return err
	}
	o.em.emit()
	return nil
}
