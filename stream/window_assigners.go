package stream

import (
	"cmp"
	"fmt"
	"math"
	"time"
)

// TimeWindow is a time window [Start, End), in milliseconds since the epoch:
// Flink's TimeWindow. A record with timestamp t belongs to it when Start <=
// t < End.
type TimeWindow struct {
	Start, End int64
}

// MaxTimestamp is the last millisecond of the window, End-1. An event-time
// window fires when the watermark reaches it.
func (w TimeWindow) MaxTimestamp() int64 { return w.End - 1 }

func (w TimeWindow) String() string { return fmt.Sprintf("[%d, %d)", w.Start, w.End) }

// intersects reports whether w and o overlap or touch, as Flink's
// TimeWindow.intersects: session windows that do are merged.
func (w TimeWindow) intersects(o TimeWindow) bool { return w.Start <= o.End && w.End >= o.Start }

// cover is the smallest window that contains w and o.
func (w TimeWindow) cover(o TimeWindow) TimeWindow {
	return TimeWindow{min(w.Start, o.Start), max(w.End, o.End)}
}

func compareWindows(a, b TimeWindow) int {
	return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
}

// WindowAssigner says which windows a record belongs to, from its
// timestamp (event time) or the wall clock when it arrives (processing
// time). The assigners are TumblingEventTimeWindows,
// SlidingEventTimeWindows, EventTimeSessionWindows and their
// processing-time counterparts; the interface cannot be implemented outside
// the package. Durations are counted in whole milliseconds. Invalid
// settings fail the plan with an error naming the window operator.
type WindowAssigner interface {
	// String describes the assigner, as Flink names it.
	String() string
	// windowing returns the assigner's settings in milliseconds, or what
	// is wrong with them; its time domain is right in either case.
	windowing() (windowing, error)
}

type windowKind uint8

const (
	tumbling windowKind = iota
	sliding
	session
)

// windowing is a WindowAssigner as the window operator runs it: its
// durations in milliseconds.
type windowing struct {
	kind                     windowKind
	domain                   TimeDomain
	size, slide, offset, gap int64
}

// assign appends to buf the windows of a record at time t (ms) and returns
// buf: one tumbling window, size/slide sliding windows (latest first, as
// Flink's), or the session window [t, t+gap) before any merge.
func (w *windowing) assign(t int64, buf []TimeWindow) []TimeWindow {
	switch w.kind {
	case tumbling:
		start := windowStart(t, w.offset, w.size)
		return append(buf, TimeWindow{start, addSat(start, w.size)})
	case sliding:
		for start := windowStart(t, w.offset, w.slide); start > t-w.size; start -= w.slide {
			buf = append(buf, TimeWindow{start, addSat(start, w.size)})
		}
		return buf
	default:
		return append(buf, TimeWindow{t, addSat(t, w.gap)})
	}
}

// windowStart is the start of the window of the given size, aligned to
// offset from the epoch, that contains t: Flink's
// TimeWindow.getWindowStartWithOffset.
func windowStart(t, offset, size int64) int64 {
	r := (t - offset) % size
	if r < 0 {
		r += size
	}
	return t - r
}

// addSat is a+b for b >= 0, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// millis converts a positive duration setting to milliseconds, or says why
// it cannot be one.
func millis(what string, d time.Duration) (int64, error) {
	switch {
	case d <= 0:
		return 0, fmt.Errorf("%s %v must be positive", what, d)
	case d%time.Millisecond != 0:
		return 0, fmt.Errorf("%s %v must be a whole number of milliseconds", what, d)
	}
	return d.Milliseconds(), nil
}

// offsetMillis converts a window offset, which may be negative.
func offsetMillis(d, limit time.Duration, limitName string) (int64, error) {
	if d%time.Millisecond != 0 {
		return 0, fmt.Errorf("window offset %v must be a whole number of milliseconds", d)
	}
	if d <= -limit || d >= limit {
		return 0, fmt.Errorf("window offset %v must be smaller than the %s %v in absolute value", d, limitName, limit)
	}
	return d.Milliseconds(), nil
}

func domainName(d TimeDomain) string {
	if d == EventTime {
		return "EventTime"
	}
	return "ProcessingTime"
}

// TumblingWindows assigns each record to one window of a fixed size;
// windows are aligned to the epoch (plus the offset) and do not overlap.
type TumblingWindows struct {
	size, offset time.Duration
	domain       TimeDomain
}

// TumblingEventTimeWindows assigns records to tumbling windows of size by
// their timestamps: [k*size, (k+1)*size). The stream must have timestamps.
func TumblingEventTimeWindows(size time.Duration) TumblingWindows {
	return TumblingWindows{size: size, domain: EventTime}
}

// TumblingProcessingTimeWindows assigns records to tumbling windows of size
// by the wall clock when the window operator receives them.
func TumblingProcessingTimeWindows(size time.Duration) TumblingWindows {
	return TumblingWindows{size: size, domain: ProcessingTime}
}

// WithOffset shifts the windows' alignment by offset, whose absolute value
// must be below the size: with an hour's windows, an offset of 15 minutes
// gives [0:15, 1:15), [1:15, 2:15), ..., as Flink's offset does (for
// instance -8h to align days to UTC+8).
func (a TumblingWindows) WithOffset(offset time.Duration) TumblingWindows {
	a.offset = offset
	return a
}

func (a TumblingWindows) String() string {
	return fmt.Sprintf("Tumbling%sWindows(%v%s)", domainName(a.domain), a.size, offsetString(a.offset))
}

func (a TumblingWindows) windowing() (windowing, error) {
	w := windowing{kind: tumbling, domain: a.domain}
	var err error
	if w.size, err = millis("window size", a.size); err != nil {
		return w, err
	}
	if w.offset, err = offsetMillis(a.offset, a.size, "size"); err != nil {
		return w, err
	}
	return w, nil
}

// SlidingWindows assigns each record to the size/slide windows of a fixed
// size, starting every slide, that contain it.
type SlidingWindows struct {
	size, slide, offset time.Duration
	domain              TimeDomain
}

// SlidingEventTimeWindows assigns records by their timestamps to windows
// of size that start every slide: [k*slide, k*slide+size). The slide must
// not be larger than the size. The stream must have timestamps.
func SlidingEventTimeWindows(size, slide time.Duration) SlidingWindows {
	return SlidingWindows{size: size, slide: slide, domain: EventTime}
}

// SlidingProcessingTimeWindows assigns records to sliding windows of size
// every slide by the wall clock when the window operator receives them.
func SlidingProcessingTimeWindows(size, slide time.Duration) SlidingWindows {
	return SlidingWindows{size: size, slide: slide, domain: ProcessingTime}
}

// WithOffset shifts the windows' alignment by offset, whose absolute value
// must be below the slide.
func (a SlidingWindows) WithOffset(offset time.Duration) SlidingWindows {
	a.offset = offset
	return a
}

func (a SlidingWindows) String() string {
	return fmt.Sprintf("Sliding%sWindows(%v, %v%s)", domainName(a.domain), a.size, a.slide, offsetString(a.offset))
}

func (a SlidingWindows) windowing() (windowing, error) {
	w := windowing{kind: sliding, domain: a.domain}
	var err error
	if w.size, err = millis("window size", a.size); err != nil {
		return w, err
	}
	if w.slide, err = millis("window slide", a.slide); err != nil {
		return w, err
	}
	if w.slide > w.size {
		return w, fmt.Errorf("window slide %v is larger than the window size %v", a.slide, a.size)
	}
	if w.offset, err = offsetMillis(a.offset, a.slide, "slide"); err != nil {
		return w, err
	}
	return w, nil
}

// SessionWindows groups the records of a key into sessions: a record at t
// opens the window [t, t+gap), and windows that overlap or touch merge, so
// a session ends once no record came for gap.
type SessionWindows struct {
	gap    time.Duration
	domain TimeDomain
}

// EventTimeSessionWindows groups records into sessions by their
// timestamps. The stream must have timestamps.
func EventTimeSessionWindows(gap time.Duration) SessionWindows {
	return SessionWindows{gap: gap, domain: EventTime}
}

// ProcessingTimeSessionWindows groups records into sessions by the wall
// clock when the window operator receives them.
func ProcessingTimeSessionWindows(gap time.Duration) SessionWindows {
	return SessionWindows{gap: gap, domain: ProcessingTime}
}

func (a SessionWindows) String() string {
	return fmt.Sprintf("%sSessionWindows(%v)", domainName(a.domain), a.gap)
}

func (a SessionWindows) windowing() (windowing, error) {
	w := windowing{kind: session, domain: a.domain}
	var err error
	w.gap, err = millis("session gap", a.gap)
	return w, err
}

func offsetString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf(", offset %v", d)
}
