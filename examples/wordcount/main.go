// Command wordcount counts the words of a text and prints the most frequent
// ones.
//
//	go run ./examples/wordcount [--input FILE] [--parallelism N] [--top N] [--output DIR]
//
// Without --input it counts a bundled text (Hamlet's soliloquy). Run as is,
// it uses the embedded mini-cluster; submitted with jmctl it runs on a
// cluster, and --output DIR is where its TaskManagers write the counts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/examples"
	"github.com/sluicehq/sluice/stream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := stream.NewEnvironment()
	report, err := examples.Build(env, "wordcount", os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	res, err := env.Execute(ctx, "wordcount")
	if err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
	report(os.Stdout, res)
}
