// Command taskmanager is a job binary with Sluice's examples built in. Submit
// it like any job binary, naming the example and its arguments:
//
//	jmctl submit ./bin/taskmanager -- wordcount --input /data/book.txt --output /tmp/counts
//
// Run by the JobManager (SLUICE_MODE=taskmanager) it serves as the job's
// TaskManager; run by hand with --jobmanager it joins a standalone cluster:
//
//	taskmanager --jobmanager 127.0.0.1:6123 --slots 4 wordcount --input /data/book.txt
//
// and with neither, it runs the example on the embedded mini-cluster. As a
// TaskManager, --metrics-addr (or SLUICE_METRICS_ADDR) serves its
// Prometheus metrics at http://HOST:PORT/metrics, and --log-level and
// --log-format (SLUICE_LOG_LEVEL, SLUICE_LOG_FORMAT) set its log's level
// and format.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/examples"
	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/taskmanager/agent"
)

func main() {
	fs := flag.NewFlagSet("taskmanager", flag.ExitOnError)
	jobmanager := fs.String("jobmanager", "", "control address of a JobManager to join as a standalone TaskManager")
	slots := fs.Int("slots", 0, "slots to offer (default: CPUs)")
	id := fs.String("id", "", "TaskManager id (default: host-pid)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this host:port at /metrics (port 0: any free port; default: $"+agent.EnvMetricsAddr+", else none)")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn or error (default: $"+agent.EnvLogLevel+", else info; embedded: warn)")
	logFormat := fs.String("log-format", "", "log format: text or json (default: $"+agent.EnvLogFormat+", else text)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: taskmanager [--jobmanager ADDR] [--slots N] [--id ID] [--metrics-addr HOST:PORT] [--log-level LEVEL] [--log-format text|json] EXAMPLE [ARGS...]\nexamples: %s\n", strings.Join(examples.Names(), ", "))
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	if *jobmanager != "" {
		os.Setenv(agent.EnvMode, agent.ModeTaskManager)
		os.Setenv(agent.EnvJobManager, *jobmanager)
	}
	if *slots > 0 {
		os.Setenv(agent.EnvSlots, strconv.Itoa(*slots))
	}
	if *id != "" {
		os.Setenv(agent.EnvID, *id)
	}
	if *metricsAddr != "" {
		os.Setenv(agent.EnvMetricsAddr, *metricsAddr)
	}
	// As a TaskManager and on the embedded cluster alike.
	if _, err := logging.ParseLevel(*logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "taskmanager: --log-level:", err)
		os.Exit(2)
	}
	if err := logging.CheckFormat(*logFormat); err != nil {
		fmt.Fprintln(os.Stderr, "taskmanager: --log-format:", err)
		os.Exit(2)
	}
	if *logLevel != "" {
		os.Setenv(agent.EnvLogLevel, *logLevel)
	}
	if *logFormat != "" {
		os.Setenv(agent.EnvLogFormat, *logFormat)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := stream.NewEnvironment()
	report, err := examples.Build(env, fs.Arg(0), fs.Args()[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "taskmanager:", err)
		os.Exit(2)
	}
	res, err := env.Execute(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "taskmanager:", err)
		os.Exit(1)
	}
	report(os.Stdout, res)
}
