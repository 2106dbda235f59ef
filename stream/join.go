package stream

import (
	"fmt"
	"math"
	"time"

	"github.com/sluicehq/sluice/taskmanager/state"
)

// Joins of two keyed streams, built on the keyed co-process operator
// (CoProcess): the buffered records are keyed state, so checkpoints carry
// them and a restore at another parallelism moves them with their key
// group, and event-time timers clean them up once the watermark has passed
// the last time they could join, so memory stays bounded.

// IntervalJoinOption changes how IntervalJoin treats its bounds.
type IntervalJoinOption func(*intervalBounds)

type intervalBounds struct{ lowerExclusive, upperExclusive bool }

// LowerBoundExclusive makes an interval join's lower bound exclusive, as
// Flink's lowerBoundExclusive: b.ts > a.ts + lower.
func LowerBoundExclusive() IntervalJoinOption {
	return func(b *intervalBounds) { b.lowerExclusive = true }
}

// UpperBoundExclusive makes an interval join's upper bound exclusive, as
// Flink's upperBoundExclusive: b.ts < a.ts + upper.
func UpperBoundExclusive() IntervalJoinOption {
	return func(b *intervalBounds) { b.upperExclusive = true }
}

// IntervalJoin joins two keyed streams by event time, as Flink's
// a.intervalJoin(b).between(lower, upper).process(...): for every pair of
// records with equal keys, x of a and y of b, whose timestamps satisfy
//
//	x.ts + lower <= y.ts <= x.ts + upper
//
// it emits fn(x, y), once, when the later of the two arrives. The bounds
// are inclusive unless LowerBoundExclusive or UpperBoundExclusive say
// otherwise, counted in whole milliseconds (truncated), and may be
// negative; lower must not be above upper.
//
// Both streams need timestamps (AssignTimestampsAndWatermarks or
// WithTimestamps): the plan fails otherwise, naming the operator. The
// operator's watermark is the minimum of its inputs'. Each side's records
// are kept in keyed state, per timestamp, until the watermark passes the
// last timestamp the other side could still join them with (x.ts + upper
// for a record of a, y.ts - lower for one of b; at least the record's own
// timestamp); then an event-time timer drops them. A record at or below
// the watermark when it arrives is late: it is dropped and joins nothing,
// as in Flink. The output has no timestamps; give it some with
// WithTimestamps (Flink's would be the later of the pair's two).
//
// Set the operator's name with Name on the result; it is "IntervalJoin" by
// default.
func IntervalJoin[K comparable, A, B, OUT any](a *KeyedStream[K, A], b *KeyedStream[K, B], lower, upper time.Duration, fn func(A, B) OUT, opts ...IntervalJoinOption) *DataStream[OUT] {
	cs := ConnectKeyed(a, b)
	n := coProcessNode[K, A, B, OUT](cs, "intervaljoin", "IntervalJoin")
	tsA := requireInputTimestamps(n, a.s, "first")
	tsB := requireInputTimestamps(n, b.s, "second")
	var bounds intervalBounds
	for _, o := range opts {
		o(&bounds)
	}
	lo, hi := lower.Milliseconds(), upper.Milliseconds()
	if bounds.lowerExclusive {
		lo = satAdd(lo, 1)
	}
	if bounds.upperExclusive {
		hi = satAdd(hi, -1)
	}
	n.checkAtPlan(func() error {
		switch {
		case fn == nil:
			return errorf("operator %q: the join function is nil", n.name)
		case lower > upper:
			return errorf("operator %q: the interval join's lower bound %v is above its upper bound %v", n.name, lower, upper)
		case lo > hi:
			return errorf("operator %q: the interval join's bounds [%v, %v] with exclusive ends hold no whole millisecond", n.name, lower, upper)
		}
		return nil
	})
	n.build = buildCoProcess(cs, func() KeyedCoProcessFunction[K, A, B, OUT] {
		return &intervalJoinFn[K, A, B, OUT]{lower: lo, upper: hi, tsA: tsA, tsB: tsB, fn: fn}
	})
	return streamOf[OUT](n)
}

// satAdd returns a+b, saturated at the int64 range.
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// intervalJoinFn is the interval join as a keyed co-process function:
// Flink's IntervalJoinOperator. Each side's buffer maps a timestamp to the
// records of the key with that timestamp, in arrival order.
type intervalJoinFn[K comparable, A, B, OUT any] struct {
	lower, upper int64 // ms, inclusive
	tsA          func(A) int64
	tsB          func(B) int64
	fn           func(A, B) OUT
	left         *state.Map[int64, []A]
	right        *state.Map[int64, []B]
}

func (f *intervalJoinFn[K, A, B, OUT]) Open(ctx *OpenContext[K]) (err error) {
	if f.left, err = state.NewMap[int64, []A](ctx.b.Backend, "left-buffer"); err != nil {
		return fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	if f.right, err = state.NewMap[int64, []B](ctx.b.Backend, "right-buffer"); err != nil {
		return fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	return nil
}

// Records leave the left buffer at ts + max(upper, 0) and the right one at
// ts + max(-lower, 0), as in Flink. These offsets also take a timer's time
// back to the timestamps it cleans.
func (f *intervalJoinFn[K, A, B, OUT]) leftCleanup() int64  { return max(f.upper, 0) }
func (f *intervalJoinFn[K, A, B, OUT]) rightCleanup() int64 { return max(-f.lower, 0) }

func (f *intervalJoinFn[K, A, B, OUT]) ProcessElement1(ctx *Context[K], a A, out Collector[OUT]) error {
	ts := f.tsA(a)
	if ts <= ctx.CurrentWatermark() {
		return nil // late
	}
	f.left.Put(ts, appendTo(f.left, ts, a))
	lo, hi := satAdd(ts, f.lower), satAdd(ts, f.upper)
	probe(f.right, lo, hi, func(bs []B) {
		for _, b := range bs {
			out.Collect(f.fn(a, b))
		}
	})
	ctx.RegisterEventTimeTimer(satAdd(ts, f.leftCleanup()))
	return nil
}

func (f *intervalJoinFn[K, A, B, OUT]) ProcessElement2(ctx *Context[K], b B, out Collector[OUT]) error {
	ts := f.tsB(b)
	if ts <= ctx.CurrentWatermark() {
		return nil // late
	}
	f.right.Put(ts, appendTo(f.right, ts, b))
	// a joins b if a.ts + lower <= b.ts <= a.ts + upper.
	lo, hi := satAdd(ts, -f.upper), satAdd(ts, -f.lower)
	probe(f.left, lo, hi, func(as []A) {
		for _, a := range as {
			out.Collect(f.fn(a, b))
		}
	})
	ctx.RegisterEventTimeTimer(satAdd(ts, f.rightCleanup()))
	return nil
}

// OnTimer drops what the watermark has made useless: timer t is the
// cleanup time of left records at t - leftCleanup and right records at
// t - rightCleanup (one timer serves both when they coincide).
func (f *intervalJoinFn[K, A, B, OUT]) OnTimer(ctx *TimerContext[K], _ time.Time, _ Collector[OUT]) error {
	t, _ := ctx.Timestamp()
	f.left.Remove(t - f.leftCleanup())
	f.right.Remove(t - f.rightCleanup())
	return nil
}

// appendTo returns the records of m under mk with v appended. Appending in
// place is safe: it never writes within the length of the stored slice,
// which is all a snapshot sees of it (as ListState's Add).
func appendTo[MK comparable, T any](m *state.Map[MK, []T], mk MK, v T) []T {
	old, _ := m.Get(mk)
	return append(old, v)
}

// probe calls match with the records of m, the current key's buffer, whose
// timestamp is in [lo, hi]: by looking up each millisecond when the
// interval is narrower than the buffer has entries, else by a scan.
func probe[T any](m *state.Map[int64, []T], lo, hi int64, match func([]T)) {
	n := m.Len()
	if n == 0 || lo > hi {
		return
	}
	if uint64(hi-lo) < uint64(n) {
		for t := lo; ; t++ {
			if recs, ok := m.Get(t); ok {
				match(recs)
			}
			if t == hi {
				return
			}
		}
	}
	for t, recs := range m.All() {
		if t >= lo && t <= hi {
			match(recs)
		}
	}
}

// JoinWindow joins two keyed streams per event-time window, as Flink's
// a.join(b).where(keyA).equalTo(keyB).window(assigner).apply(fn): when a
// window fires, fn is called for every pair of records x of a and y of b
// with equal keys that both fell into that window (an inner join; a window
// with records on one side only emits nothing). assigner is
// TumblingEventTimeWindows or SlidingEventTimeWindows (with or without
// offset); other assigners fail the plan.
//
// The windows follow the rules of the window operator (see Window): a
// window fires once the operator's watermark, the minimum of its inputs',
// reaches its MaxTimestamp (End-1); a record is added to those of its
// windows that have not fired, and is dropped if all have (it is late).
// Both streams need timestamps. The records of each key and window are
// kept in keyed state (so A and B need codecs when the job takes
// checkpoints) until the window fires, then dropped. The output has no
// timestamps.
func JoinWindow[K comparable, A, B, OUT any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner WindowAssigner, fn func(A, B) OUT) *DataStream[OUT] {
	return windowJoin(a, b, assigner, "windowjoin", "WindowJoin", fn == nil, func(_ TimeWindow, as []A, bs []B, out Collector[OUT]) {
		for _, x := range as {
			for _, y := range bs {
				out.Collect(fn(x, y))
			}
		}
	})
}

// CoGroupWindow groups two keyed streams per event-time window, as Flink's
// a.coGroup(b).where(keyA).equalTo(keyB).window(assigner).apply(fn): when
// a window fires, fn is called once per key with the records of either
// side that fell into the window, in the order they came (as, bs; one may
// be empty, not both). fn must not keep the slices. Windows, lateness and
// state are as JoinWindow's.
func CoGroupWindow[K comparable, A, B, OUT any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner WindowAssigner, fn func(w TimeWindow, as []A, bs []B, out Collector[OUT])) *DataStream[OUT] {
	return windowJoin(a, b, assigner, "windowcogroup", "WindowCoGroup", fn == nil, fn)
}

// windowJoin adds the keyed co-process operator of a window join or
// co-group, which calls fire for each key and window that fires.
func windowJoin[K comparable, A, B, OUT any](a *KeyedStream[K, A], b *KeyedStream[K, B], assigner WindowAssigner, kind, name string, nilFn bool,
	fire func(TimeWindow, []A, []B, Collector[OUT])) *DataStream[OUT] {
	cs := ConnectKeyed(a, b)
	var win windowing
	werr := fmt.Errorf("no window assigner: give %s one, such as TumblingEventTimeWindows(time.Minute)", name)
	if assigner != nil {
		name = name + "(" + assigner.String() + ")"
		win, werr = assigner.windowing()
	}
	n := coProcessNode[K, A, B, OUT](cs, kind, name)
	tsA := requireInputTimestamps(n, a.s, "first")
	tsB := requireInputTimestamps(n, b.s, "second")
	n.checkAtPlan(func() error {
		switch {
		case werr != nil:
			return errorf("operator %q: %v", n.name, werr)
		case win.domain != EventTime || win.kind == session:
			return errorf("operator %q: a window join takes tumbling or sliding event-time windows, not %s", n.name, assigner)
		case nilFn:
			return errorf("operator %q: the join function is nil", n.name)
		}
		return nil
	})
	n.build = buildCoProcess(cs, func() KeyedCoProcessFunction[K, A, B, OUT] {
		return &windowJoinFn[K, A, B, OUT]{win: win, tsA: tsA, tsB: tsB, fire: fire}
	})
	return streamOf[OUT](n)
}

// windowJoinFn is a window join or co-group as a keyed co-process function:
// per key and window, the records of each side, and an event-time timer at
// the window's MaxTimestamp. All windows of one assigner have its size, so
// a timer's time gives its window back.
type windowJoinFn[K comparable, A, B, OUT any] struct {
	win   windowing
	tsA   func(A) int64
	tsB   func(B) int64
	fire  func(TimeWindow, []A, []B, Collector[OUT])
	left  *state.Map[TimeWindow, []A]
	right *state.Map[TimeWindow, []B]
	wins  []TimeWindow // the windows of the record at hand
}

func (f *windowJoinFn[K, A, B, OUT]) Open(ctx *OpenContext[K]) (err error) {
	if f.left, err = state.NewMap[TimeWindow, []A](ctx.b.Backend, "left-windows"); err != nil {
		return fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	if f.right, err = state.NewMap[TimeWindow, []B](ctx.b.Backend, "right-windows"); err != nil {
		return fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	return nil
}

func (f *windowJoinFn[K, A, B, OUT]) ProcessElement1(ctx *Context[K], a A, _ Collector[OUT]) error {
	f.wins = f.win.assign(f.tsA(a), f.wins[:0])
	wm := ctx.CurrentWatermark()
	for _, w := range f.wins {
		if at := w.MaxTimestamp(); at > wm { // else the window has fired: late
			f.left.Put(w, appendTo(f.left, w, a))
			ctx.RegisterEventTimeTimer(at)
		}
	}
	return nil
}

func (f *windowJoinFn[K, A, B, OUT]) ProcessElement2(ctx *Context[K], b B, _ Collector[OUT]) error {
	f.wins = f.win.assign(f.tsB(b), f.wins[:0])
	wm := ctx.CurrentWatermark()
	for _, w := range f.wins {
		if at := w.MaxTimestamp(); at > wm {
			f.right.Put(w, appendTo(f.right, w, b))
			ctx.RegisterEventTimeTimer(at)
		}
	}
	return nil
}

// OnTimer fires the key's window that ends at the timer and drops it.
func (f *windowJoinFn[K, A, B, OUT]) OnTimer(ctx *TimerContext[K], _ time.Time, out Collector[OUT]) error {
	at, _ := ctx.Timestamp()
	w := TimeWindow{Start: at + 1 - f.win.size, End: at + 1}
	as, _ := f.left.Get(w)
	bs, _ := f.right.Get(w)
	f.left.Remove(w)
	f.right.Remove(w)
	if len(as) > 0 || len(bs) > 0 {
		f.fire(w, as, bs, out)
	}
	return nil
}
