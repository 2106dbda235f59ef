// Command jobmanager runs a Sluice JobManager: the REST API clients and jmctl
// talk to, the control endpoint TaskManagers register with, and the
// scheduler. With no flags it is a working cluster on this machine: jobs get
// TaskManager processes started from their own binaries (provider local).
//
//	jobmanager [--http-addr 127.0.0.1:8081] [--rpc-addr 127.0.0.1:6123] [--provider local|standalone|nomad] ...
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/jobmanager/restart"
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
	cfg := server.DefaultConfig()
	flag.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "address of the REST API")
	flag.StringVar(&cfg.RPCAddr, "rpc-addr", cfg.RPCAddr, "address of the control endpoint TaskManagers connect to")
	flag.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for artifacts and TaskManager logs")
	flag.StringVar(&cfg.Provider, "provider", cfg.Provider, "where TaskManagers come from: local (child processes started from each job's binary), standalone (started by hand) or nomad (Nomad allocations of each job's binary)")
	flag.IntVar(&cfg.SlotsPerTaskManager, "slots", cfg.SlotsPerTaskManager, "slots of each TaskManager the local or nomad provider starts")
	flag.Int64Var(&cfg.TaskManagerMemory, "taskmanager-memory", cfg.TaskManagerMemory, "managed memory of each TaskManager the local or nomad provider starts, bytes")
	flag.DurationVar(&cfg.SlotTimeout, "slot-timeout", cfg.SlotTimeout, "how long a job waits for slots before it fails")
	flag.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", cfg.HeartbeatInterval, "how often TaskManagers heartbeat")
	flag.DurationVar(&cfg.HeartbeatTimeout, "heartbeat-timeout", cfg.HeartbeatTimeout, "silence after which a TaskManager is lost")
	flag.DurationVar(&cfg.Exchange.BufferTimeout, "buffer-timeout", cfg.Exchange.BufferTimeout, "longest a record waits in a partly filled output buffer")
	kind := flag.String("restart-strategy", string(cfg.Restart.Kind), "fixed-delay, exponential-delay, failure-rate or none")
	flag.IntVar(&cfg.Restart.Attempts, "restart-attempts", cfg.Restart.Attempts, "fixed-delay: restarts allowed")
	flag.DurationVar(&cfg.Restart.Delay, "restart-delay", cfg.Restart.Delay, "fixed-delay and failure-rate: delay before a restart")
	flag.IntVar(&cfg.Restart.MaxFailures, "restart-max-failures", cfg.Restart.MaxFailures, "failure-rate: failures allowed per interval")
	flag.DurationVar(&cfg.Restart.Interval, "restart-interval", cfg.Restart.Interval, "failure-rate: the interval")
	flag.DurationVar(&cfg.Restart.InitialDelay, "restart-initial-delay", cfg.Restart.InitialDelay, "exponential-delay: first delay")
	flag.DurationVar(&cfg.Restart.MaxDelay, "restart-max-delay", cfg.Restart.MaxDelay, "exponential-delay: longest delay")
	flag.StringVar(&cfg.StateBackend, "state-backend", cfg.StateBackend, "where checkpoints and savepoints go: memory (held by the JobManager), s3, the name of a sluice-backend-NAME binary, or the path of a backend binary")
	flag.Func("state-backend-setting", "a `key=value` setting of the state backend, repeatable (s3: bucket, prefix, endpoint, region, path_style, access_key_id, secret_access_key, session_token)", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", v)
		}
		if cfg.StateBackendSettings == nil {
			cfg.StateBackendSettings = map[string]string{}
		}
		cfg.StateBackendSettings[k] = val
		return nil
	})
	flag.BoolVar(&cfg.ShareStateBackend, "share-state-backend", false, "serve the state backend to the TaskManagers through the JobManager, whichever it is (always so for memory)")
	flag.StringVar(&cfg.ID, "id", "", "this JobManager's id among its standbys (default host-pid)")
	flag.StringVar(&cfg.Consul, "consul", os.Getenv("SLUICE_CONSUL"), "Consul agent address (host:port): elect the leader there and keep jobs and checkpoint pointers for the next one (env SLUICE_CONSUL)")
	flag.StringVar(&cfg.ConsulToken, "consul-token", os.Getenv("SLUICE_CONSUL_TOKEN"), "Consul ACL token (env SLUICE_CONSUL_TOKEN)")
	flag.StringVar(&cfg.Cluster, "cluster", os.Getenv("SLUICE_CLUSTER"), "cluster name under Consul's sluice/ prefix (default \"default\"; env SLUICE_CLUSTER)")
	flag.StringVar(&cfg.AdvertiseHost, "advertise-host", "", "host TaskManagers, Nomad clients and other JobManagers reach this one at (default: the listen host, or this machine's first non-loopback address)")
	addNomadFlags(&cfg.Nomad)
	level := flag.String("log-level", "info", "debug, info, warn or error")
	flag.Parse()

	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "jobmanager: --log-level %q: use debug, info, warn or error\n", *level)
		os.Exit(2)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	k, err := restart.ParseKind(*kind)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jobmanager: --restart-strategy:", err)
		os.Exit(2)
	}
	cfg.Restart.Kind = k
	if cfg.StateBackend == server.BackendMemory {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "jobmanager: locating this executable to serve the memory backend:", err)
			os.Exit(1)
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
