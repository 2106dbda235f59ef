package stream_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/minicluster"
	"github.com/sluicehq/sluice/stream"
)

// BenchmarkCheckpointOverhead runs a keyed sum over 100,000 keys at
// parallelism 2 with a checkpoint every second and without checkpoints,
// alternating, and reports the throughput of each and their ratio. The
// runs last a few seconds so that several checkpoints fall into each.
func BenchmarkCheckpointOverhead(b *testing.B) {
	n := int64(max(b.N, 120_000_000))
	keys := func(v int64) int64 { return v % 100_000 }
	run := func(interval time.Duration) (time.Duration, int) {
		mc, err := minicluster.New(minicluster.Config{SlotsPerTaskManager: 2})
		if err != nil {
			b.Fatal(err)
		}
		defer mc.Close()
		var count atomic.Int64
		env := stream.NewEnvironment().SetParallelism(2)
		if interval > 0 {
			env.EnableCheckpointing(interval)
		}
		src := stream.FromGenerator(env, n, benchGen)
		sums := stream.Reduce(stream.KeyBy(src, keys), benchSum)
		ones := stream.Map(sums, func(int64) int64 { return 1 })
		stream.AddSink(ones, "Count", newSumSink(&count))
		start := time.Now()
		job, err := env.SubmitTo(context.Background(), mc, "bench-checkpoints")
		if err != nil {
			b.Fatal(err)
		}
		st, err := job.Wait(context.Background())
		elapsed := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if count.Load() != n {
			b.Fatalf("%s: emitted %d results, want %d", st.State, count.Load(), n)
		}
		cps, err := mc.JobManager().Checkpoints(job.ID())
		if err != nil {
			b.Fatal(err)
		}
		completed := 0
		for _, cp := range cps {
			if cp.Status == checkpoint.Completed || cp.Status == checkpoint.Discarded {
				completed++
			}
		}
		return elapsed, completed
	}
	best := [2]time.Duration{1 << 62, 1 << 62}
	taken := 0
	for range rounds {
		d, _ := run(0)
		best[0] = min(best[0], d)
		d, c := run(time.Second)
		best[1] = min(best[1], d)
		taken = max(taken, c)
	}
	if taken == 0 {
		b.Fatal("no checkpoint completed during the runs with checkpoints")
	}
	without, with := float64(n)/best[0].Seconds(), float64(n)/best[1].Seconds()
	b.ReportMetric(with, "records/s")
	b.ReportMetric(without, "no-checkpoint-records/s")
	b.ReportMetric(with/without, "ratio")
	b.ReportMetric(float64(taken), "checkpoints")
	b.ReportMetric(0, "ns/op")
}
