package stream

import (
	"fmt"
	"math"

	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Two-input operators.
//
// A two-input operator reads two streams of possibly different types, A (its
// first input) and B (its second). Its node has the edges of both streams as
// inputs, first input's before second's, and each edge carries the function
// that decodes its buffers into its side's type (edge.input), so a task
// whose head is a two-input operator feeds every channel to the right side:
// input 1 as []A, input 2 as []B. A two-input operator is never chained to
// its inputs (an operator with more than one input never is; see
// jobgraph.Graph.Chainable), so it is always the head of its task, and the
// task loop treats it like a head reading a union: one inbox for the
// channels of both inputs, barriers aligned and watermarks combined (the
// minimum) over all of them, the input ended when every channel has ended.

// ConnectedStreams are two streams, of types A and B, that one two-input
// operator reads: Flink's DataStream.connect. Build one with Connect and
// process it with CoMap or CoFlatMap, or key both sides with
// KeyByConnected for CoProcess.
type ConnectedStreams[A, B any] struct {
	first  *DataStream[A]
	second *DataStream[B]
}

// Connect connects two streams, which may have different types, for a
// two-input operator. The streams keep their partitioning: by default a
// stream reaches the operator forward if the parallelisms match and
// rebalanced otherwise; Broadcast one side to give every subtask all of it.
// a and b must be different streams (a stream cannot be connected with
// itself, as it cannot be unioned with itself).
func Connect[A, B any](a *DataStream[A], b *DataStream[B]) *ConnectedStreams[A, B] {
	return &ConnectedStreams[A, B]{first: a, second: b}
}

// First returns the first stream.
func (cs *ConnectedStreams[A, B]) First() *DataStream[A] { return cs.first }

// Second returns the second stream.
func (cs *ConnectedStreams[A, B]) Second() *DataStream[B] { return cs.second }

// KeyedConnectedStreams are two keyed streams with the same key type:
// records of either side with equal keys go to the same subtask of the
// operator that reads them, where they share its keyed state.
type KeyedConnectedStreams[K comparable, A, B any] struct {
	first  *KeyedStream[K, A]
	second *KeyedStream[K, B]
}

// ConnectKeyed connects two keyed streams with the same key type, for
// CoProcess: as Flink's keyedA.connect(keyedB).
func ConnectKeyed[K comparable, A, B any](a *KeyedStream[K, A], b *KeyedStream[K, B]) *KeyedConnectedStreams[K, A, B] {
	return &KeyedConnectedStreams[K, A, B]{first: a, second: b}
}

// KeyByConnected keys both sides of connected streams, the first by keyA
// and the second by keyB: as Flink's connected.keyBy(keyA, keyB).
func KeyByConnected[A, B any, K comparable](cs *ConnectedStreams[A, B], keyA func(A) K, keyB func(B) K) *KeyedConnectedStreams[K, A, B] {
	return ConnectKeyed(KeyBy(cs.first, keyA), KeyBy(cs.second, keyB))
}

// twoInputs is what a two-input operator's build returns: one input per
// side.
type twoInputs[A, B any] interface {
	input1() input[A]
	input2() input[B]
}

// twoInputNode adds an operator producing OUT records that reads the edges
// of a as its first input (A records) and those of b as its second (B
// records). Its build must return a twoInputs[A, B].
func twoInputNode[A, B, OUT any](env *Environment, kind, name string, a, b []*edge) *node {
	n := newNode[OUT](env, kind, name, append(a[:len(a):len(a)], b...))
	for i, e := range n.inputs {
		if i < len(a) {
			e.input = func(op any) func(*network.Buffer) int { return feedInput(op.(twoInputs[A, B]).input1(), n) }
		} else {
			e.input = func(op any) func(*network.Buffer) int { return feedInput(op.(twoInputs[A, B]).input2(), n) }
		}
	}
	return n
}

// feedInput returns the function that hands one input buffer of IN records, in
// memory or in a frame from the network, to head, an input of operator n:
// what consumes does for a one-input operator, per edge.
func feedInput[IN any](head input[IN], n *node) func(*network.Buffer) int {
	var dec codec.Codec[IN]
	var decoded []IN
	raw, _ := codec.RawSize[IN]()
	return func(b *network.Buffer) int {
		switch batch := b.Batch.(type) {
		case *[]IN:
			head.push(*batch)
			return len(*batch)
		case *network.Frame:
			if dec == nil {
				c, err := codec.For[IN]()
				if err != nil {
					fail(err) // Plan checked every exchanged type
				}
				dec = c
			}
			if raw > 0 {
				recs := viewRaw[IN](batch.Data, raw, n.name)
				head.push(recs)
				return len(recs)
			}
			decoded = decodeFrame(dec, batch.Data, decoded[:0], n.name)
			head.push(decoded)
			clear(decoded)
			return len(decoded)
		default:
			fail(fmt.Errorf("operator %q received a %T batch on an input of %T records; the producer runs other code", n.name, b.Batch, *new(IN)))
			return 0
		}
	}
}

// requireInputTimestamps is requireTimestamps for one input of a two-input
// operator; which names it ("first", "second") in the error.
func requireInputTimestamps[T any](n *node, ds *DataStream[T], which string) func(T) int64 {
	if fn, ok := timestampsOf(ds); ok {
		return fn
	}
	n.checkAtPlan(func() error {
		return errorf("operator %q: its %s input has records without a timestamp where one is required; give it a WatermarkStrategy "+
			"with AssignTimestampsAndWatermarks, or a timestamp function with WithTimestamps (the output of Map, FlatMap, "+
			"Reduce and Process has none, nor has a union of streams with different ones)", n.name, which)
	})
	return nil
}

// CoFlatMap calls fa for every record of the first stream and fb for every
// record of the second; both emit to the same output, as Flink's
// CoFlatMapFunction. The operator is not keyed and has no state; each
// subtask reads what the two streams' partitioning sends it.
func CoFlatMap[A, B, OUT any](cs *ConnectedStreams[A, B], fa func(A, Collector[OUT]), fb func(B, Collector[OUT])) *DataStream[OUT] {
	n := twoInputNode[A, B, OUT](cs.first.env, "coflatmap", "CoFlatMap", cs.first.edges(), cs.second.edges())
	n.build = func(c *opContext, out any) (any, error) {
		return &coFlatMapOp[A, B, OUT]{ts: c.chain, idx: c.idx, fa: fa, fb: fb, em: newEmitter[OUT](c, out)}, nil
	}
	return streamOf[OUT](n)
}

// CoMap maps the records of the first stream with fa and those of the
// second with fb into one output stream, as Flink's CoMapFunction.
func CoMap[A, B, OUT any](cs *ConnectedStreams[A, B], fa func(A) OUT, fb func(B) OUT) *DataStream[OUT] {
	res := CoFlatMap(cs,
		func(a A, out Collector[OUT]) { out.Collect(fa(a)) },
		func(b B, out Collector[OUT]) { out.Collect(fb(b)) })
	res.op.kind, res.op.name = "comap", "CoMap"
	return res
}

type coFlatMapOp[A, B, OUT any] struct {
	ts  *chainState
	idx int
	fa  func(A, Collector[OUT])
	fb  func(B, Collector[OUT])
	em  *emitter[OUT]
}

func (o *coFlatMapOp[A, B, OUT]) input1() input[A] { return sideFunc[A](o.push1) }
func (o *coFlatMapOp[A, B, OUT]) input2() input[B] { return sideFunc[B](o.push2) }

func (o *coFlatMapOp[A, B, OUT]) push1(in []A) {
	o.ts.cur = o.idx
	for i := range in {
		o.fa(in[i], o.em)
	}
	o.em.emit()
}

func (o *coFlatMapOp[A, B, OUT]) push2(in []B) {
	o.ts.cur = o.idx
	for i := range in {
		o.fb(in[i], o.em)
	}
	o.em.emit()
}

// sideFunc is one input of a two-input operator.
type sideFunc[T any] func([]T)

func (f sideFunc[T]) push(recs []T) { f(recs) }

// KeyedCoProcessFunction processes the records of two keyed streams, as
// Flink's KeyedCoProcessFunction: ProcessElement1 for each record of the
// first stream, ProcessElement2 for each of the second, with ctx.Key() the
// record's key. Both see the same keyed state: a state created in Open
// holds one value per key, whichever side writes it. Each subtask gets its
// own instance.
//
// A function may also have an Open(ctx *OpenContext[K]) error method, called
// once before any record, to create its states; and implement
// TimerHandler, to register processing-time and event-time timers from its
// Context. An event-time timer fires once the operator's watermark, the
// minimum of its two inputs' watermarks, reaches it.
type KeyedCoProcessFunction[K comparable, A, B, OUT any] interface {
	ProcessElement1(ctx *Context[K], a A, out Collector[OUT]) error
	ProcessElement2(ctx *Context[K], b B, out Collector[OUT]) error
}

// coOpener is a KeyedCoProcessFunction with an Open method.
type coOpener[K comparable] interface {
	Open(ctx *OpenContext[K]) error
}

// CoProcess runs a KeyedCoProcessFunction made by newFn for each subtask
// over two keyed streams (see ConnectKeyed and KeyByConnected).
//
// ctx.Timestamp() returns the record's timestamp if its stream has
// timestamps. The operator's watermark is the minimum of its inputs'
// (over the channels of both that are neither idle nor ended), so one input
// that lags holds back the event-time timers; they fire, in timestamp
// order, up to each watermark, which then goes on. Keyed state and timers
// are checkpointed and restored, at any parallelism, like those of
// Process. The output has no timestamps: give it some with WithTimestamps
// if a later operator needs them.
func CoProcess[K comparable, A, B, OUT any](cs *KeyedConnectedStreams[K, A, B], newFn func() KeyedCoProcessFunction[K, A, B, OUT]) *DataStream[OUT] {
	n := coProcessNode[K, A, B, OUT](cs, "coprocess", "CoProcess")
	n.build = buildCoProcess(cs, newFn)
	return streamOf[OUT](n)
}

// coProcessNode adds a keyed two-input operator reading cs; its build is
// left to the caller.
func coProcessNode[K comparable, A, B, OUT any](cs *KeyedConnectedStreams[K, A, B], kind, name string) *node {
	n := twoInputNode[A, B, OUT](cs.first.s.env, kind, name, cs.first.s.edges(), cs.second.s.edges())
	n.keyed = true
	return n
}

// buildCoProcess is the build of a keyed co-process operator running the
// functions newFn makes.
func buildCoProcess[K comparable, A, B, OUT any](cs *KeyedConnectedStreams[K, A, B], newFn func() KeyedCoProcessFunction[K, A, B, OUT]) func(c *opContext, out any) (any, error) {
	tsA, _ := timestampsOf(cs.first.s)
	tsB, _ := timestampsOf(cs.second.s)
	keyA, keyB := cs.first.key, cs.second.key
	return func(c *opContext, out any) (any, error) {
		b, err := newBackend[K](c)
		if err != nil {
			return nil, err
		}
		fn := newFn()
		if fn == nil {
			return nil, fmt.Errorf("the function constructor returned nil")
		}
		clock := &eventClock{watermark: math.MinInt64}
		op := &coProcessOp[K, A, B, OUT]{
			ts: c.chain, idx: c.idx, keyA: keyA, keyB: keyB, tsA: tsA, tsB: tsB, b: b, fn: fn,
			ctx: &Context[K]{b: b, clock: clock}, clock: clock, em: newEmitter[OUT](c, out),
		}
		if tsA != nil || tsB != nil {
			clock.timestamp = op.timestamp
		}
		// Registered before Open, so that the function cannot take the
		// name of the timers' state.
		if op.timers, op.onTimer, op.onEventTimer, err = timerHooks[K, OUT](b, op.ctx, fn, op.em); err != nil {
			return nil, err
		}
		if o, ok := fn.(coOpener[K]); ok {
			c.chain.cur = c.idx
			if err := o.Open(&OpenContext[K]{b: b, subtask: c.subtask, parallelism: c.parallelism, log: c.logger()}); err != nil {
				return nil, err
			}
		}
		return op, nil
	}
}

// coProcessOp is one subtask of a keyed two-input operator: processOp with
// two inputs over one keyed backend and one timer service.
type coProcessOp[K comparable, A, B, OUT any] struct {
	ts           *chainState
	idx          int // always a task's head: no chained predecessor
	keyA         func(A) K
	keyB         func(B) K
	tsA          func(A) int64 // nil: the first input has no timestamps
	tsB          func(B) int64
	b            *keyedBackend[K]
	fn           KeyedCoProcessFunction[K, A, B, OUT]
	ctx          *Context[K]
	clock        *eventClock
	em           *emitter[OUT]
	timers       *timerService[K]     // nil: fn is no TimerHandler
	onTimer      func(at int64) error // calls fn's OnTimer for a processing-time timer
	onEventTimer func(at int64) error // and for an event-time timer
	// The record being processed, for ctx.Timestamp: batchA[at] or
	// batchB[at]; both nil while timers fire.
	batchA []A
	batchB []B
	at     int
}

func (o *coProcessOp[K, A, B, OUT]) input1() input[A] { return sideFunc[A](o.push1) }
func (o *coProcessOp[K, A, B, OUT]) input2() input[B] { return sideFunc[B](o.push2) }

func (o *coProcessOp[K, A, B, OUT]) push1(in []A) {
	o.ts.cur = o.idx
	o.batchA = in
	for i := range in {
		o.at = i
		o.b.setKey(o.keyA(in[i]))
		if err := o.fn.ProcessElement1(o.ctx, in[i], o.em); err != nil {
			fail(err)
		}
	}
	o.batchA = nil
	o.em.emit()
}

func (o *coProcessOp[K, A, B, OUT]) push2(in []B) {
	o.ts.cur = o.idx
	o.batchB = in
	for i := range in {
		o.at = i
		o.b.setKey(o.keyB(in[i]))
		if err := o.fn.ProcessElement2(o.ctx, in[i], o.em); err != nil {
			fail(err)
		}
	}
	o.batchB = nil
	o.em.emit()
}

// timestamp is ctx.Timestamp() when at least one input has timestamps.
func (o *coProcessOp[K, A, B, OUT]) timestamp() (int64, bool) {
	switch {
	case o.batchA != nil && o.tsA != nil:
		return o.tsA(o.batchA[o.at]), true
	case o.batchB != nil && o.tsB != nil:
		return o.tsB(o.batchB[o.at]), true
	}
	return 0, false // a timer is firing, or the record's input has none
}

// watermark moves the operator's event time to wm, the minimum over both
// inputs (task.Run computes it over the channels of both), and fires the
// event-time timers it reached; what they emit goes on before wm does.
func (o *coProcessOp[K, A, B, OUT]) watermark(wm int64) (bool, error) {
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

func (o *coProcessOp[K, A, B, OUT]) snapshot() ([]byte, task.FrozenState, error) {
	return o.b.snapshot()
}

func (o *coProcessOp[K, A, B, OUT]) restore(snaps [][]byte) error {
	if o.timers != nil {
		return o.timers.restore(snaps)
	}
	return o.b.restore(snaps)
}

func (o *coProcessOp[K, A, B, OUT]) hasTimers() bool { return o.timers != nil }

func (o *coProcessOp[K, A, B, OUT]) nextTimer() (int64, bool) { return o.timers.next(ProcessingTime) }

func (o *coProcessOp[K, A, B, OUT]) fireTimers(now int64) error {
	o.ts.cur = o.idx
	if err := o.timers.fire(ProcessingTime, now, o.onTimer); err != nil {
		return err
	}
	o.em.emit()
	return nil
}
