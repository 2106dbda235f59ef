package nexmark

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// RunStream runs q's stream version over cfg's events at the given
// parallelism (0: the environment's default, SLUICE_PARALLELISM or the
// number of CPUs) with env.Execute, so on the embedded mini-cluster unless
// SLUICE_MODE says otherwise, and returns its results and job status.
func RunStream(ctx context.Context, q Query, cfg Config, parallelism int, collect bool) (Results, *stream.JobResult, error) {
	if q.Build == nil {
		return nil, nil, fmt.Errorf("%s has no stream implementation; only its reference and plain loop exist", q.Name)
	}
	env := stream.NewEnvironment()
	if parallelism > 0 {
		env.SetParallelism(parallelism)
	}
	out := q.Build(Source(env, cfg), cfg, collect)
	res, err := env.Execute(ctx, "nexmark-"+q.Name)
	return out, res, err
}

// Measurement is one query benchmarked: its stream version on the embedded
// mini-cluster against its plain loop over the same events, each the
// fastest of some rounds run alternately.
type Measurement struct {
	Query       string
	Events      int64
	Parallelism int
	// Procs is runtime.GOMAXPROCS(0) during the run: the CPUs the run can
	// use.
	Procs int
	// Pipeline is the fastest stream run, 0 when the query has no stream
	// version; PipelineCPU the CPU time (user and system) the process used
	// during that run, 0 where the platform does not say.
	Pipeline    time.Duration
	PipelineCPU time.Duration
	// Plain is the fastest plain loop.
	Plain time.Duration
	// Rows is how many rows the plain loop emitted.
	Rows int64
}

// Rate is the stream version's throughput, events per second (0 without
// one).
func (m Measurement) Rate() float64 { return rate(m.Events, m.Pipeline) }

// RatePerCore is Rate divided by Procs. The embedded cluster's goroutines
// (source and operator tasks, the exchange between unchained tasks) and the
// garbage collector can run on every CPU the process has, so this divides by
// all of them: a lower bound, and an underestimate for a query whose chained
// single task keeps about one CPU busy. CoresUsed says how many it kept busy.
func (m Measurement) RatePerCore() float64 { return m.Rate() / float64(m.Procs) }

// CoresUsed is the CPU time of the fastest stream run divided by its wall
// time: how many CPUs it kept busy on average (0 when unknown).
func (m Measurement) CoresUsed() float64 {
	if m.Pipeline <= 0 {
		return 0
	}
	return m.PipelineCPU.Seconds() / m.Pipeline.Seconds()
}

// RatePerCPUSecond is the stream version's events per CPU-second used,
// the way Flink's Nexmark divides throughput by the cores its TaskManagers
// used (0 when unknown).
func (m Measurement) RatePerCPUSecond() float64 { return rate(m.Events, m.PipelineCPU) }

// PlainRate is the plain loop's throughput, events per second.
func (m Measurement) PlainRate() float64 { return rate(m.Events, m.Plain) }

// Ratio is Rate / PlainRate.
func (m Measurement) Ratio() float64 {
	if m.Plain <= 0 || m.Pipeline <= 0 {
		return 0
	}
	return m.Rate() / m.PlainRate()
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Bench measures q over cfg's events (cfg.Events must be positive): the
// stream version at parallelism on the embedded mini-cluster and the plain
// loop, rounds times each, alternating, keeping the fastest of each. At
// parallelism 1 the stream version sees the events in the plain loop's
// order, so it must emit as many rows; a difference is an error.
func Bench(ctx context.Context, q Query, cfg Config, parallelism, rounds int) (Measurement, error) {
	m := Measurement{Query: q.Name, Events: cfg.Events, Parallelism: parallelism, Procs: runtime.GOMAXPROCS(0)}
	if cfg.Events <= 0 {
		return m, fmt.Errorf("nexmark bench: %d events; it needs a bounded run", cfg.Events)
	}
	for range max(rounds, 1) {
		streamRows := int64(-1)
		if q.Build != nil {
			runtime.GC()
			cpu0, start := cpuTime(), time.Now()
			out, _, err := RunStream(ctx, q, cfg, parallelism, false)
			d, cpu := time.Since(start), cpuTime()-cpu0
			if err != nil {
				return m, fmt.Errorf("%s: %w", q.Name, err)
			}
			if m.Pipeline == 0 || d < m.Pipeline {
				m.Pipeline, m.PipelineCPU = d, cpu
			}
			streamRows = out.Count()
		}
		runtime.GC()
		start := time.Now()
		out := q.Plain(cfg, false)
		d := time.Since(start)
		if m.Plain == 0 || d < m.Plain {
			m.Plain = d
		}
		m.Rows = out.Count()
		if streamRows >= 0 && parallelism == 1 && streamRows != m.Rows {
			return m, fmt.Errorf("%s: the stream query emitted %d rows, the plain loop %d", q.Name, streamRows, m.Rows)
		}
		if err := ctx.Err(); err != nil {
			return m, err
		}
	}
	return m, nil
}
