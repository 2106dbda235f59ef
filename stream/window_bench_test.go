package stream_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// The window benchmarks: 1,024 keys (benchKey), 100 records per ms of
// event time (benchWindowTS), counted per key in event-time windows of one
// second: 100 records per key and window, 100,000 records per window.
var benchWindowTS = func(v int64) int64 { return v / 100 }

const benchWindowSize = 1000 // ms

// benchCount is the AggregateFunction both sides call.
type benchCount struct{}

func (benchCount) CreateAccumulator() int64   { return 0 }
func (benchCount) Add(_ int64, n int64) int64 { return n + 1 }
func (benchCount) GetResult(n int64) int64    { return n }

// plainWindowCount is the plain loop of a window count over in-order
// records: per (key, window start) a count in a map; when a record's time
// reaches the end of open windows, they fire (their counts go to the sink)
// and are dropped, as a watermark that follows the records would do.
//
//go:noinline
func plainWindowCount(n int64, gen func(int64) int64, ts func(int64) int64, key func(int64) int64, agg benchCount, size, slide int64, sink stream.SinkWriter[int64]) {
	type kw struct{ key, start int64 }
	open := map[kw]int64{}
	lowestEnd := int64(-1 << 62) // the earliest end among the open windows
	for i := range n {
		v := gen(i)
		t := ts(v)
		if t >= lowestEnd {
			lowestEnd = 1 << 62
			for w, c := range open {
				if end := w.start + size; end <= t {
					_ = sink.Write(agg.GetResult(c))
					delete(open, w)
				} else {
					lowestEnd = min(lowestEnd, end)
				}
			}
		}
		k := key(v)
		for start := t - t%slide; start > t-size; start -= slide {
			w := kw{k, start}
			c, ok := open[w]
			if !ok {
				c = agg.CreateAccumulator()
				lowestEnd = min(lowestEnd, start+size)
			}
			open[w] = agg.Add(v, c)
		}
	}
	for _, c := range open {
		_ = sink.Write(agg.GetResult(c))
	}
	_ = sink.Flush()
}

// benchWindowAggregate runs n records through source -> watermarks ->
// keyBy -> window count -> sink at parallelism 1 (two tasks: the keyBy is
// an exchange), against the plain loop.
func benchWindowAggregate(b *testing.B, assigner stream.WindowAssigner, size, slide int64) {
	n := int64(max(b.N, 2_000_000))
	want := n * (size / slide) // every record is in size/slide windows
	pipeline := func() {
		var total atomic.Int64
		env := stream.NewEnvironment().SetParallelism(1).SetAutoWatermarkInterval(time.Millisecond)
		src := stream.FromGenerator(env, n, benchGen)
		stamped := stream.AssignTimestampsAndWatermarks(src, stream.ForMonotonousTimestamps(benchWindowTS))
		counts := stream.WindowAggregate(stream.Window(stream.KeyBy(stamped, benchKey), assigner), benchCount{})
		stream.AddSink(counts, "Sum", newSumSink(&total))
		if _, err := env.Execute(context.Background(), "bench-window"); err != nil {
			b.Fatal(err)
		}
		if total.Load() != want {
			b.Fatalf("the windows counted %d records, want %d", total.Load(), want)
		}
	}
	plain := func() {
		var total atomic.Int64
		plainWindowCount(n, benchGen, benchWindowTS, benchKey, benchCount{}, size, slide, &sumSink{total: &total})
		if total.Load() != want {
			b.Fatalf("the plain loop counted %d records, want %d", total.Load(), want)
		}
	}
	rt, pt := fastest(b, pipeline, plain)
	report(b, n, rt, pt)
}

// BenchmarkTumblingWindowAggregate counts per key in tumbling windows of a
// second.
func BenchmarkTumblingWindowAggregate(b *testing.B) {
	benchWindowAggregate(b, stream.TumblingEventTimeWindows(benchWindowSize*time.Millisecond), benchWindowSize, benchWindowSize)
}

// BenchmarkSlidingWindowAggregate counts per key in sliding windows of a
// second every 250 ms: four windows per record.
func BenchmarkSlidingWindowAggregate(b *testing.B) {
	benchWindowAggregate(b, stream.SlidingEventTimeWindows(benchWindowSize*time.Millisecond, benchWindowSize/4*time.Millisecond), benchWindowSize, benchWindowSize/4)
}
