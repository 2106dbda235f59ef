package stream

import (
	"math"
	"time"
)

// Event time.
//
// A record's timestamp is a function of the record, not a field next to it:
// records travel in batches of plain Go values ([]T), which have no slot for
// one. A stream that has timestamps carries its timestamp function (see
// timestampsOf); operators that keep the record type keep it, the others
// lose it, and WithTimestamps gives one back. Watermarks are generated per
// subtask by AssignTimestampsAndWatermarks, pass down a chain as calls
// (chainState.watermarkAt) and between tasks in-band, on every channel, as
// network.EventWatermark; a task's input watermark is computed by task.Run.

// DefaultAutoWatermarkInterval is how often, by default, watermark
// generators emit their watermark if it advanced: Flink's default
// pipeline.auto-watermark-interval.
const DefaultAutoWatermarkInterval = 200 * time.Millisecond

// SetAutoWatermarkInterval sets how often the watermark generators of
// AssignTimestampsAndWatermarks emit their watermark (if it advanced) and
// check for idleness. It must be positive.
func (e *Environment) SetAutoWatermarkInterval(d time.Duration) *Environment {
	if d <= 0 {
		e.fail(errorf("auto-watermark interval %v must be positive", d))
		return e
	}
	e.watermarkInterval = d
	return e
}

// AutoWatermarkInterval returns how often watermark generators emit.
func (e *Environment) AutoWatermarkInterval() time.Duration {
	if e.watermarkInterval > 0 {
		return e.watermarkInterval
	}
	return DefaultAutoWatermarkInterval
}

// timestamps is the timestamp function of a stream's records. Streams whose
// records get their timestamps from the same function share the pointer, so
// that a union can tell whether its inputs agree.
type timestamps[T any] struct {
	fn func(T) int64
}

// timestampsOf returns the timestamp function of ds's records, in
// milliseconds since the epoch, and false when the stream has none.
// Operators that need record timestamps (windows) call it when they are
// added, and requireTimestamps to fail the plan when there is none.
func timestampsOf[T any](ds *DataStream[T]) (func(T) int64, bool) {
	if ds.ts == nil || ds.ts.fn == nil {
		return nil, false
	}
	return ds.ts.fn, true
}

// requireTimestamps returns the timestamp function of ds, which operator n
// reads. When there is none, the plan fails with an error naming n (by the
// name it has when the job is planned) and requireTimestamps returns nil.
func requireTimestamps[T any](n *node, ds *DataStream[T]) func(T) int64 {
	if fn, ok := timestampsOf(ds); ok {
		return fn
	}
	n.checkAtPlan(func() error {
		return errorf("operator %q: records without a timestamp where one is required; give its input a WatermarkStrategy "+
			"with AssignTimestampsAndWatermarks, or a timestamp function with WithTimestamps (the output of Map, FlatMap, "+
			"Reduce and Process has none, nor has a union of streams with different ones)", n.name)
	})
	return nil
}

// WithTimestamps gives the records of ds the timestamp fn, in milliseconds
// since the epoch, without generating watermarks: for a stream that lost
// its timestamps to a transformation that changed the record type, when the
// watermarks already flowing still hold for the new timestamps. It adds no
// operator.
func WithTimestamps[T any](ds *DataStream[T], fn func(T) int64) *DataStream[T] {
	out := *ds
	out.ins = ds.edges()
	out.ts = &timestamps[T]{fn: fn}
	if fn == nil {
		ds.env.fail(errorf("WithTimestamps: the timestamp function is nil"))
	}
	return &out
}

// WatermarkStrategy says how a stream's records get their timestamps and
// how watermarks follow them, as Flink's WatermarkStrategy. Build one with
// ForMonotonousTimestamps or ForBoundedOutOfOrderness and apply it with
// AssignTimestampsAndWatermarks. The zero value has no timestamp function
// and is refused.
type WatermarkStrategy[T any] struct {
	ts       *timestamps[T]
	bound    time.Duration
	idleness time.Duration // 0: never idle
}

// ForMonotonousTimestamps is the strategy for records whose timestamps,
// fn(record) in milliseconds since the epoch, never decrease within a
// source subtask: the watermark trails the highest timestamp seen by 1 ms.
func ForMonotonousTimestamps[T any](fn func(T) int64) WatermarkStrategy[T] {
	return ForBoundedOutOfOrderness(0, fn)
}

// ForBoundedOutOfOrderness is the strategy for records whose timestamps,
// fn(record) in milliseconds since the epoch, arrive out of order by at
// most maxOutOfOrderness within a source subtask: the watermark is the
// highest timestamp seen minus maxOutOfOrderness minus 1 ms, as in Flink. A
// later record with a timestamp at or below the watermark is late. The
// bound is counted in whole milliseconds; zero or negative means
// monotonous timestamps.
func ForBoundedOutOfOrderness[T any](maxOutOfOrderness time.Duration, fn func(T) int64) WatermarkStrategy[T] {
	return WatermarkStrategy[T]{ts: &timestamps[T]{fn: fn}, bound: max(maxOutOfOrderness, 0)}
}

// WithIdleness marks a generator's output idle when it has seen no record
// for d (checked every auto-watermark interval), so that consumers stop
// waiting for its watermark; its next record makes it active again. Without
// it, a source subtask that gets no records holds back the watermark of
// every consumer. d = 0 turns idleness detection off; a negative d is
// refused when the job is planned.
func (s WatermarkStrategy[T]) WithIdleness(d time.Duration) WatermarkStrategy[T] {
	s.idleness = d
	return s
}

// AssignTimestampsAndWatermarks gives the records of ds their timestamps
// and generates watermarks from them with strategy s. The operator takes its
// input's parallelism and chains to it, so applied right after a source
// there is one watermark generator per source subtask, as Flink's sources
// have. It emits the watermark downstream, when it advanced, every
// auto-watermark interval (see Environment.SetAutoWatermarkInterval).
//
// Watermarks from upstream do not pass the operator: it makes its own. The
// one exception is the end of a bounded input (math.MaxInt64), which goes
// on.
func AssignTimestampsAndWatermarks[T any](ds *DataStream[T], s WatermarkStrategy[T]) *DataStream[T] {
	n := newNode[T](ds.env, "watermarks", "Timestamps/Watermarks", ds.edges())
	n.inheritPar = ds.op
	consumes[T](n)
	var fn func(T) int64
	if s.ts != nil {
		fn = s.ts.fn
	}
	n.checkAtPlan(func() error {
		switch {
		case fn == nil:
			return errorf("operator %q: the watermark strategy has no timestamp function; build it with ForMonotonousTimestamps or ForBoundedOutOfOrderness", n.name)
		case s.idleness < 0:
			return errorf("operator %q: idleness %v must not be negative", n.name, s.idleness)
		}
		return nil
	})
	bound, idle := s.bound.Milliseconds(), s.idleness.Nanoseconds()
	n.build = func(c *opContext, out any) (any, error) {
		c.chain.generators++
		return &assignOp[T]{
			ts: c.chain, idx: c.idx, prev: c.prev, extract: fn,
			gen:      newWatermarkGenerator(bound, idle),
			interval: c.env.AutoWatermarkInterval().Nanoseconds(),
			out:      out.(input[T]),
		}, nil
	}
	res := streamOf[T](n)
	res.ts = s.ts
	return res
}

// watermarkGenerator is the watermark logic of one generator subtask,
// without clock or output: Flink's BoundedOutOfOrdernessWatermarks wrapped
// in WatermarksWithIdleness.
type watermarkGenerator struct {
	bound     int64 // ms
	idleAfter int64 // ns; 0: never idle
	highest   int64 // highest timestamp seen; MinInt64: none yet
	emitted   int64 // last watermark emitted
	idle      bool
	// Idleness: whether records came since the last periodic check, and
	// when the current quiet period began (the first check that saw none).
	seen    bool
	checked bool
	quiet   int64
}

func newWatermarkGenerator(boundMillis, idleAfterNanos int64) watermarkGenerator {
	return watermarkGenerator{bound: boundMillis, idleAfter: idleAfterNanos, highest: math.MinInt64, emitted: math.MinInt64}
}

// observe takes the highest timestamp of a batch of records. It reports
// whether the generator was idle: it is active again, which must be said
// before the records.
func (g *watermarkGenerator) observe(highest int64) (wasIdle bool) {
	g.seen = true
	g.highest = max(g.highest, highest)
	if g.idle {
		g.idle = false
		return true
	}
	return false
}

// current is the watermark the records seen so far allow: the highest
// timestamp minus the bound minus 1, or MinInt64 (without overflow).
func (g *watermarkGenerator) current() int64 {
	if g.highest < math.MinInt64+g.bound+1 {
		return math.MinInt64
	}
	return g.highest - g.bound - 1
}

// periodic is the check made every auto-watermark interval, at now (Unix
// nanoseconds). It returns a watermark to emit, if it advanced, or reports
// that the generator has just turned idle.
func (g *watermarkGenerator) periodic(now int64) (wm int64, emit, turnedIdle bool) {
	if g.idleAfter > 0 {
		switch {
		case g.seen || !g.checked:
			g.seen, g.checked, g.quiet = false, true, now
		case !g.idle && now-g.quiet >= g.idleAfter:
			g.idle = true
			return 0, false, true
		}
	}
	if g.idle {
		return 0, false, false
	}
	if wm := g.current(); wm > g.emitted {
		g.emitted = wm
		return wm, true, false
	}
	return 0, false, false
}

// assignOp is one subtask of AssignTimestampsAndWatermarks: it passes
// records on, keeps the highest timestamp per batch, and emits watermarks
// from a periodic check that the task loop drives like a processing-time
// timer (see timed), so it runs also when no record comes.
type assignOp[T any] struct {
	ts        *chainState
	idx, prev int
	extract   func(T) int64
	gen       watermarkGenerator
	interval  int64 // ns
	next      int64 // Unix ns of the next periodic check; 0: at once
	out       input[T]
}

func (o *assignOp[T]) push(recs []T) {
	o.ts.cur = o.idx
	highest, extract := int64(math.MinInt64), o.extract
	for i := range recs {
		highest = max(highest, extract(recs[i]))
	}
	if o.gen.observe(highest) {
		o.ts.statusAfter(o.idx, false)
		o.ts.cur = o.idx
	}
	o.out.push(recs)
	o.ts.cur = o.prev
}

func (o *assignOp[T]) hasTimers() bool { return true }

func (o *assignOp[T]) nextTimer() (int64, bool) { return o.next, true }

func (o *assignOp[T]) fireTimers(now int64) error {
	if now < o.next {
		return nil
	}
	o.next = now + o.interval
	o.ts.cur = o.idx
	wm, emit, turnedIdle := o.gen.periodic(now)
	if turnedIdle {
		o.ts.statusAfter(o.idx, true)
	}
	if emit {
		o.ts.recordWatermark(wm)
		return o.ts.watermarkAfter(o.idx, wm)
	}
	return nil
}

// watermark stops the watermarks of upstream generators, but for the end of
// the input, which it passes on as its own.
func (o *assignOp[T]) watermark(wm int64) (bool, error) {
	if wm != math.MaxInt64 || o.gen.emitted == math.MaxInt64 {
		return false, nil
	}
	o.gen.emitted = wm
	if o.gen.idle {
		// An idle channel's watermark is ignored: be active first.
		o.gen.idle = false
		o.ts.statusAfter(o.idx, false)
	}
	o.ts.recordWatermark(wm)
	return false, o.ts.watermarkAfter(o.idx, wm)
}

// watermarkStatus stops the statuses of upstream: the generator has its own.
func (o *assignOp[T]) watermarkStatus(bool) bool { return false }

// watermarkOp is an operator that acts on the watermarks that reach it down
// the chain, after every record before them. It returns whether the
// watermark goes on to what follows it in the chain; an operator without
// this method passes watermarks on untouched.
type watermarkOp interface {
	watermark(wm int64) (pass bool, err error)
}

// statusOp is an operator that acts on watermark statuses; it returns
// whether the status goes on. An operator without it passes them on.
type statusOp interface {
	watermarkStatus(idle bool) (pass bool)
}

// watermarkAt delivers watermark wm to operator i, then, unless it stops
// it, to what follows i in the chain.
func (s *chainState) watermarkAt(i int, wm int64) error {
	if w, ok := s.ops[i].(watermarkOp); ok {
		s.cur = i
		pass, err := w.watermark(wm)
		if err != nil || !pass {
			return err
		}
	}
	return s.watermarkAfter(i, wm)
}

// watermarkAfter delivers watermark wm to what follows operator i: its
// chained successors, depth first, and every channel of its network outputs.
func (s *chainState) watermarkAfter(i int, wm int64) error {
	for _, j := range s.next[i] {
		if err := s.watermarkAt(j, wm); err != nil {
			return err
		}
	}
	for _, w := range s.outs[i] {
		s.cur = i
		w.watermark(wm)
	}
	return nil
}

// statusAt delivers a watermark status to operator i and what follows it.
func (s *chainState) statusAt(i int, idle bool) {
	if w, ok := s.ops[i].(statusOp); ok {
		s.cur = i
		if !w.watermarkStatus(idle) {
			return
		}
	}
	s.statusAfter(i, idle)
}

// statusAfter delivers a watermark status to what follows operator i.
func (s *chainState) statusAfter(i int, idle bool) {
	for _, j := range s.next[i] {
		s.statusAt(j, idle)
	}
	for _, w := range s.outs[i] {
		s.cur = i
		w.status(idle)
	}
}
