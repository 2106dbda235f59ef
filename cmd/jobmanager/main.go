// Command jobmanager runs a Sluice JobManager: the REST API clients and jmctl
// talk to, the control endpoint TaskManagers register with, and the
// scheduler. With no flags it is a working cluster on this machine: jobs get
// TaskManager processes started from their own binaries (provider local).
//
//	jobmanager [--config FILE|DIR]... [--http-addr 127.0.0.1:8081] [--rpc-addr 127.0.0.1:6123] [--provider local|standalone|nomad] ...
//
// Settings come from the flags given, then environment variables
// (SLUICE_LOG_LEVEL, SLUICE_LOG_FORMAT, SLUICE_CONSUL, SLUICE_CONSUL_TOKEN,
// SLUICE_CLUSTER, NOMAD_ADDR, NOMAD_TOKEN, NOMAD_REGION, NOMAD_NAMESPACE),
// then the HCL files named by
// --config, then the defaults: see package jobmanager/config and
// docs/configuration.md. A configuration that does not check out exits with
// status 1 and says where (file:line) and why.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/jobmanager/config"
	"github.com/sluicehq/sluice/jobmanager/server"
	"github.com/sluicehq/sluice/plugins"
)

// serveMemoryBackend is the hidden argument with which this binary serves
// the memory state backend as the JobManager's plugin process, so that the
// default backend needs no second binary.
const serveMemoryBackend = "__serve-memory-backend"

func main() {
	if len(os.Args) == 2 && os.Args[1] == serveMemoryBackend {
		plugins.Serve(memstore.New())
		return
	}
	fs := flag.NewFlagSet("jobmanager", flag.ExitOnError)
	flags := config.RegisterFlags(fs)
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "jobmanager: unexpected argument %q; a configuration file is given with --config FILE\n", fs.Arg(0))
		os.Exit(2)
	}
	file, err := flags.Resolve(os.LookupEnv)
	if err != nil {
		fail(err)
	}
	cfg, err := file.Config()
	if err != nil {
		fail(err)
	}
	if cfg.StateBackend == server.BackendMemory {
		exe, err := os.Executable()
		if err != nil {
			fail(fmt.Errorf("locating this executable to serve the memory backend: %w", err))
		}
		cfg.StateBackendBinary, cfg.StateBackendArgs = exe, []string{serveMemoryBackend}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // it names the jobmanager already
		os.Exit(1)
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "jobmanager:", err)
		os.Exit(1)
	}
}

// fail prints err, one problem per line, and exits with status 1.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "jobmanager: "+strings.ReplaceAll(err.Error(), "\n", "\njobmanager: "))
	os.Exit(1)
}
