package taskmanager

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Config configures a TaskManager.
type Config struct {
	// ID names the TaskManager; required.
	ID string
	// Slots is the number of task slots (default: the number of CPUs).
	Slots int
	// Exchange is where the channels of this TaskManager's subtasks meet
	// their peers'; TaskManagers of one process share it. Required.
	Exchange *network.Exchange
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if c.ID == "" {
		return errors.New("taskmanager: Config.ID is empty; give the TaskManager a name")
	}
	if c.Slots == 0 {
		c.Slots = runtime.NumCPU()
	}
	if c.Slots < 0 {
		return fmt.Errorf("taskmanager: %d slots; a TaskManager needs at least one", c.Slots)
	}
	if c.Exchange == nil {
		return errors.New("taskmanager: Config.Exchange is nil")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Reporter receives subtask state changes; the JobManager implements it.
type Reporter interface {
	UpdateTask(task.Update)
}

// TaskManager runs subtasks.
type TaskManager struct {
	cfg      Config
	reporter Reporter
	log      *slog.Logger

	mu   sync.Mutex
	jobs map[jobKey]*jobRun
	wg   sync.WaitGroup
}

type jobKey struct {
	id      string
	attempt int
}

// jobRun is what a TaskManager holds for one attempt of a job.
type jobRun struct {
	done      chan struct{}
	cancelled bool
	edges     []jobgraph.TaskEdge // every task edge of the job
}

// New returns a TaskManager that reports to r.
func New(cfg Config, r Reporter) (*TaskManager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &TaskManager{cfg: cfg, reporter: r, log: cfg.Logger.With("taskmanager", cfg.ID), jobs: make(map[jobKey]*jobRun)}, nil
}

// ID returns the TaskManager's name.
func (tm *TaskManager) ID() string { return tm.cfg.ID }

// Slots returns the number of slots.
func (tm *TaskManager) Slots() int { return tm.cfg.Slots }

func (tm *TaskManager) job(d *task.Deployment) *jobRun {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	k := jobKey{d.JobID, d.Attempt}
	j, ok := tm.jobs[k]
	if !ok {
		_, edges := d.Graph.Tasks()
		j = &jobRun{done: make(chan struct{}), edges: edges}
		tm.jobs[k] = j
	}
	return j
}

// Deploy starts a subtask. Failures after this point, including in the job's
// code building the chain, are reported through the Reporter.
func (tm *TaskManager) Deploy(d *task.Deployment, p task.Program) error {
	j := tm.job(d)
	tm.wg.Add(1)
	go tm.run(d, p, j)
	return nil
}

func (tm *TaskManager) run(d *task.Deployment, p task.Program, j *jobRun) {
	defer tm.wg.Done()
	up := task.Update{JobID: d.JobID, Attempt: d.Attempt, Task: d.Task.ID, Subtask: d.Subtask, Stats: new(task.Stats)}
	log := tm.log.With("job", d.JobID, "task", d.String(), "attempt", d.Attempt)
	err := tm.execute(d, p, j, up, log)
	switch {
	case err == nil:
		up.State = task.StateFinished
	case errors.Is(err, task.ErrCancelled):
		up.State = task.StateCancelled
	default:
		up.State, up.Err = task.StateFailed, fmt.Errorf("task %s: %w", d, err)
		log.Error("task failed", "err", err)
	}
	log.Debug("task ended", "state", up.State)
	tm.reporter.UpdateTask(up)
}

func (tm *TaskManager) execute(d *task.Deployment, p task.Program, j *jobRun, up task.Update, log *slog.Logger) (err error) {
	cfg := d.Config.WithDefaults()
	var inbox *network.Inbox
	if len(d.Inputs) > 0 {
		id := network.InboxID{Job: d.JobID, Attempt: d.Attempt, Task: d.Task.ID, Subtask: d.Subtask}
		if inbox, err = tm.cfg.Exchange.Inbox(id, task.InputChannels(d.Graph, d.Inputs), cfg.Credits); err != nil {
			return err
		}
	}
	io := &taskIO{tm: tm, d: d, job: j, stats: up.Stats, credits: cfg.Credits}
	chain, err := newChain(p, d, io)
	if err != nil {
		return err
	}
	up.State = task.StateRunning
	tm.reporter.UpdateTask(up)
	log.Debug("task running")
	return task.Run(chain, inbox, j.done, cfg, up.Stats)
}

// newChain builds the chain, turning a panic in the job's code into an error.
func newChain(p task.Program, d *task.Deployment, io task.IO) (c task.Chain, err error) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(task.Failure); ok {
				err = f.Err
				return
			}
			err = fmt.Errorf("building the chain panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return p.NewChain(d, io)
}

// CancelJob cancels every subtask of a job attempt on this TaskManager.
func (tm *TaskManager) CancelJob(jobID string, attempt int) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if j, ok := tm.jobs[jobKey{jobID, attempt}]; ok && !j.cancelled {
		j.cancelled = true
		close(j.done)
	}
}

// ReleaseJob forgets a job attempt whose subtasks have all ended.
func (tm *TaskManager) ReleaseJob(jobID string, attempt int) {
	tm.CancelJob(jobID, attempt)
	tm.mu.Lock()
	delete(tm.jobs, jobKey{jobID, attempt})
	tm.mu.Unlock()
	tm.cfg.Exchange.Release(jobID, attempt)
}

// Close cancels every job and waits for all subtasks to end.
func (tm *TaskManager) Close() error {
	tm.mu.Lock()
	for _, j := range tm.jobs {
		if !j.cancelled {
			j.cancelled = true
			close(j.done)
		}
	}
	tm.mu.Unlock()
	tm.wg.Wait()
	return nil
}

// taskIO gives one subtask its output channels.
type taskIO struct {
	tm      *TaskManager
	d       *task.Deployment
	job     *jobRun
	stats   *task.Stats
	credits int
}

func (io *taskIO) Done() <-chan struct{} { return io.job.done }

func (io *taskIO) Stats() *task.Stats { return io.stats }

// Outputs returns the channels of edge e, indexed by consumer subtask.
func (io *taskIO) Outputs(e jobgraph.TaskEdge) ([]*network.Channel, error) {
	g := io.d.Graph
	target, ok := g.Operator(e.Target)
	if !ok {
		return nil, fmt.Errorf("taskmanager: edge to unknown operator %s", e.Target)
	}
	var inputs []jobgraph.TaskEdge
	edgeIdx := -1
	for _, te := range io.job.edges {
		if te.TargetTask == e.TargetTask {
			if te.Source == e.Source && te.Target == e.Target {
				edgeIdx = len(inputs)
			}
			inputs = append(inputs, te)
		}
	}
	if edgeIdx < 0 {
		return nil, fmt.Errorf("taskmanager: edge %s -> %s is not in the job's graph", e.Source, e.Target)
	}
	n := task.InputChannels(g, inputs)
	consumers := make([]int, 0, target.Parallelism)
	if e.Partitioning == jobgraph.Forward {
		consumers = append(consumers, io.d.Subtask)
	} else {
		for i := range target.Parallelism {
			consumers = append(consumers, i)
		}
	}
	chans := make([]*network.Channel, len(consumers))
	for i, sub := range consumers {
		id := network.InboxID{Job: io.d.JobID, Attempt: io.d.Attempt, Task: e.TargetTask, Subtask: sub}
		in, err := io.tm.cfg.Exchange.Inbox(id, n, io.credits)
		if err != nil {
			return nil, err
		}
		chans[i] = in.Channel(task.ChannelIndex(g, inputs, edgeIdx, io.d.Subtask))
	}
	return chans, nil
}
