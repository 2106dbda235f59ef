package stream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/state"
)

// TimeDomain is the clock a timer follows.
type TimeDomain uint8

const (
	// ProcessingTime is the wall clock of the machine that runs the
	// operator. Its timers are time.Time values, kept to the nanosecond.
	ProcessingTime TimeDomain = iota
	// EventTime is the time of the records, as watermarks advance it. Its
	// timers are milliseconds since the epoch, like record timestamps.
	EventTime
	numDomains
)

func (d TimeDomain) String() string {
	switch d {
	case ProcessingTime:
		return "processing time"
	case EventTime:
		return "event time"
	}
	return fmt.Sprintf("TimeDomain(%d)", uint8(d))
}

// TimerHandler is implemented by a KeyedProcessFunction that uses timers.
// Only such a function may register timers; the operator checkpoints them
// with its keyed state.
type TimerHandler[K comparable, OUT any] interface {
	// OnTimer is called when a timer is due, t being the time it was
	// registered for: for an event-time timer (ctx.TimeDomain() is
	// EventTime), time.UnixMilli of its timestamp, which t.UnixMilli()
	// gives back. ctx.Key() is the key that registered it, states read
	// and write that key's values, and ctx can register and delete that
	// key's timers. out is the same collector ProcessElement emits to.
	OnTimer(ctx *TimerContext[K], t time.Time, out Collector[OUT]) error
}

// TimerContext is given to TimerHandler.OnTimer. It has the methods of
// Context, for the key of the timer.
type TimerContext[K comparable] struct {
	Context[K]
	domain TimeDomain
	at     int64 // the timer's time: ms for event time, ns for processing time
}

// TimeDomain returns the clock of the timer that fired.
func (c *TimerContext[K]) TimeDomain() TimeDomain { return c.domain }

// Timestamp returns, for an event-time timer, its timestamp in milliseconds
// since the epoch, as Flink's OnTimerContext.timestamp; for a
// processing-time timer, false.
func (c *TimerContext[K]) Timestamp() (int64, bool) {
	if c.domain == EventTime {
		return c.at, true
	}
	return 0, false
}

// CurrentProcessingTime returns the processing time: the wall clock.
func (c *Context[K]) CurrentProcessingTime() time.Time { return time.Now() }

// RegisterProcessingTimeTimer asks for OnTimer to be called for the
// current key once processing time reaches t; a time already past fires as
// soon as the task gets to it. A key has at most one timer per timestamp:
// registering the same t again does nothing. Timestamps are kept to the
// nanosecond (t.UnixNano, so between the years 1678 and 2262): round t, as
// with t.Truncate(time.Second), to coalesce timers. The function must
// implement TimerHandler.
func (c *Context[K]) RegisterProcessingTimeTimer(t time.Time) {
	c.service("RegisterProcessingTimeTimer").register(ProcessingTime, t.UnixNano())
}

// DeleteProcessingTimeTimer removes the current key's timer for t, if there
// is one that has not fired.
func (c *Context[K]) DeleteProcessingTimeTimer(t time.Time) {
	c.service("DeleteProcessingTimeTimer").delete(ProcessingTime, t.UnixNano())
}

// RegisterEventTimeTimer asks for OnTimer to be called for the current key
// once the watermark reaches t, in milliseconds since the epoch (timer t
// fires when the watermark is t or more). A time the watermark has already
// reached fires at the next watermark. A key has at most one timer per
// timestamp. Event-time timers fire in timestamp order, once every record
// that came before the watermark has been processed; a timer that OnTimer
// registers at or below the watermark fires in the same round. At the end
// of a bounded input the watermark goes to math.MaxInt64, so every pending
// event-time timer fires (processing-time timers are dropped then). The
// function must implement TimerHandler.
func (c *Context[K]) RegisterEventTimeTimer(t int64) {
	c.service("RegisterEventTimeTimer").register(EventTime, t)
}

// DeleteEventTimeTimer removes the current key's event-time timer for t, if
// there is one that has not fired.
func (c *Context[K]) DeleteEventTimeTimer(t int64) {
	c.service("DeleteEventTimeTimer").delete(EventTime, t)
}

// CurrentWatermark returns the operator's event time: the watermark of its
// input, in milliseconds since the epoch; math.MinInt64 before the first
// watermark. In OnTimer of an event-time timer it is the watermark that
// fired the timer.
func (c *Context[K]) CurrentWatermark() int64 { return c.clock.watermark }

// Timestamp returns the timestamp of the record being processed, in
// milliseconds since the epoch, and false when the input stream has no
// timestamps (see AssignTimestampsAndWatermarks and WithTimestamps) or no
// record is being processed.
func (c *Context[K]) Timestamp() (int64, bool) {
	if c.clock.timestamp == nil {
		return 0, false
	}
	return c.clock.timestamp()
}

// eventClock is the event time of one keyed operator subtask as its
// Contexts see it.
type eventClock struct {
	watermark int64
	// timestamp returns the timestamp of the record being processed; nil
	// when the input has no timestamps.
	timestamp func() (int64, bool)
}

func (c *Context[K]) service(method string) *timerService[K] {
	if c.timers == nil {
		fail(fmt.Errorf("%s: the process function has no OnTimer method; a function that uses timers implements TimerHandler", method))
	}
	return c.timers
}

// timerStateName is the keyed state that holds a process function's timers,
// so that snapshots carry them and a restore, at any parallelism,
// redistributes them with the rest of the key's state. State names starting
// with "_" are reserved for such uses.
const timerStateName = "_timers"

// timerService holds the timers of one keyed operator subtask: one queue per
// time domain, for firing, and the keyed state "_timers", for checkpoints.
// Each change is made to both, so a snapshot needs no extra step.
type timerService[K comparable] struct {
	b      *keyedBackend[K]
	store  *state.Value[timerSet[K]]
	queues [numDomains]timerQueue[K]
}

// timerHooks gives a keyed function that implements TimerHandler a timer
// service and returns it with the calls that fire its OnTimer for a
// processing-time and an event-time timer; all nil if fn has no OnTimer.
func timerHooks[K comparable, OUT any](b *keyedBackend[K], ctx *Context[K], fn any, out Collector[OUT]) (*timerService[K], func(int64) error, func(int64) error, error) {
	h, ok := fn.(TimerHandler[K, OUT])
	if !ok {
		return nil, nil, nil, nil
	}
	svc, err := newTimerService(b)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx.timers = svc
	pctx := &TimerContext[K]{Context: *ctx, domain: ProcessingTime}
	ectx := &TimerContext[K]{Context: *ctx, domain: EventTime}
	onProc := func(at int64) error { pctx.at = at; return h.OnTimer(pctx, time.Unix(0, at), out) }
	onEvent := func(at int64) error { ectx.at = at; return h.OnTimer(ectx, time.UnixMilli(at), out) }
	return svc, onProc, onEvent, nil
}

func newTimerService[K comparable](b *keyedBackend[K]) (*timerService[K], error) {
	store, err := newValue[timerSet[K]](b, timerStateName)
	if err != nil {
		return nil, err
	}
	return &timerService[K]{b: b, store: store}, nil
}

// register adds a timer for the current key.
func (s *timerService[K]) register(d TimeDomain, at int64) {
	key := s.b.CurrentKey()
	if !s.queues[d].add(key, at) {
		return
	}
	set, _ := s.store.Get()
	set.key = key
	set.add(d, at)
	s.store.Set(set)
}

// delete removes a timer of the current key.
func (s *timerService[K]) delete(d TimeDomain, at int64) {
	if s.queues[d].remove(s.b.CurrentKey(), at) {
		s.forget(d, at)
	}
}

// forget removes a timer of the current key from the state.
func (s *timerService[K]) forget(d TimeDomain, at int64) {
	set, ok := s.store.Get()
	if !ok {
		return
	}
	set.remove(d, at)
	if set.empty() {
		s.store.Clear()
	} else {
		s.store.Set(set)
	}
}

// next returns the earliest timer of domain d.
func (s *timerService[K]) next(d TimeDomain) (int64, bool) {
	t, ok := s.queues[d].peek()
	return t.at, ok
}

// fire calls onTimer for each timer of domain d due at now, in timestamp
// order, with its key as the current key. Processing-time timers that
// onTimer registers are left for the next call, so that one call ends even
// if every timer registers another that is due. Event-time timers that
// onTimer registers fire in the same call if the watermark has reached
// them, as in Flink: there may be no next watermark.
func (s *timerService[K]) fire(d TimeDomain, now int64, onTimer func(at int64) error) error {
	q := &s.queues[d]
	limit := q.seq
	if d == EventTime {
		limit = math.MaxUint64
	}
	for {
		t, ok := q.peek()
		if !ok || t.at > now || t.seq >= limit {
			return nil
		}
		q.pop()
		if err := s.b.SetCurrentKey(t.key); err != nil {
			return err
		}
		s.forget(d, t.at)
		if err := onTimer(t.at); err != nil {
			return err
		}
	}
}

// restore loads the backend from snaps, then rebuilds the queues from the
// restored timers.
func (s *timerService[K]) restore(snaps [][]byte) error {
	if err := s.b.restore(snaps); err != nil {
		return err
	}
	for k := range s.b.AllKeys() {
		if err := s.b.SetCurrentKey(k); err != nil {
			return err
		}
		set, ok := s.store.Get()
		if !ok {
			continue
		}
		for d := range set.at {
			for _, at := range set.at[d] {
				s.queues[d].add(k, at)
			}
		}
	}
	return nil
}

// timerSet is the timers of one key as the keyed state stores them: the key
// itself, and per time domain the
// timestamps in ascending order, so that a snapshot is canonical.
type timerSet[K comparable] struct {
	key K
	at  [numDomains][]int64
}

// add and remove make a new slice rather than change the stored one, which a
// snapshot being written may share.
func (s *timerSet[K]) add(d TimeDomain, at int64) {
	old := s.at[d]
	i, found := slices.BinarySearch(old, at)
	if found {
		return
	}
	n := make([]int64, len(old)+1)
	copy(n, old[:i])
	n[i] = at
	copy(n[i+1:], old[i:])
	s.at[d] = n
}

func (s *timerSet[K]) remove(d TimeDomain, at int64) {
	old := s.at[d]
	i, found := slices.BinarySearch(old, at)
	if !found {
		return
	}
	if len(old) == 1 {
		s.at[d] = nil
		return
	}
	s.at[d] = slices.Concat(old[:i], old[i+1:])
}

func (s *timerSet[K]) empty() bool {
	for _, at := range s.at {
		if len(at) > 0 {
			return false
		}
	}
	return true
}

// timerSetVersion is the first byte of an encoded timerSet:
//
//	version, key (its codec), then per time domain (processing, event):
//	count (uvarint), timestamps in ascending order (varint: nanoseconds
//	for processing time, milliseconds for event time)
const timerSetVersion = 1

// AppendBinary encodes s for the keyed-state snapshot.
func (s timerSet[K]) AppendBinary(buf []byte) ([]byte, error) {
	kc, err := codec.For[K]()
	if err != nil {
		return nil, err
	}
	buf = kc.Append(append(buf, timerSetVersion), s.key)
	for _, at := range s.at {
		buf = binary.AppendUvarint(buf, uint64(len(at)))
		for _, t := range at {
			buf = binary.AppendVarint(buf, t)
		}
	}
	return buf, nil
}

// UnmarshalBinary decodes what AppendBinary wrote, during a restore.
func (s *timerSet[K]) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != timerSetVersion {
		return errors.New("timers: not a timer set of a known version")
	}
	kc, err := codec.For[K]()
	if err != nil {
		return err
	}
	n, err := kc.Decode(data[1:], &s.key)
	if err != nil {
		return fmt.Errorf("timers: key: %w", err)
	}
	p := data[1+n:]
	for d := range s.at {
		count, m := binary.Uvarint(p)
		if m <= 0 || count > uint64(len(p)) {
			return errors.New("timers: bad timer count")
		}
		p = p[m:]
		var at []int64
		if count > 0 {
			at = make([]int64, 0, count)
		}
		for range count {
			t, m := binary.Varint(p)
			if m <= 0 {
				return errors.New("timers: truncated timestamp")
			}
			if len(at) > 0 && t <= at[len(at)-1] {
				return errors.New("timers: timestamps out of order")
			}
			p = p[m:]
			at = append(at, t)
		}
		s.at[d] = at
	}
	if len(p) != 0 {
		return fmt.Errorf("timers: %d trailing bytes", len(p))
	}
	return nil
}

// timer is one timer of a queue: a key and a time (in the domain's unit).
type timer[K comparable] struct {
	at  int64
	key K
}

// queued is a timer in a queue, with the sequence number of its
// registration.
type queued[K comparable] struct {
	timer[K]
	seq uint64
}

// timerQueue is the timers of one time domain in firing order: a binary
// min-heap by time, then registration, with an index for deduplication and
// deletion. It knows nothing of clocks.
type timerQueue[K comparable] struct {
	heap  []queued[K]
	index map[timer[K]]int // position in heap
	seq   uint64           // of the next registration
}

// add queues a timer and reports whether it is new: a key has at most one
// timer per time.
func (q *timerQueue[K]) add(key K, at int64) bool {
	t := timer[K]{at: at, key: key}
	if _, dup := q.index[t]; dup {
		return false
	}
	if q.index == nil {
		q.index = make(map[timer[K]]int)
	}
	i := len(q.heap)
	q.heap = append(q.heap, queued[K]{timer: t, seq: q.seq})
	q.seq++
	q.index[t] = i
	q.up(i)
	return true
}

// remove deletes a timer and reports whether it was queued.
func (q *timerQueue[K]) remove(key K, at int64) bool {
	i, ok := q.index[timer[K]{at: at, key: key}]
	if ok {
		q.removeAt(i)
	}
	return ok
}

// peek returns the first timer to fire.
func (q *timerQueue[K]) peek() (queued[K], bool) {
	if len(q.heap) == 0 {
		return queued[K]{}, false
	}
	return q.heap[0], true
}

// pop removes and returns the first timer; the queue must not be empty.
func (q *timerQueue[K]) pop() queued[K] { return q.removeAt(0) }

func (q *timerQueue[K]) len() int { return len(q.heap) }

func (q *timerQueue[K]) removeAt(i int) queued[K] {
	e := q.heap[i]
	last := len(q.heap) - 1
	if i != last {
		q.swap(i, last)
	}
	q.heap[last] = queued[K]{} // let go of the key
	q.heap = q.heap[:last]
	delete(q.index, e.timer)
	if i != last && !q.down(i) {
		q.up(i)
	}
	return e
}

func (q *timerQueue[K]) less(i, j int) bool {
	a, b := &q.heap[i], &q.heap[j]
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

func (q *timerQueue[K]) swap(i, j int) {
	h := q.heap
	h[i], h[j] = h[j], h[i]
	q.index[h[i].timer] = i
	q.index[h[j].timer] = j
}

func (q *timerQueue[K]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			return
		}
		q.swap(i, parent)
		i = parent
	}
}

// down sifts element i down and reports whether it moved.
func (q *timerQueue[K]) down(i int) bool {
	start, n := i, len(q.heap)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && q.less(r, c) {
			c = r
		}
		if !q.less(c, i) {
			break
		}
		q.swap(i, c)
		i = c
	}
	return i > start
}
