package stream_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// The user functions of the benchmarks. The plain loops call the very same
// function values, so a ratio compares the runtime's overhead, not the work.
var (
	benchGen    = func(i int64) int64 { return i }
	benchMap    = func(v int64) int64 { return v*3 + 1 }
	benchFilter = func(v int64) bool { return v&1 == 0 }
	benchKey    = func(v int64) int64 { return v & 1023 }
	benchSum    = func(a, b int64) int64 { return a + b }
)

// sumSink adds up what it receives, per subtask, and publishes on flush.
type sumSink struct {
	total *atomic.Int64
	local int64
}

func (s *sumSink) Write(v int64) error { s.local += v; return nil }
func (s *sumSink) Flush() error        { s.total.Add(s.local); s.local = 0; return nil }
func (s *sumSink) Close() error        { return nil }

func newSumSink(total *atomic.Int64) func(int, int) (stream.SinkWriter[int64], error) {
	return func(int, int) (stream.SinkWriter[int64], error) { return &sumSink{total: total}, nil }
}

//go:noinline
func plainChained(n int64, gen func(int64) int64, mapFn func(int64) int64, keep func(int64) bool, sink stream.SinkWriter[int64]) {
	for i := range n {
		v := mapFn(gen(i))
		if keep(v) {
			_ = sink.Write(v)
		}
	}
	_ = sink.Flush()
}

//go:noinline
func plainKeyedReduce(n int64, gen func(int64) int64, key func(int64) int64, reduce func(a, b int64) int64, sink stream.SinkWriter[int64]) {
	state := map[int64]int64{}
	for i := range n {
		v := gen(i)
		k := key(v)
		if old, ok := state[k]; ok {
			v = reduce(old, v)
		}
		state[k] = v
		_ = sink.Write(1)
	}
	_ = sink.Flush()
}

// rounds is how often each side of a comparison runs, alternating, so that
// a transient disturbance of the machine does not decide a ratio.
const rounds = 3

// fastest runs each function rounds times, alternating, and returns the
// shortest time of each.
func fastest(b *testing.B, pipeline, plain func()) (time.Duration, time.Duration) {
	best := [2]time.Duration{1 << 62, 1 << 62}
	for range rounds {
		for i, f := range []func(){pipeline, plain} {
			start := time.Now()
			f()
			best[i] = min(best[i], time.Since(start))
		}
	}
	return best[0], best[1]
}

// report prints the pipeline's rate, the plain loop's, and their ratio.
func report(b *testing.B, n int64, runtime, plain time.Duration) {
	rate := float64(n) / runtime.Seconds()
	plainRate := float64(n) / plain.Seconds()
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(plainRate, "plain-records/s")
	b.ReportMetric(rate/plainRate, "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkChainedPipeline: source -> map -> filter -> sink, chained into one
// task at parallelism 1, against a plain loop doing the same calls.
func BenchmarkChainedPipeline(b *testing.B) {
	n := int64(max(b.N, 2_000_000))
	var want atomic.Int64
	plainChained(n, benchGen, benchMap, benchFilter, &sumSink{total: &want})
	pipeline := func() {
		var total atomic.Int64
		env := stream.NewEnvironment().SetParallelism(1)
		src := stream.FromGenerator(env, n, benchGen)
		kept := stream.Filter(stream.Map(src, benchMap), benchFilter)
		stream.AddSink(kept, "Sum", newSumSink(&total))
		res, err := env.Execute(context.Background(), "bench-chained")
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Tasks) != 1 {
			b.Fatalf("pipeline ran as %d tasks, want 1 chained task", len(res.Tasks))
		}
		if total.Load() != want.Load() {
			b.Fatalf("pipeline sum %d != plain sum %d", total.Load(), want.Load())
		}
	}
	plain := func() {
		var total atomic.Int64
		plainChained(n, benchGen, benchMap, benchFilter, &sumSink{total: &total})
	}
	rt, pt := fastest(b, pipeline, plain)
	report(b, n, rt, pt)
}

// BenchmarkKeyedReduce: source -> keyBy (shuffle) -> reduce -> sink at
// parallelism 2, against a plain single-goroutine loop with a map.
func BenchmarkKeyedReduce(b *testing.B) {
	n := int64(max(b.N, 2_000_000))
	pipeline := func() {
		// The sink counts the running results; which values they take
		// depends on how the two source subtasks interleave, so the values
		// are checked by the tests, not here.
		var count atomic.Int64
		env := stream.NewEnvironment().SetParallelism(2)
		src := stream.FromGenerator(env, n, benchGen)
		sums := stream.Reduce(stream.KeyBy(src, benchKey), benchSum)
		ones := stream.Map(sums, func(int64) int64 { return 1 })
		stream.AddSink(ones, "Count", newSumSink(&count))
		if _, err := env.Execute(context.Background(), "bench-keyed"); err != nil {
			b.Fatal(err)
		}
		if count.Load() != n {
			b.Fatalf("pipeline emitted %d results, want %d", count.Load(), n)
		}
	}
	plain := func() {
		var count atomic.Int64
		plainKeyedReduce(n, benchGen, benchKey, benchSum, &sumSink{total: &count})
		if count.Load() != n {
			b.Fatalf("plain loop emitted %d results, want %d", count.Load(), n)
		}
	}
	rt, pt := fastest(b, pipeline, plain)
	report(b, n, rt, pt)
}
