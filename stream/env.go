package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/ha"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/minicluster"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/taskmanager/agent"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// ModeEnv is the environment variable that selects how Execute runs a job.
const ModeEnv = agent.EnvMode

// Modes of a job binary.
const (
	ModeLocal       = ""                    // embedded mini-cluster
	ModePlan        = "plan"                // print the job graph and exit
	ModeTaskManager = agent.ModeTaskManager // run as a TaskManager of a cluster
)

// ErrInvalidJob is wrapped by every error about how a job was built.
var ErrInvalidJob = errors.New("invalid job")

// JobResult is the final status of a job: its state, tasks and error.
type JobResult = jobmanager.JobStatus

// Environment holds the dataflow being built and the job-wide settings.
type Environment struct {
	parallelism    int
	maxParallelism int
	chainingOff    bool
	taskManagers   int
	slotsPerTM     int
	exchange       task.Config
	checkpoints    checkpoint.Config
	restart        *restart.Config
	stdout         io.Writer
	logger         *slog.Logger
	outOnce        sync.Once
	out            *lockedWriter
	nodes          []*node
	byUID          map[string]*node
	planned        *jobgraph.Graph
	errs           []error

	// watermarkInterval is the auto-watermark interval; 0: the default.
	watermarkInterval time.Duration
}

// ParallelismEnv, when set, overrides the default parallelism a job binary
// is built with; clients use it to plan and TaskManagers to rebuild a job
// at a chosen parallelism.
const ParallelismEnv = agent.EnvParallelism

// NewEnvironment returns an environment whose default parallelism is the
// number of CPUs, or SLUICE_PARALLELISM when that is set.
func NewEnvironment() *Environment {
	parallelism := runtime.NumCPU()
	if v := os.Getenv(ParallelismEnv); v != "" {
		if p, err := strconv.Atoi(v); err == nil && p > 0 {
			parallelism = p
		}
	}
	return &Environment{
		parallelism:  parallelism,
		taskManagers: 1,
		exchange:     task.DefaultConfig(),
		stdout:       os.Stdout,
		logger:       embeddedLogger(),
	}
}

// embeddedLogger is the default logger of the embedded cluster: warnings
// and errors as text on standard error, unless SLUICE_LOG_LEVEL and
// SLUICE_LOG_FORMAT, where valid, say otherwise.
func embeddedLogger() *slog.Logger {
	level := slog.LevelWarn
	if v := os.Getenv(agent.EnvLogLevel); v != "" {
		if l, err := logging.ParseLevel(v); err == nil {
			level = l
		}
	}
	format := os.Getenv(agent.EnvLogFormat)
	if logging.CheckFormat(format) != nil {
		format = logging.FormatText
	}
	log, _ := logging.New(os.Stderr, level, format)
	return log
}

// SetParallelism sets the parallelism of operators that do not set their own.
func (e *Environment) SetParallelism(p int) *Environment {
	if p < 1 {
		e.fail(fmt.Errorf("%w: environment parallelism %d must be at least 1", ErrInvalidJob, p))
	}
	e.parallelism = p
	return e
}

// Parallelism returns the default parallelism.
func (e *Environment) Parallelism() int { return e.parallelism }

// SetMaxParallelism sets the default max parallelism (the number of key
// groups) of operators that do not set their own.
func (e *Environment) SetMaxParallelism(p int) *Environment {
	e.maxParallelism = p
	return e
}

// DisableChaining turns operator chaining off for the whole job.
func (e *Environment) DisableChaining() *Environment {
	e.chainingOff = true
	return e
}

// SetMiniCluster sets the shape of the embedded cluster: the number of
// TaskManagers and the slots of each (0: as many as the job needs).
func (e *Environment) SetMiniCluster(taskManagers, slotsPerTaskManager int) *Environment {
	e.taskManagers = max(taskManagers, 1)
	e.slotsPerTM = slotsPerTaskManager
	return e
}

// SetExchange tunes batch size, buffer timeout and credits of the exchange.
func (e *Environment) SetExchange(c task.Config) *Environment {
	e.exchange = c.WithDefaults()
	return e
}

// SetLogger sets the logger of the embedded cluster (default: warnings and
// errors to standard error, or the level and format of SLUICE_LOG_LEVEL and
// SLUICE_LOG_FORMAT). Lines about a subtask carry its job, task, task_name,
// subtask and attempt.
func (e *Environment) SetLogger(l *slog.Logger) *Environment {
	e.logger = l
	return e
}

// EnableCheckpointing takes a checkpoint every interval (exactly-once by
// default). A failed job restarts from its latest completed checkpoint:
// keyed state and source positions as they were, nothing counted twice.
func (e *Environment) EnableCheckpointing(interval time.Duration) *Environment {
	e.checkpoints.Interval = interval
	return e
}

// CheckpointConfig returns the checkpoint settings.
func (e *Environment) CheckpointConfig() checkpoint.Config { return e.checkpoints }

// SetCheckpointConfig sets every checkpoint setting at once.
func (e *Environment) SetCheckpointConfig(c checkpoint.Config) *Environment {
	e.checkpoints = c
	return e
}

// SetRestartStrategy sets how the embedded cluster restarts a failed job
// (default: no restart).
func (e *Environment) SetRestartStrategy(c restart.Config) *Environment {
	e.restart = &c
	return e
}

// submission is what the embedded cluster runs.
func (e *Environment) submission(g *jobgraph.Graph) (jobmanager.Submission, error) {
	sub := jobmanager.Submission{Graph: g, Program: e, Config: e.exchange, Checkpoints: e.checkpoints}
	if e.restart != nil {
		s, err := restart.New(*e.restart)
		if err != nil {
			return sub, fmt.Errorf("%w: %w", ErrInvalidJob, err)
		}
		sub.Restart = s
	}
	return sub, nil
}

// SetOutput redirects the Print sinks (default: standard output).
func (e *Environment) SetOutput(w io.Writer) *Environment {
	e.stdout = w
	return e
}

func (e *Environment) fail(err error) { e.errs = append(e.errs, err) }

// errorf returns an ErrInvalidJob error.
func errorf(format string, a ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalidJob, fmt.Errorf(format, a...))
}

// Execute runs the job as SLUICE_MODE says (see the package comment) and
// returns its final status. A job that fails returns its status and an error
// naming the task and operator that failed.
func (e *Environment) Execute(ctx context.Context, name string) (*JobResult, error) {
	switch mode := os.Getenv(ModeEnv); mode {
	case ModeLocal:
	case ModePlan:
		g, err := e.Plan(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sluice plan:", err)
			os.Exit(2)
		}
		data, _ := g.Marshal()
		os.Stdout.Write(append(data, '\n'))
		os.Exit(0)
	case ModeTaskManager:
		os.Exit(e.runTaskManager(ctx, name))
	default:
		return nil, fmt.Errorf("%s=%q is not a mode of this binary; use %q, %q, or leave it unset (embedded mini-cluster)", ModeEnv, mode, ModePlan, ModeTaskManager)
	}
	client, err := e.ExecuteAsync(ctx, name)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	status, err := client.Wait(ctx)
	if err != nil && ctx.Err() != nil {
		// Interrupted: cancel and report the job as it ended.
		client.Cancel()
		status, _ = client.Wait(context.Background())
		return &status, ctx.Err()
	}
	if status.State == jobmanager.StateFailed {
		return &status, status.Err()
	}
	return &status, err
}

// runTaskManager serves this binary's job as a TaskManager of the cluster
// named by the environment (see package agent) and returns an exit code.
func (e *Environment) runTaskManager(ctx context.Context, name string) int {
	log, err := agent.NewLogger(os.Stderr, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice taskmanager:", err)
		return 2
	}
	g, err := e.Plan(name)
	if err != nil {
		log.Error("sluice taskmanager: planning the job", "err", err)
		return 2
	}
	slots, err1 := agent.EnvInt(os.Getenv, agent.EnvSlots)
	memory, err2 := agent.EnvInt(os.Getenv, agent.EnvManagedMemory)
	window, err3 := agent.EnvInt(os.Getenv, agent.EnvStreamWindow)
	if err := errors.Join(err1, err2, err3); err != nil {
		log.Error("sluice taskmanager: bad setting", "err", err)
		return 2
	}
	agent.SizeProcs(int(slots), os.Getenv, log)
	if path := os.Getenv("SLUICE_CPUPROFILE"); path != "" {
		// Profile the TaskManager until it exits: SLUICE_CPUPROFILE=DIR
		// writes DIR/<taskmanager id>.pprof.
		f, err := os.Create(filepath.Join(path, os.Getenv(agent.EnvID)+".pprof"))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	cfg := agent.Config{
		JobManager: os.Getenv(agent.EnvJobManager), ID: os.Getenv(agent.EnvID), Slots: int(slots),
		ManagedMemory: memory, StreamWindow: window, DataAddr: os.Getenv(agent.EnvDataAddr), Program: e, Graph: g, Logger: log,
		MetricsAddr: os.Getenv(agent.EnvMetricsAddr),
		Consul:      os.Getenv(agent.EnvConsul), ConsulToken: os.Getenv(agent.EnvConsulToken), Cluster: os.Getenv(agent.EnvCluster),
	}
	if addr := os.Getenv(agent.EnvConsul); addr != "" {
		d, err := ha.NewConsulDiscovery(ha.ConsulConfig{Address: addr, Token: os.Getenv(agent.EnvConsulToken), Cluster: os.Getenv(agent.EnvCluster), Logger: log})
		if err != nil {
			log.Error("sluice taskmanager: "+agent.EnvConsul, "err", err)
			return 1
		}
		cfg.Discovery = d
	}
	err = agent.Run(ctx, cfg)
	if err != nil {
		log.Error("sluice taskmanager: stopped", "err", err)
		return 1
	}
	return 0
}

// ExecuteAsync starts the job on a new embedded mini-cluster sized for it and
// returns at once. Closing the returned client stops the cluster.
func (e *Environment) ExecuteAsync(ctx context.Context, name string) (*minicluster.JobClient, error) {
	g, err := e.Plan(name)
	if err != nil {
		return nil, err
	}
	slots := e.slotsPerTM
	if slots == 0 {
		tasks, _ := g.Tasks()
		need := scheduler.SlotsNeeded(tasks)
		slots = (need + e.taskManagers - 1) / e.taskManagers
	}
	mc, err := minicluster.New(minicluster.Config{TaskManagers: e.taskManagers, SlotsPerTaskManager: slots, Logger: e.logger})
	if err != nil {
		return nil, err
	}
	sub, err := e.submission(g)
	if err != nil {
		mc.Close()
		return nil, err
	}
	client, err := mc.Submit(ctx, sub)
	if err != nil {
		mc.Close()
		return nil, err
	}
	client.OnClose(mc.Close)
	return client, nil
}

// SubmitTo submits the job to a running mini-cluster, which may run other
// jobs too, and returns at once.
func (e *Environment) SubmitTo(ctx context.Context, mc *minicluster.MiniCluster, name string) (*minicluster.JobClient, error) {
	g, err := e.Plan(name)
	if err != nil {
		return nil, err
	}
	sub, err := e.submission(g)
	if err != nil {
		return nil, err
	}
	return mc.Submit(ctx, sub)
}
