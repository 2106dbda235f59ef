package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/minicluster"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// ModeEnv is the environment variable that selects how Execute runs a job.
const ModeEnv = "SLUICE_MODE"

// Modes of a job binary.
const (
	ModeLocal = ""     // embedded mini-cluster
	ModePlan  = "plan" // print the job graph and exit
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
	stdout         io.Writer
	logger         *slog.Logger
	outOnce        sync.Once
	out            *lockedWriter
	nodes          []*node
	byUID          map[string]*node
	planned        *jobgraph.Graph
	errs           []error
}

// NewEnvironment returns an environment with default parallelism equal to
// the number of CPUs.
func NewEnvironment() *Environment {
	return &Environment{
		parallelism:  runtime.NumCPU(),
		taskManagers: 1,
		exchange:     task.DefaultConfig(),
		stdout:       os.Stdout,
		logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
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
// errors to standard error).
func (e *Environment) SetLogger(l *slog.Logger) *Environment {
	e.logger = l
	return e
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
	default:
		return nil, fmt.Errorf("%s=%q is not a mode of this binary; use %q (plan) or leave it unset (embedded mini-cluster)", ModeEnv, mode, ModePlan)
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
	client, err := mc.Submit(ctx, g, e, e.exchange)
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
	return mc.Submit(ctx, g, e, e.exchange)
}
