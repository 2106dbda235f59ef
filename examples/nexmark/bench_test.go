package nexmark

import (
	"context"
	"testing"
)

// BenchmarkNexmark runs each query that has a stream version over 10M
// events (at least b.N) at parallelism 1 on the embedded mini-cluster, and
// the query's plain single-goroutine loop over the same events, three
// rounds each, alternating; the fastest of each counts (see Bench). Run it
// once per query:
//
//	go test -run='^$' -bench=Nexmark -benchtime=1x ./examples/nexmark/
func BenchmarkNexmark(b *testing.B) {
	for _, name := range QueryNames() {
		q := Queries[name]
		if q.Build == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			cfg := Config{Seed: 1, Events: int64(max(b.N, 10_000_000))}
			m, err := Bench(context.Background(), q, cfg, 1, 3)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(m.Rate(), "events/s")
			b.ReportMetric(m.RatePerCPUSecond(), "events/cpu-s")
			b.ReportMetric(m.PlainRate(), "plain-events/s")
			b.ReportMetric(m.Ratio(), "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}
