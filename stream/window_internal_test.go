package stream

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// stateWatch records, through windowStateHook, the most (key, window)
// pairs and estimated state bytes one window operator held after a
// watermark.
type stateWatch struct {
	maxPairs, maxBytes, reports atomic.Int64
}

func watchWindowState(t testing.TB, op string) *stateWatch {
	w := &stateWatch{}
	hook := func(name string, pairs int, bytes int64) {
		if name != op {
			return
		}
		w.reports.Add(1)
		for p := w.maxPairs.Load(); int64(pairs) > p && !w.maxPairs.CompareAndSwap(p, int64(pairs)); p = w.maxPairs.Load() {
		}
		for b := w.maxBytes.Load(); bytes > b && !w.maxBytes.CompareAndSwap(b, bytes); b = w.maxBytes.Load() {
		}
	}
	if !windowStateHook.CompareAndSwap(nil, &hook) {
		t.Fatal("another test watches window state")
	}
	t.Cleanup(func() { windowStateHook.Store(nil) })
	return w
}

// countAgg counts records.
type countAgg[T any] struct{}

func (countAgg[T]) CreateAccumulator() int64  { return 0 }
func (countAgg[T]) Add(_ T, acc int64) int64  { return acc + 1 }
func (countAgg[T]) GetResult(acc int64) int64 { return acc }
func (countAgg[T]) Merge(a, b int64) int64    { return a + b }
func totalOf(total *atomic.Int64) func(int64) { return func(v int64) { total.Add(v) } }

// funcSink calls fn for every record.
type funcSink[T any] struct{ fn func(T) }

func (s funcSink[T]) Write(v T) error { s.fn(v); return nil }
func (funcSink[T]) Flush() error      { return nil }
func (funcSink[T]) Close() error      { return nil }

func TestWindowStateStaysBounded(t *testing.T) {
	// 500,000 records of 50 keys, 20 per ms of event time, in tumbling
	// windows of 50 ms: 500 windows of each key, 25,000 (key, window)
	// pairs in all. A second of wall time, so that watermarks come every
	// 50 ms of event time or so.
	const (
		n    = 500_000
		keys = 50
		all  = n / 20 / 50 * keys
	)
	watch := watchWindowState(t, "bounded")
	var results, counted atomic.Int64
	env := NewEnvironment().SetParallelism(1).SetAutoWatermarkInterval(time.Millisecond)
	src := FromGeneratorAtRate(env, n, n, func(i int64) int64 { return i })
	stamped := AssignTimestampsAndWatermarks(src, ForMonotonousTimestamps(func(i int64) int64 { return i / 20 }))
	counts := WindowAggregate(Window(KeyBy(stamped, func(i int64) int64 { return i % keys }), TumblingEventTimeWindows(50*time.Millisecond)), countAgg[int64]{}).Name("bounded")
	AddSink(counts, "Count", func(int, int) (SinkWriter[int64], error) {
		return funcSink[int64]{func(c int64) { results.Add(1); counted.Add(c) }}, nil
	})
	if _, err := env.Execute(context.Background(), "bounded-window-state"); err != nil {
		t.Fatal(err)
	}
	if results.Load() != all || counted.Load() != n {
		t.Fatalf("%d windows fired counting %d records, want %d counting %d", results.Load(), counted.Load(), all, n)
	}
	// Each key has a window or two open at a time; allow for watermarks
	// held up by a busy machine, but far below all the pairs.
	if p := watch.maxPairs.Load(); p > all/10 || watch.reports.Load() < 10 {
		t.Fatalf("at most %d (key, window) pairs in state over %d watermarks; %d pairs in all", p, watch.reports.Load(), all)
	}
	t.Logf("at most %d of %d (key, window) pairs and %d bytes in state, over %d watermarks",
		watch.maxPairs.Load(), all, watch.maxBytes.Load(), watch.reports.Load())
}

// BenchmarkWindowStateOver100MEvents runs 100 M events (at least b.N) of
// 1,000 keys, 100 per ms of event time, through a tumbling event-time
// window of one second counting each key's records (100,000 windows of
// 100 records), at parallelism 1, and reports the most (key, window)
// pairs and state the window operator held after a watermark:
//
//	go test -run='^$' -bench=WindowStateOver100M -benchtime=1x ./stream/
func BenchmarkWindowStateOver100MEvents(b *testing.B) {
	n := int64(max(b.N, 100_000_000))
	const keys = 1000
	watch := watchWindowState(b, "count")
	var counted atomic.Int64
	env := NewEnvironment().SetParallelism(1).SetAutoWatermarkInterval(10 * time.Millisecond)
	src := FromGenerator(env, n, func(i int64) int64 { return i })
	stamped := AssignTimestampsAndWatermarks(src, ForMonotonousTimestamps(func(i int64) int64 { return i / 100 }))
	counts := WindowAggregate(Window(KeyBy(stamped, func(i int64) int64 { return i % keys }), TumblingEventTimeWindows(time.Second)), countAgg[int64]{}).Name("count")
	AddSink(counts, "Count", func(int, int) (SinkWriter[int64], error) { return funcSink[int64]{totalOf(&counted)}, nil })
	start := time.Now()
	if _, err := env.Execute(context.Background(), "window-state-100m"); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if counted.Load() != n {
		b.Fatalf("counted %d of %d events", counted.Load(), n)
	}
	b.ReportMetric(float64(n)/d.Seconds(), "events/s")
	b.ReportMetric(float64(watch.maxBytes.Load())/(1<<20), "max-state-MB")
	b.ReportMetric(float64(watch.maxPairs.Load()), "max-pairs")
	b.ReportMetric(0, "ns/op")
}
