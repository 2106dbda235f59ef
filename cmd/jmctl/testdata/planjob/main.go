// Command planjob is a tiny job binary for jmctl's tests: a sequence
// source, a map and a print sink. Its job name comes from -name, so that
// tests can see its arguments reached plan mode, and SLUICE_PARALLELISM
// sets its default parallelism.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/sluicehq/sluice/stream"
)

func main() {
	name := flag.String("name", "planjob", "job name")
	n := flag.Int64("n", 100, "numbers to square")
	flag.Parse()

	env := stream.NewEnvironment().SetParallelism(1)
	if p, err := strconv.Atoi(os.Getenv("SLUICE_PARALLELISM")); err == nil {
		env.SetParallelism(p)
	}
	nums := stream.FromSequence(env, 1, *n)
	squares := stream.Map(nums, func(x int64) int64 { return x * x }).Name("Square")
	stream.Print(squares)
	if _, err := env.Execute(context.Background(), *name); err != nil {
		fmt.Fprintln(os.Stderr, "planjob:", err)
		os.Exit(1)
	}
}
