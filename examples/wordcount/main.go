// Command wordcount counts the words of a text on the embedded mini-cluster
// and prints the most frequent ones.
//
//	go run ./examples/wordcount [--input FILE] [--parallelism N] [--top N]
//
// Without --input it counts a bundled text (Hamlet's soliloquy).
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/stream"
)

//go:embed hamlet.txt
var bundled string

func main() {
	input := flag.String("input", "", "text file to count (default: a bundled text)")
	parallelism := flag.Int("parallelism", min(runtime.NumCPU(), 4), "parallel subtasks per operator")
	top := flag.Int("top", 10, "how many of the most frequent words to print")
	flag.Parse()
	if err := run(*input, *parallelism, *top); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

func run(input string, parallelism, top int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env := stream.NewEnvironment().SetParallelism(parallelism)
	var lines *stream.DataStream[string]
	if input == "" {
		lines = stream.FromSlice(env, strings.Split(strings.TrimSpace(bundled), "\n"))
	} else {
		if _, err := os.Stat(input); err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		lines = stream.FromTextFile(env, input)
	}
	counts := Build(lines)

	res, err := env.Execute(ctx, "wordcount")
	if err != nil {
		return err
	}
	all := counts.All()
	var total int64
	for _, c := range all {
		total += c
	}
	var tasks []string
	for _, t := range res.Tasks {
		if t.Subtask == 0 {
			tasks = append(tasks, fmt.Sprintf("  %-32s %d subtasks", t.Name, t.Parallelism))
		}
	}
	fmt.Printf("%d words, %d distinct, counted in %v by %d chained tasks:\n%s\n",
		total, len(all), res.Duration().Round(10*time.Microsecond), len(tasks), strings.Join(tasks, "\n"))
	fmt.Printf("top %d:\n", top)
	for _, wc := range Top(all, top) {
		fmt.Printf("  %-12s %d\n", wc.Word, wc.Count)
	}
	return nil
}
