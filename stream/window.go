package stream

import (
	"errors"
	"iter"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/taskmanager/state"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Windows.
//
// Window(keyed, assigner) makes a WindowedStream; WindowReduce,
// WindowAggregate, WindowProcess and the combined WindowReduceProcess and
// WindowAggregateProcess turn it into one keyed operator, windowOp, as
// Flink's WindowOperator with its default triggers:
//
//   - An event-time window fires when the watermark reaches its
//     MaxTimestamp (End-1), then once more for every late record that
//     still finds it, until the watermark reaches MaxTimestamp plus the
//     allowed lateness, when its state is purged. A record all of whose
//     windows are purged already is late: it goes to the late-data side
//     output, if there is one, or is dropped.
//   - A processing-time window fires, and is purged, when the wall clock
//     reaches its End. At the end of a bounded input the windows still
//     pending fire (where Flink drops pending processing-time timers).
//
// State: one keyed map state from the window ("_windows", by its start,
// for windows of one size; "_sessions", by the whole window) to what the
// window keeps: the accumulator of a
// reduce or aggregate (one value per key and window, whatever the number
// of records), or the records themselves for a process function. A
// window's state is purged when it ends (with allowed lateness, after it),
// and a key's map is dropped with its last window, so the state stays
// bounded on an unbounded stream; checkpoints carry it.
//
// Firing. Tumbling and sliding windows without allowed lateness fire and
// are purged at one time, and are never made again once purged (a record
// for them would be late). They need no timers: windowFirings indexes, per
// firing time (MaxTimestamp, or End in processing time), the keys with a
// window then, and a restore rebuilds it from the windows in state. With
// allowed lateness, and for sessions, the operator registers timers with
// the timer service ("_timers", checkpointed with the state): one at
// MaxTimestamp to fire (event time) and, with allowed lateness, one at the
// cleanup time to purge; End in processing time. For windows of one size a
// firing time names its window (Start = End - size), so firing costs a map
// lookup, not a scan of the key's windows.
//
// Session windows merge: a record opens [t, t+gap), which absorbs every
// window of its key it overlaps or touches. The merged window's contents
// are those of its parts merged in start order (the reduce function, the
// aggregate's Merge, or the records one after the other), stored under the
// merged window; the timers of the parts that no remaining window needs
// are deleted.

// The keyed state of a window operator's contents: windows of one size by
// their start, or sessions. The names differ so that a savepoint of one
// cannot be restored into the other. (So does the number of states of an
// operator with and without timers: changing the allowed lateness to or
// from zero makes a savepoint unrestorable, with an error.)
const (
	windowStateName  = "_windows"
	sessionStateName = "_sessions"
)

// WindowedStream is a keyed stream with a window assigner, to be turned
// into a window operator by WindowReduce, WindowAggregate, WindowProcess,
// WindowReduceProcess or WindowAggregateProcess.
//
// The operator's output has no timestamps (its records are the window
// function's): to run event-time operators after it, give them one with
// WithTimestamps, typically from a field that holds the window's end
// (Flink stamps window results with the window's MaxTimestamp, End-1). A
// window emits its results before it passes on the watermark that fired
// it, so such a timestamp is never late downstream, but for late firings.
type WindowedStream[K comparable, T any] struct {
	ks       *KeyedStream[K, T]
	assigner WindowAssigner
	lateness time.Duration
	lateTag  *OutputTag[T]
}

// Window groups the records of each key of ks into the windows that
// assigner gives them. An event-time assigner needs timestamps on ks (see
// AssignTimestampsAndWatermarks); the plan fails without them.
func Window[K comparable, T any](ks *KeyedStream[K, T], assigner WindowAssigner) *WindowedStream[K, T] {
	return &WindowedStream[K, T]{ks: ks, assigner: assigner}
}

// AllowedLateness keeps the state of event-time windows for d after they
// fired, as Flink's allowedLateness: a record for such a window that comes
// later (its timestamp is below the watermark) is added to it and the
// window fires again with it. Records later still are late (see
// SideOutputLateData). The default is 0. It applies to event-time windows
// only.
func (ws *WindowedStream[K, T]) AllowedLateness(d time.Duration) *WindowedStream[K, T] {
	ws.lateness = d
	return ws
}

// SideOutputLateData sends the late records, those whose every window was
// purged (see AllowedLateness), to the side output tag of the window
// operator; read them with SideOutput(result, tag). Without it they are
// dropped. They keep their timestamps. It applies to event-time windows
// only.
func (ws *WindowedStream[K, T]) SideOutputLateData(tag OutputTag[T]) *WindowedStream[K, T] {
	ws.lateTag = &tag
	return ws
}

// WindowContext is given to a ProcessWindowFunction: the key and window
// that fire.
type WindowContext[K comparable] struct {
	key       K
	window    TimeWindow
	watermark int64
}

// Key returns the key of the window.
func (c *WindowContext[K]) Key() K { return c.key }

// Window returns the window that fires.
func (c *WindowContext[K]) Window() TimeWindow { return c.window }

// CurrentWatermark returns the operator's watermark, in milliseconds since
// the epoch (math.MinInt64 before the first): at least the window's
// MaxTimestamp when an event-time window fires on time.
func (c *WindowContext[K]) CurrentWatermark() int64 { return c.watermark }

// CurrentProcessingTime returns the wall clock.
func (c *WindowContext[K]) CurrentProcessingTime() time.Time { return time.Now() }

// ProcessWindowFunction computes the results of a window that fires from
// its contents, as Flink's ProcessWindowFunction: with WindowProcess,
// elements are the window's records in the order they came (for a merged
// session, its parts in start order); with WindowReduceProcess and
// WindowAggregateProcess, the one pre-aggregated value. Neither elements
// nor its records may be kept or changed after the call. A non-nil error
// fails the task.
type ProcessWindowFunction[K comparable, IN, OUT any] func(ctx *WindowContext[K], elements []IN, out Collector[OUT]) error

// MergingAggregateFunction is an AggregateFunction whose accumulators can
// be merged, as session windows need: WindowAggregate on session windows
// requires one. Merge returns the accumulator of the values of a and b
// together, without changing either in place.
type MergingAggregateFunction[IN, ACC, OUT any] interface {
	AggregateFunction[IN, ACC, OUT]
	Merge(a, b ACC) ACC
}

// WindowReduce combines the records of each key and window with reduce
// and emits the result when the window fires. Only the combined value is
// kept per key and window. reduce must not change memory its arguments
// refer to (return a new value), as for NewReducingState.
func WindowReduce[K comparable, T any](ws *WindowedStream[K, T], reduce func(a, b T) T) *DataStream[T] {
	return windowed(ws, windowFns[K, T, T, T]{
		what: "Reduce", check: nilFn("reduce function", reduce == nil),
		add:   reduceAdd(reduce),
		merge: reduce,
		newFire: func() fireFunc[K, T, T] {
			return func(_ *WindowContext[K], acc T, out Collector[T]) error { out.Collect(acc); return nil }
		},
	})
}

// WindowReduceProcess combines the records of each key and window with
// reduce, as WindowReduce, and when the window fires calls fn with the
// combined value (as the one element) and the window: Flink's
// reduce(reduceFunction, processWindowFunction).
func WindowReduceProcess[K comparable, T, OUT any](ws *WindowedStream[K, T], reduce func(a, b T) T, fn ProcessWindowFunction[K, T, OUT]) *DataStream[OUT] {
	return windowed(ws, windowFns[K, T, T, OUT]{
		what: "Reduce, Process", check: nilFn("reduce or process window function", reduce == nil || fn == nil),
		add:     reduceAdd(reduce),
		merge:   reduce,
		newFire: func() fireFunc[K, T, OUT] { return processOne(fn) },
	})
}

// WindowAggregate folds the records of each key and window into an
// accumulator with agg and emits agg.GetResult when the window fires. Only
// the accumulator is kept per key and window (and checkpointed, so ACC
// needs a codec when the job takes checkpoints). Session windows need agg
// to be a MergingAggregateFunction.
func WindowAggregate[K comparable, T, ACC, OUT any](ws *WindowedStream[K, T], agg AggregateFunction[T, ACC, OUT]) *DataStream[OUT] {
	return windowed(ws, windowFns[K, T, ACC, OUT]{
		what: "Aggregate", check: nilFn("aggregate function", agg == nil),
		add:   aggregateAdd(agg),
		merge: aggregateMerge(agg),
		newFire: func() fireFunc[K, ACC, OUT] {
			return func(_ *WindowContext[K], acc ACC, out Collector[OUT]) error {
				out.Collect(agg.GetResult(acc))
				return nil
			}
		},
	})
}

// WindowAggregateProcess folds the records of each key and window with
// agg, as WindowAggregate, and when the window fires calls fn with
// agg.GetResult (as the one element) and the window: Flink's
// aggregate(aggregateFunction, processWindowFunction), for results that
// need the window or the key.
func WindowAggregateProcess[K comparable, T, ACC, A, OUT any](ws *WindowedStream[K, T], agg AggregateFunction[T, ACC, A], fn ProcessWindowFunction[K, A, OUT]) *DataStream[OUT] {
	return windowed(ws, windowFns[K, T, ACC, OUT]{
		what: "Aggregate, Process", check: nilFn("aggregate or process window function", agg == nil || fn == nil),
		add:   aggregateAdd(agg),
		merge: aggregateMerge(agg),
		newFire: func() fireFunc[K, ACC, OUT] {
			one := processOne(fn)
			return func(ctx *WindowContext[K], acc ACC, out Collector[OUT]) error {
				return one(ctx, agg.GetResult(acc), out)
			}
		},
	})
}

// WindowProcess keeps the records of each key and window and calls fn with
// them when the window fires. It keeps every record (in each of its
// windows, for sliding windows); prefer WindowAggregateProcess when the
// result can be computed incrementally. T needs a codec when the job takes
// checkpoints.
func WindowProcess[K comparable, T, OUT any](ws *WindowedStream[K, T], fn ProcessWindowFunction[K, T, OUT]) *DataStream[OUT] {
	return windowed(ws, windowFns[K, T, []T, OUT]{
		what: "Process", check: nilFn("process window function", fn == nil),
		// Appending never writes within the length of a stored list, which
		// is all a snapshot sees of it (as ListState's Add).
		add:   func(acc []T, _ bool, v T) []T { return append(acc, v) },
		merge: func(a, b []T) []T { return slices.Concat(a, b) },
		newFire: func() fireFunc[K, []T, OUT] {
			return func(ctx *WindowContext[K], acc []T, out Collector[OUT]) error { return fn(ctx, acc, out) }
		},
	})
}

// fireFunc emits the results of a window from its contents.
type fireFunc[K comparable, ACC, OUT any] func(ctx *WindowContext[K], acc ACC, out Collector[OUT]) error

// windowFns is what makes a window operator of one kind: how a record
// goes into a window's contents, how the contents of two windows merge, and
// how a firing window emits.
type windowFns[K comparable, T, ACC, OUT any] struct {
	what string // for the operator's name
	// check reports a function that is missing.
	check func(op string) error
	// add returns acc with v added; had is false for a window's first
	// record (acc is then the zero value).
	add func(acc ACC, had bool, v T) ACC
	// merge returns the contents of two windows together; nil when they
	// cannot merge (an AggregateFunction without Merge).
	merge func(a, b ACC) ACC
	// newFire makes a subtask's fireFunc.
	newFire func() fireFunc[K, ACC, OUT]
}

func nilFn(what string, missing bool) func(op string) error {
	return func(op string) error {
		if missing {
			return errorf("operator %q: the %s is nil", op, what)
		}
		return nil
	}
}

func reduceAdd[T any](reduce func(a, b T) T) func(T, bool, T) T {
	return func(acc T, had bool, v T) T {
		if !had {
			return v
		}
		return reduce(acc, v)
	}
}

func aggregateAdd[T, ACC, OUT any](agg AggregateFunction[T, ACC, OUT]) func(ACC, bool, T) ACC {
	return func(acc ACC, had bool, v T) ACC {
		if !had {
			acc = agg.CreateAccumulator()
		}
		return agg.Add(v, acc)
	}
}

func aggregateMerge[T, ACC, OUT any](agg AggregateFunction[T, ACC, OUT]) func(a, b ACC) ACC {
	if m, ok := agg.(MergingAggregateFunction[T, ACC, OUT]); ok {
		return m.Merge
	}
	return nil
}

// processOne calls fn with one pre-aggregated element, from a buffer
// reused for every call.
func processOne[K comparable, A, OUT any](fn ProcessWindowFunction[K, A, OUT]) fireFunc[K, A, OUT] {
	one := make([]A, 1)
	return func(ctx *WindowContext[K], a A, out Collector[OUT]) error {
		one[0] = a
		err := fn(ctx, one, out)
		clear(one)
		return err
	}
}

// windowed adds the window operator of ws made of f.
func windowed[K comparable, T, ACC, OUT any](ws *WindowedStream[K, T], f windowFns[K, T, ACC, OUT]) *DataStream[OUT] {
	name := "Window(" + f.what + ")"
	var win windowing
	werr := errors.New("no window assigner: give Window one, such as TumblingEventTimeWindows(time.Minute)")
	if ws.assigner != nil {
		name = "Window(" + ws.assigner.String() + ", " + f.what + ")"
		win, werr = ws.assigner.windowing()
	}
	n := keyedNode[K, T, OUT](ws.ks, "window", name)
	var extract func(T) int64
	if ws.assigner != nil && win.domain == EventTime {
		extract = requireTimestamps(n, ws.ks.s)
	}
	lateness, lateTag := ws.lateness, ws.lateTag
	n.checkAtPlan(func() error {
		switch {
		case werr != nil:
			return errorf("operator %q: %v", n.name, werr)
		case lateness < 0:
			return errorf("operator %q: allowed lateness %v must not be negative", n.name, lateness)
		case lateness%time.Millisecond != 0:
			return errorf("operator %q: allowed lateness %v must be a whole number of milliseconds", n.name, lateness)
		case win.domain == ProcessingTime && lateness > 0:
			return errorf("operator %q: allowed lateness is for event-time windows; processing-time windows have no late records", n.name)
		case win.domain == ProcessingTime && lateTag != nil:
			return errorf("operator %q: a side output for late data is for event-time windows; processing-time windows have no late records", n.name)
		case win.kind == session && f.merge == nil:
			return errorf("operator %q: session windows merge, and so must their accumulators: the AggregateFunction must implement MergingAggregateFunction (a Merge method)", n.name)
		}
		return f.check(n.name)
	})
	if lateTag != nil {
		declareSideOutput(n, *lateTag, ws.ks.s.ts)
	}
	key := ws.ks.key
	n.build = func(c *opContext, out any) (any, error) {
		b, err := newBackend[K](c)
		if err != nil {
			return nil, err
		}
		var timers *timerService[K]
		var firings *windowFirings[K]
		if win.kind == session || lateness > 0 {
			if timers, err = newTimerService(b); err != nil {
				return nil, err
			}
		} else {
			firings = &windowFirings[K]{keys: map[int64][]K{}}
		}
		contents, err := newWindowContents[ACC](b, win)
		if err != nil {
			return nil, err
		}
		o := &windowOp[K, T, ACC, OUT]{
			ts: c.chain, idx: c.idx, prev: c.prev, key: key, extract: extract,
			win: win, lateness: lateness.Milliseconds(),
			b: b, contents: contents, timers: timers, firings: firings,
			add: f.add, merge: f.merge, fire: f.newFire(),
			em: newEmitter[OUT](c, out), wm: math.MinInt64,
		}
		o.ctx.watermark = math.MinInt64
		if lateTag != nil {
			o.late = &emitter[T]{ts: c.chain, idx: c.idx, out: sideOutputOf[T](c, lateTag.name)}
		}
		o.onEventTimer = func(at int64) error { return o.onTimer(EventTime, at) }
		o.onProcTimer = func(at int64) error { return o.onTimer(ProcessingTime, at) }
		return o, nil
	}
	return streamOf[OUT](n)
}

// windowContents is the state of the windows' contents: per key, the
// contents of each of its windows. Windows of one size (tumbling, sliding)
// are found by their start, in a map of int64 keys (Go's fast path);
// session windows, of any size, by the whole window.
type windowContents[ACC any] struct {
	size     int64                  // of tumbling and sliding windows
	byStart  *state.Map[int64, ACC] // nil for sessions
	byWindow *state.Map[TimeWindow, ACC]
}

func newWindowContents[ACC any, K comparable](b *keyedBackend[K], win windowing) (c windowContents[ACC], err error) {
	if win.kind == session {
		c.byWindow, err = state.NewMap[TimeWindow, ACC](b.Backend, sessionStateName)
	} else {
		c.size = win.size
		c.byStart, err = state.NewMap[int64, ACC](b.Backend, windowStateName)
	}
	return c, err
}

func (c *windowContents[ACC]) get(w TimeWindow) (ACC, bool) {
	if c.byStart != nil {
		return c.byStart.Get(w.Start)
	}
	return c.byWindow.Get(w)
}

func (c *windowContents[ACC]) put(w TimeWindow, acc ACC) {
	if c.byStart != nil {
		c.byStart.Put(w.Start, acc)
	} else {
		c.byWindow.Put(w, acc)
	}
}

func (c *windowContents[ACC]) remove(w TimeWindow) {
	if c.byStart != nil {
		c.byStart.Remove(w.Start)
	} else {
		c.byWindow.Remove(w)
	}
}

func (c *windowContents[ACC]) len() int {
	if c.byStart != nil {
		return c.byStart.Len()
	}
	return c.byWindow.Len()
}

// clear drops the current key's map, once it is empty.
func (c *windowContents[ACC]) clear() {
	if c.byStart != nil {
		c.byStart.Clear()
	} else {
		c.byWindow.Clear()
	}
}

// all yields the current key's windows.
func (c *windowContents[ACC]) all() iter.Seq[TimeWindow] {
	return func(yield func(TimeWindow) bool) {
		if c.byStart == nil {
			for w := range c.byWindow.All() {
				if !yield(w) {
					return
				}
			}
			return
		}
		for start := range c.byStart.All() {
			if !yield(TimeWindow{start, addSat(start, c.size)}) {
				return
			}
		}
	}
}

// windowStateHook, when tests set it, is called by every window operator
// subtask after it acts on a watermark or processing-time timers, with the
// operator's name, the number of (key, window) pairs in its state and its
// backend's estimated bytes.
var windowStateHook atomic.Pointer[func(op string, pairs int, bytes int64)]

// windowOp is one subtask of a window operator. ACC is what a window keeps:
// a reduce's value, an aggregate's accumulator, or the records ([]T).
type windowOp[K comparable, T, ACC, OUT any] struct {
	ts        *chainState
	idx, prev int
	key       func(T) K
	extract   func(T) int64 // nil: processing time
	win       windowing
	lateness  int64 // ms
	b         *keyedBackend[K]
	contents  windowContents[ACC]
	timers    *timerService[K]  // for sessions and allowed lateness; else nil
	firings   *windowFirings[K] // for the others; else nil
	add       func(acc ACC, had bool, v T) ACC
	merge     func(a, b ACC) ACC
	fire      fireFunc[K, ACC, OUT]
	em        *emitter[OUT]
	late      *emitter[T] // nil: late records are dropped
	ctx       WindowContext[K]
	wm        int64

	onEventTimer, onProcTimer func(at int64) error

	wins    []TimeWindow // the windows of the record being added
	due     []TimeWindow // the windows a timer acts on
	merging []TimeWindow // the windows a session record merges
	pairs   int          // (key, window) pairs in state
}

func (o *windowOp[K, T, ACC, OUT]) push(in []T) {
	o.ts.cur = o.idx
	var now int64
	if o.extract == nil {
		now = time.Now().UnixMilli()
	}
	for i := range in {
		o.b.setKey(o.key(in[i]))
		t := now
		if o.extract != nil {
			t = o.extract(in[i])
		}
		if o.win.kind == session {
			o.addToSession(in[i], t)
			continue
		}
		o.wins = o.win.assign(t, o.wins[:0])
		placed := false
		for _, w := range o.wins {
			if o.isLate(w) {
				continue
			}
			placed = true
			o.addTo(w, in[i])
		}
		if !placed && o.late != nil {
			o.late.Collect(in[i])
		}
	}
	o.em.emit()
	if o.late != nil {
		o.late.emit()
	}
	o.ts.cur = o.prev
}

// isLate reports whether window w of an event-time operator is purged
// already, or would be at once: the watermark reached its cleanup time.
func (o *windowOp[K, T, ACC, OUT]) isLate(w TimeWindow) bool {
	return o.extract != nil && o.cleanupTime(w) <= o.wm
}

// cleanupTime is when an event-time window's state is purged.
func (o *windowOp[K, T, ACC, OUT]) cleanupTime(w TimeWindow) int64 {
	return addSat(w.MaxTimestamp(), o.lateness)
}

// procTimerAt is the processing-time timer of window w, in Unix
// nanoseconds: its End.
func procTimerAt(w TimeWindow) int64 {
	if w.End > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return w.End * int64(time.Millisecond)
}

// addTo adds v to window w of the current key.
func (o *windowOp[K, T, ACC, OUT]) addTo(w TimeWindow, v T) {
	acc, had := o.contents.get(w)
	acc = o.add(acc, had, v)
	o.contents.put(w, acc)
	if !had {
		o.pairs++
		o.registerTimers(w)
	}
	o.fireIfPassed(w, acc)
}

// fireIfPassed fires event-time window w at once if the watermark passed
// it already: a late firing.
func (o *windowOp[K, T, ACC, OUT]) fireIfPassed(w TimeWindow, acc ACC) {
	if o.extract != nil && w.MaxTimestamp() <= o.wm {
		if err := o.fireWindow(w, acc); err != nil {
			fail(err)
		}
	}
}

// registerTimers registers the timers of a new window of the current key.
func (o *windowOp[K, T, ACC, OUT]) registerTimers(w TimeWindow) {
	if o.firings != nil {
		o.firings.add(o.fireTime(w), o.b.CurrentKey())
		return
	}
	if o.extract == nil {
		o.timers.register(ProcessingTime, procTimerAt(w))
		return
	}
	if w.MaxTimestamp() > o.wm { // else it fires at once, as a late firing
		o.timers.register(EventTime, w.MaxTimestamp())
	}
	if c := o.cleanupTime(w); c != w.MaxTimestamp() {
		o.timers.register(EventTime, c)
	}
}

// fireTime is when window w fires: its MaxTimestamp in event time, its
// End (in nanoseconds) in processing time.
func (o *windowOp[K, T, ACC, OUT]) fireTime(w TimeWindow) int64 {
	if o.extract == nil {
		return procTimerAt(w)
	}
	return w.MaxTimestamp()
}

// addToSession adds v, at time t, to the session windows of the current
// key, merging the windows [t, t+gap) overlaps or touches.
func (o *windowOp[K, T, ACC, OUT]) addToSession(v T, t int64) {
	o.wins = o.win.assign(t, o.wins[:0])
	merged := o.wins[0]
	o.merging = o.merging[:0]
	if o.contents.len() > 0 {
		for w := range o.contents.all() {
			if w.intersects(o.wins[0]) {
				merged = merged.cover(w)
				o.merging = append(o.merging, w)
			}
		}
	}
	if o.isLate(merged) {
		// Windows whose cleanup time passed are purged, so nothing merged.
		if o.late != nil {
			o.late.Collect(v)
		}
		return
	}
	if len(o.merging) == 0 || len(o.merging) == 1 && o.merging[0] == merged {
		o.addTo(merged, v)
		return
	}
	slices.SortFunc(o.merging, compareWindows)
	var acc ACC
	for i, w := range o.merging {
		a, _ := o.contents.get(w)
		if i == 0 {
			acc = a
		} else {
			acc = o.merge(acc, a)
		}
		o.contents.remove(w)
		o.pairs--
	}
	acc = o.add(acc, true, v)
	o.contents.put(merged, acc)
	o.pairs++
	for _, w := range o.merging {
		o.dropTimers(w)
	}
	o.registerTimers(merged)
	o.fireIfPassed(merged, acc)
}

// dropTimers deletes the timers of window w, merged away, that no window
// of the current key needs.
func (o *windowOp[K, T, ACC, OUT]) dropTimers(w TimeWindow) {
	if o.extract == nil {
		if at := procTimerAt(w); !o.timerNeeded(ProcessingTime, at) {
			o.timers.delete(ProcessingTime, at)
		}
		return
	}
	for _, at := range [2]int64{w.MaxTimestamp(), o.cleanupTime(w)} {
		if !o.timerNeeded(EventTime, at) {
			o.timers.delete(EventTime, at)
		}
	}
}

// timerNeeded reports whether a window of the current key has a timer at.
func (o *windowOp[K, T, ACC, OUT]) timerNeeded(d TimeDomain, at int64) bool {
	for w := range o.contents.all() {
		if o.timerOf(d, w, at) {
			return true
		}
	}
	return false
}

// timerOf reports whether at is a timer of window w.
func (o *windowOp[K, T, ACC, OUT]) timerOf(d TimeDomain, w TimeWindow, at int64) bool {
	if d == ProcessingTime {
		return procTimerAt(w) == at
	}
	return w.MaxTimestamp() == at || o.cleanupTime(w) == at
}

// onTimer acts on a timer of the current key at time at: it fires the
// windows whose timer it is and purges those whose state it ends.
func (o *windowOp[K, T, ACC, OUT]) onTimer(d TimeDomain, at int64) error {
	if o.win.kind == session || at >= math.MaxInt64-o.win.size-o.lateness-1 {
		// Windows at the end of time may have a saturated End, which
		// their start does not give: look at them all.
		o.due = o.due[:0]
		for w := range o.contents.all() {
			if o.timerOf(d, w, at) {
				o.due = append(o.due, w)
			}
		}
		slices.SortFunc(o.due, compareWindows)
		for _, w := range o.due {
			if err := o.act(d, w, at); err != nil {
				return err
			}
		}
		return nil
	}
	// Tumbling and sliding windows have one size, so a time names the
	// window it fires or purges.
	size := o.win.size
	if d == ProcessingTime {
		end := at / int64(time.Millisecond)
		return o.act(d, TimeWindow{end - size, end}, at)
	}
	if o.lateness > 0 {
		end := at - o.lateness + 1 // the window this timer purges
		if err := o.act(d, TimeWindow{end - size, end}, at); err != nil {
			return err
		}
	}
	return o.act(d, TimeWindow{at + 1 - size, at + 1}, at) // the window it fires
}

// act fires and purges window w of the current key as its timer at says.
func (o *windowOp[K, T, ACC, OUT]) act(d TimeDomain, w TimeWindow, at int64) error {
	acc, ok := o.contents.get(w)
	if !ok {
		return nil
	}
	fire, purge := true, true
	if d == EventTime {
		fire, purge = w.MaxTimestamp() == at, o.cleanupTime(w) == at
	}
	if fire {
		if err := o.fireWindow(w, acc); err != nil {
			return err
		}
	}
	if purge {
		o.contents.remove(w)
		o.pairs--
		if o.contents.len() == 0 {
			o.contents.clear() // drop the key's empty map
		}
	}
	return nil
}

// fireWindow emits the result of window w of the current key.
func (o *windowOp[K, T, ACC, OUT]) fireWindow(w TimeWindow, acc ACC) error {
	o.ctx.key, o.ctx.window, o.ctx.watermark = o.b.CurrentKey(), w, o.wm
	return o.fire(&o.ctx, acc, o.em)
}

// watermark fires the event-time windows the watermark reached, and
// purges those whose lateness it passed, before the watermark goes on.
func (o *windowOp[K, T, ACC, OUT]) watermark(wm int64) (bool, error) {
	o.wm = wm
	if o.extract != nil {
		if err := o.fireDue(EventTime, wm); err != nil {
			return false, err
		}
		o.em.emit()
	}
	o.reportState()
	return true, nil
}

func (o *windowOp[K, T, ACC, OUT]) reportState() {
	if h := windowStateHook.Load(); h != nil {
		(*h)(o.b.op, o.pairs, o.b.EstimatedBytes())
	}
}

func (o *windowOp[K, T, ACC, OUT]) hasTimers() bool { return o.extract == nil }

func (o *windowOp[K, T, ACC, OUT]) nextTimer() (int64, bool) {
	if o.firings != nil {
		return o.firings.next()
	}
	return o.timers.next(ProcessingTime)
}

func (o *windowOp[K, T, ACC, OUT]) fireTimers(now int64) error {
	o.ts.cur = o.idx
	if err := o.fireDue(ProcessingTime, now); err != nil {
		return err
	}
	o.em.emit()
	o.reportState()
	return nil
}

// finish fires the pending processing-time windows at the end of a bounded
// input, so that its last records are not lost. (Event-time windows have
// all fired: the watermark reached the end of time.)
func (o *windowOp[K, T, ACC, OUT]) finish() error {
	if o.extract != nil {
		return nil
	}
	o.ts.cur = o.idx
	if err := o.fireDue(ProcessingTime, math.MaxInt64); err != nil {
		return err
	}
	o.em.emit()
	return nil
}

func (o *windowOp[K, T, ACC, OUT]) snapshot() ([]byte, task.FrozenState, error) {
	return o.b.snapshot()
}

func (o *windowOp[K, T, ACC, OUT]) restore(snaps [][]byte) error {
	if o.timers != nil {
		if err := o.timers.restore(snaps); err != nil {
			return err
		}
	} else if err := o.b.restore(snaps); err != nil {
		return err
	}
	o.pairs = 0
	for k := range o.b.AllKeys() {
		if err := o.b.SetCurrentKey(k); err != nil {
			return err
		}
		o.pairs += o.contents.len()
		if o.firings != nil {
			// Without allowed lateness a window in state has not fired.
			for w := range o.contents.all() {
				o.firings.add(o.fireTime(w), k)
			}
		}
	}
	return nil
}

// fireDue fires the windows due at now, in the domain of the operator's
// windows: now is a watermark or a wall-clock time in nanoseconds.
func (o *windowOp[K, T, ACC, OUT]) fireDue(d TimeDomain, now int64) error {
	if o.firings == nil {
		on := o.onEventTimer
		if d == ProcessingTime {
			on = o.onProcTimer
		}
		return o.timers.fire(d, now, on)
	}
	for {
		at, ok := o.firings.next()
		if !ok || at > now {
			return nil
		}
		keys := o.firings.pop()
		for _, k := range keys {
			if err := o.b.SetCurrentKey(k); err != nil {
				return err
			}
			if err := o.onTimer(d, at); err != nil {
				return err
			}
		}
		o.firings.recycle(keys)
	}
}

// windowFirings is when the windows of an operator without sessions or
// allowed lateness fire, in place of timers: per time (a window's
// MaxTimestamp in event time, its End in nanoseconds in processing time)
// the keys that have a window then. Such a window fires and is purged at
// once, and is never made again (a record for it would be late), so each
// (key, window) is added once, and a restore rebuilds the index from the
// windows in state. A new window costs an append, where a timer would cost
// a heap insertion, a map entry and the timers' keyed state.
type windowFirings[K comparable] struct {
	times []int64       // min-heap of the times in keys
	keys  map[int64][]K // by time, in the order they came
	spare [][]K         // emptied key lists, for reuse
}

// add adds key k's window at time t.
func (f *windowFirings[K]) add(t int64, k K) {
	ks, ok := f.keys[t]
	if !ok {
		f.push(t)
		if n := len(f.spare); n > 0 {
			ks, f.spare = f.spare[n-1], f.spare[:n-1]
		}
	}
	f.keys[t] = append(ks, k)
}

// next returns the earliest time.
func (f *windowFirings[K]) next() (int64, bool) {
	if len(f.times) == 0 {
		return 0, false
	}
	return f.times[0], true
}

// pop removes the earliest time and returns its keys, to hand back with
// recycle once used.
func (f *windowFirings[K]) pop() []K {
	h := f.times
	t := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && h[c+1] < h[c] {
			c++
		}
		if h[i] <= h[c] {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	f.times = h
	ks := f.keys[t]
	delete(f.keys, t)
	return ks
}

func (f *windowFirings[K]) push(t int64) {
	h := append(f.times, t)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p] <= h[i] {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	f.times = h
}

func (f *windowFirings[K]) recycle(ks []K) {
	clear(ks)
	f.spare = append(f.spare, ks[:0])
}
