package examples

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// Report prints what a finished example computed, when it runs embedded.
type Report func(w io.Writer, res *stream.JobResult)

// builders are the examples by name: each parses its arguments and adds
// its dataflow to env.
var builders = map[string]func(env *stream.Environment, args []string) (Report, error){
	"wordcount": buildWordCount,
}

// Names lists the examples.
func Names() []string { return slices.Sorted(maps.Keys(builders)) }

// Build adds the example called name, configured by args, to env.
func Build(env *stream.Environment, name string, args []string) (Report, error) {
	b, ok := builders[name]
	if !ok {
		return nil, fmt.Errorf("no example %q; the examples are %s", name, strings.Join(Names(), ", "))
	}
	return b(env, args)
}

func buildWordCount(env *stream.Environment, args []string) (Report, error) {
	fs := flag.NewFlagSet("wordcount", flag.ContinueOnError)
	input := fs.String("input", "", "text file to count (default: a bundled text)")
	output := fs.String("output", "", "directory to write every word's count to (part-1, part-2, ...); without it the counts are printed")
	parallelism := fs.Int("parallelism", 0, "parallel subtasks per operator (default: SLUICE_PARALLELISM, else min(CPUs, 4))")
	top := fs.Int("top", 10, "how many of the most frequent words to print")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("wordcount: %w", err)
	}
	switch {
	case *parallelism > 0:
		env.SetParallelism(*parallelism)
	case os.Getenv(stream.ParallelismEnv) == "":
		env.SetParallelism(min(env.Parallelism(), 4))
	}
	var lines *stream.DataStream[string]
	if *input == "" {
		lines = stream.FromSlice(env, strings.Split(strings.TrimSpace(Hamlet), "\n"))
	} else {
		if _, err := os.Stat(*input); err != nil {
			return nil, fmt.Errorf("wordcount: --input: %w", err)
		}
		lines = stream.FromTextFile(env, *input)
	}
	counts := WordCounts(lines)
	if *output != "" {
		WriteCounts(counts, *output)
		return func(w io.Writer, res *stream.JobResult) {
			fmt.Fprintf(w, "counted in %v by %s; counts in %s\n", res.Duration().Round(10*time.Microsecond), describeTasks(res), *output)
		}, nil
	}
	collected := CollectCounts(counts)
	return func(w io.Writer, res *stream.JobResult) {
		all := collected.All()
		var total int64
		for _, c := range all {
			total += c
		}
		fmt.Fprintf(w, "%d words, %d distinct, counted in %v by %s\n", total, len(all), res.Duration().Round(10*time.Microsecond), describeTasks(res))
		fmt.Fprintf(w, "top %d:\n", *top)
		for _, wc := range Top(all, *top) {
			fmt.Fprintf(w, "  %-12s %d\n", wc.Word, wc.Count)
		}
	}, nil
}

// describeTasks lists a job's chained tasks, one per line.
func describeTasks(res *stream.JobResult) string {
	var tasks []string
	for _, t := range res.Tasks {
		if t.Subtask == 0 {
			tasks = append(tasks, fmt.Sprintf("  %-32s %d subtasks", t.Name, t.Parallelism))
		}
	}
	return fmt.Sprintf("%d chained tasks:\n%s", len(tasks), strings.Join(tasks, "\n"))
}
