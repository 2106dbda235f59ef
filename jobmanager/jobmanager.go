package jobmanager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// ErrUnknownJob is returned for a job id the JobManager does not know.
var ErrUnknownJob = errors.New("unknown job")

// TaskManagerGateway is how the JobManager commands a TaskManager.
type TaskManagerGateway interface {
	ID() string
	Slots() int
	Deploy(d *task.Deployment, p task.Program) error
	CancelJob(jobID string, attempt int)
	ReleaseJob(jobID string, attempt int)
}

// Submission is a job to run.
type Submission struct {
	Graph   *jobgraph.Graph
	Program task.Program // the job's code, for in-process TaskManagers
	Config  task.Config  // exchange settings
}

// Config configures a JobManager.
type Config struct {
	Logger *slog.Logger // defaults to slog.Default()
}

// JobManager accepts jobs and runs them on its TaskManagers.
type JobManager struct {
	log *slog.Logger

	mu   sync.Mutex
	tms  map[string]TaskManagerGateway
	used map[scheduler.Slot]string // slot -> job id
	jobs map[string]*jobEntry
	ids  []string // submission order
}

type jobEntry struct {
	*job
	done chan struct{} // closed when the job is terminal
}

// New returns a JobManager with no TaskManagers.
func New(cfg Config) *JobManager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &JobManager{
		log:  cfg.Logger.With("component", "jobmanager"),
		tms:  make(map[string]TaskManagerGateway),
		used: make(map[scheduler.Slot]string),
		jobs: make(map[string]*jobEntry),
	}
}

// RegisterTaskManager offers a TaskManager's slots.
func (jm *JobManager) RegisterTaskManager(tm TaskManagerGateway) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	jm.tms[tm.ID()] = tm
	jm.log.Info("taskmanager registered", "id", tm.ID(), "slots", tm.Slots())
}

func (jm *JobManager) freeSlots() []scheduler.Slot {
	var free []scheduler.Slot
	for id, tm := range jm.tms {
		for i := range tm.Slots() {
			s := scheduler.Slot{TaskManager: id, Index: i}
			if _, busy := jm.used[s]; !busy {
				free = append(free, s)
			}
		}
	}
	return free
}

// Submit validates a job, places its subtasks and deploys them. It returns
// the job id; the job runs on.
func (jm *JobManager) Submit(ctx context.Context, sub Submission) (string, error) {
	g := sub.Graph
	if err := g.Validate(); err != nil {
		return "", fmt.Errorf("job %q: %w", g.Name, err)
	}
	if sub.Program == nil {
		return "", fmt.Errorf("job %q: no program to run it", g.Name)
	}
	tasks, edges := g.Tasks()
	jm.mu.Lock()
	placement, err := scheduler.Place(tasks, jm.freeSlots())
	if err != nil {
		jm.mu.Unlock()
		return "", fmt.Errorf("job %q: %w", g.Name, err)
	}
	id := newJobID()
	j := &jobEntry{job: newJob(id, g, tasks, placement, time.Now()), done: make(chan struct{})}
	for _, s := range placement {
		jm.used[s] = id
	}
	jm.jobs[id] = j
	jm.ids = append(jm.ids, id)
	jm.mu.Unlock()
	jm.log.Info("job submitted", "job", id, "name", g.Name, "subtasks", len(j.subtasks))

	var pending []*task.Deployment
	for _, t := range tasks {
		d := task.Deployment{JobID: id, Graph: g, Task: t, Config: sub.Config}
		for _, e := range edges {
			if e.TargetTask == t.ID {
				d.Inputs = append(d.Inputs, e)
			}
			if e.SourceTask == t.ID {
				d.Outputs = append(d.Outputs, e)
			}
		}
		for i := range t.Parallelism {
			d := d
			d.Subtask = i
			pending = append(pending, &d)
		}
	}
	for k, d := range pending {
		slot := placement[scheduler.SubtaskID{Task: d.Task.ID, Index: d.Subtask}]
		jm.mu.Lock()
		tm := jm.tms[slot.TaskManager]
		jm.mu.Unlock()
		if err := tm.Deploy(d, sub.Program); err != nil {
			// The subtasks never deployed will not report: account
			// for them here so the job can reach a final state.
			jm.UpdateTask(task.Update{JobID: id, Task: d.Task.ID, Subtask: d.Subtask, State: task.StateFailed,
				Err: fmt.Errorf("deploying %s to %s: %w", d, slot.TaskManager, err)})
			for _, rest := range pending[k+1:] {
				jm.UpdateTask(task.Update{JobID: id, Task: rest.Task.ID, Subtask: rest.Subtask, State: task.StateCancelled})
			}
			break
		}
	}
	return id, nil
}

// UpdateTask takes a subtask's report from a TaskManager.
func (jm *JobManager) UpdateTask(u task.Update) {
	jm.mu.Lock()
	j, ok := jm.jobs[u.JobID]
	jm.mu.Unlock()
	if !ok {
		return
	}
	jm.apply(j, func() effect { return j.update(u, time.Now()) })
}

// Cancel cancels a running job.
func (jm *JobManager) Cancel(id string) error {
	jm.mu.Lock()
	j, ok := jm.jobs[id]
	jm.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	jm.apply(j, j.cancel)
	return nil
}

// apply runs a state change under the lock, then carries out its effect.
func (jm *JobManager) apply(j *jobEntry, change func() effect) {
	jm.mu.Lock()
	before := j.state
	eff := change()
	after, attempt := j.state, j.attempt
	tms := jm.tmsOf(j)
	if eff == effectTerminal {
		for s, owner := range jm.used {
			if owner == j.id {
				delete(jm.used, s)
			}
		}
	}
	jm.mu.Unlock()
	if before != after {
		jm.log.Info("job state", "job", j.id, "name", j.name, "from", before, "to", after)
	}
	switch eff {
	case effectCancelAll:
		for _, tm := range tms {
			tm.CancelJob(j.id, attempt)
		}
	case effectTerminal:
		for _, tm := range tms {
			tm.ReleaseJob(j.id, attempt)
		}
		close(j.done)
	}
}

// tmsOf returns the TaskManagers holding the job's subtasks (lock held).
func (jm *JobManager) tmsOf(j *jobEntry) []TaskManagerGateway {
	var ids []string
	for _, st := range j.subtasks {
		if !slices.Contains(ids, st.slot.TaskManager) {
			ids = append(ids, st.slot.TaskManager)
		}
	}
	var out []TaskManagerGateway
	for _, id := range ids {
		if tm, ok := jm.tms[id]; ok {
			out = append(out, tm)
		}
	}
	return out
}

// Status returns a job's status.
func (jm *JobManager) Status(id string) (JobStatus, error) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	j, ok := jm.jobs[id]
	if !ok {
		return JobStatus{}, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	return j.status(), nil
}

// List returns every job's status in submission order.
func (jm *JobManager) List() []JobStatus {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	out := make([]JobStatus, 0, len(jm.ids))
	for _, id := range jm.ids {
		out = append(out, jm.jobs[id].status())
	}
	return out
}

// Wait blocks until the job ends or ctx is done, and returns its status.
func (jm *JobManager) Wait(ctx context.Context, id string) (JobStatus, error) {
	jm.mu.Lock()
	j, ok := jm.jobs[id]
	jm.mu.Unlock()
	if !ok {
		return JobStatus{}, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		s, _ := jm.Status(id)
		return s, ctx.Err()
	}
	return jm.Status(id)
}

// Close cancels every running job and waits for them to end.
func (jm *JobManager) Close() error {
	jm.mu.Lock()
	ids := slices.Clone(jm.ids)
	jm.mu.Unlock()
	for _, id := range ids {
		_ = jm.Cancel(id)
	}
	for _, id := range ids {
		_, _ = jm.Wait(context.Background(), id)
	}
	return nil
}

func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
