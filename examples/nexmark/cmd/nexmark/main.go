// Command nexmark runs the Nexmark benchmark queries on Sluice.
//
//	nexmark run --query q1 [--events N] [--rate R] [--parallelism P] [--seed S]
//	nexmark bench [--events N] [--queries q0,q1,...] [--rounds 3] [--parallelism 1]
//	nexmark list
//
// run executes one query with env.Execute: on the embedded mini-cluster by
// default, and, as any job binary, in plan or TaskManager mode when
// SLUICE_MODE says so, so that `jmctl submit` can run it on a cluster. bench
// runs each query at parallelism 1 on the embedded mini-cluster and as a
// plain single-goroutine Go loop over the same events, alternately, and
// prints the best rate of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/sluicehq/sluice/examples/nexmark"
	"github.com/sluicehq/sluice/stream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  nexmark run --query q1 [--events N] [--rate R] [--parallelism P] [--seed S]
  nexmark bench [--events N] [--queries q0,q1,...] [--rounds N] [--parallelism P]
  nexmark list
Run "nexmark run --help" or "nexmark bench --help" for the flags.
`

// errUsage marks errors in how the command was called.
var errUsage = errors.New("usage")

func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = runCommand(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCommand(ctx, args[1:], stdout, stderr)
	case "list":
		for _, name := range nexmark.QueryNames() {
			q := nexmark.Queries[name]
			note := ""
			if q.Build == nil {
				note = " (reference and plain loop only)"
			}
			fmt.Fprintf(stdout, "%-3s %s%s\n", name, q.Description, note)
		}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "nexmark: no command %q\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "nexmark:", err)
		return 2
	}
	fmt.Fprintln(stderr, "nexmark:", err)
	return 1
}

// configFlags adds the generator's flags to fs.
func configFlags(fs *flag.FlagSet, cfg *nexmark.Config, defaultEvents int64) {
	fs.Int64Var(&cfg.Events, "events", defaultEvents, "events to generate; 0 for an unbounded run (Ctrl-C ends it)")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the event generator")
	fs.Int64Var(&cfg.OutOfOrderGroupSize, "out-of-order-group", 0, fmt.Sprintf("size of the groups of events whose event times are shuffled; 1: in order (default %d)", nexmark.DefaultOutOfOrderGroupSize))
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg nexmark.Config
	configFlags(fs, &cfg, 10_000_000)
	name := fs.String("query", "q0", "query to run: "+strings.Join(nexmark.QueryNames(), ", "))
	fs.Int64Var(&cfg.Rate, "rate", 0, "events per second over all source subtasks; 0: as fast as possible")
	parallelism := fs.Int("parallelism", 0, "parallel subtasks per operator (default: SLUICE_PARALLELISM, else min(CPUs, 4))")
	fs.StringVar(&cfg.OutputDir, "output", "", "also write the rows, one per line, to DIR/part-N")
	if err := parse(fs, args); err != nil {
		return err
	}
	q, err := nexmark.Lookup(*name)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if q.Build == nil {
		return fmt.Errorf("%s has no stream implementation; `nexmark bench --queries %s` runs its plain loop", q.Name, q.Name)
	}
	p := *parallelism
	if p <= 0 && os.Getenv(stream.ParallelismEnv) == "" {
		p = min(runtime.NumCPU(), 4)
	}
	out, res, err := nexmark.RunStream(ctx, q, cfg, p, false)
	if err != nil && !(errors.Is(err, context.Canceled) && res != nil) {
		return fmt.Errorf("%s: %w", q.Name, err)
	}
	d := res.Duration()
	events := cfg.Events
	if events <= 0 {
		events = 0
		fmt.Fprintf(stdout, "%s (%s): unbounded run stopped after %v; %d rows\n", q.Name, q.Description, d.Round(1e6), out.Count())
	} else {
		fmt.Fprintf(stdout, "%s (%s): %d events in %v, %s events/s; %d rows\n",
			q.Name, q.Description, events, d.Round(10e3), human(float64(events)/d.Seconds()), out.Count())
	}
	fmt.Fprintf(stdout, "tasks (operator chains): %d\n", countHeads(res))
	for _, t := range res.Tasks {
		if t.Subtask == 0 {
			fmt.Fprintf(stdout, "  %-48s %d subtasks\n", t.Name, t.Parallelism)
		}
	}
	return nil
}

func countHeads(res *stream.JobResult) int {
	n := 0
	for _, t := range res.Tasks {
		if t.Subtask == 0 {
			n++
		}
	}
	return n
}

func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg nexmark.Config
	configFlags(fs, &cfg, 10_000_000)
	queries := fs.String("queries", strings.Join(nexmark.QueryNames(), ","), "comma-separated queries to measure")
	rounds := fs.Int("rounds", 3, "rounds of each side, alternating; the fastest counts")
	parallelism := fs.Int("parallelism", 1, "parallelism of the stream queries")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfg.Events <= 0 {
		return fmt.Errorf("%w: bench: --events must be positive", errUsage)
	}
	if *parallelism < 1 {
		return fmt.Errorf("%w: bench: --parallelism must be at least 1", errUsage)
	}
	var qs []nexmark.Query
	for _, name := range strings.Split(*queries, ",") {
		q, err := nexmark.Lookup(strings.TrimSpace(name))
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		qs = append(qs, q)
	}
	procs := runtime.GOMAXPROCS(0)
	fmt.Fprintf(stdout, "nexmark bench: %d events per query, parallelism %d on the embedded mini-cluster vs a plain Go loop, best of %d rounds each, GOMAXPROCS %d\n\n",
		cfg.Events, *parallelism, *rounds, procs)
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "query\tevents/s\tevents/s/core\tcores used\tevents/cpu-s\tplain events/s\tratio\tFlink 1.13 events/s/core\t")
	for _, q := range qs {
		m, err := nexmark.Bench(ctx, q, cfg, *parallelism, *rounds)
		if err != nil {
			w.Flush()
			return err
		}
		flink := "-"
		if q.FlinkPerCore > 0 {
			flink = human(q.FlinkPerCore)
		}
		if q.Build == nil {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t%s\t-\t%s\t\n", q.Name, human(m.PlainRate()), flink)
			continue
		}
		cores, perCPU := "-", "-"
		if m.PipelineCPU > 0 {
			cores, perCPU = fmt.Sprintf("%.2f", m.CoresUsed()), human(m.RatePerCPUSecond())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t\n", q.Name, human(m.Rate()), human(m.RatePerCore()), cores, perCPU, human(m.PlainRate()), m.Ratio(), flink)
	}
	w.Flush()
	fmt.Fprintf(stdout, `
events/s       events generated and processed per second of wall time, embedded
               mini-cluster start and stop included
events/s/core  events/s divided by GOMAXPROCS (%d): the source, operator and
               exchange goroutines and the garbage collector may run on every
               CPU the process has, so this divides by all of them; a lower bound
cores used     process CPU time / wall time during the best run
events/cpu-s   events/s / cores used: throughput per core actually used, which is
               how Flink's Nexmark results divide by the TaskManagers' CPU usage
plain events/s the same query as a single-goroutine Go loop over the same events
ratio          events/s / plain events/s
`, procs)
	return nil
}

// human formats a rate as 1.23M, 155K or 950.
func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fK", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
