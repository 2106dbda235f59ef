package jobmanager

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// JobState is the lifecycle state of a job.
type JobState string

// Job states, as in Flink (a job is running from its submission until there
// is a phase of waiting for slots).
const (
	StateRunning    JobState = "running"
	StateFailing    JobState = "failing"
	StateFailed     JobState = "failed"
	StateCancelling JobState = "cancelling"
	StateCancelled  JobState = "cancelled"
	StateFinished   JobState = "finished"
)

// Terminal reports whether a job in state s has ended.
func (s JobState) Terminal() bool {
	return s == StateFailed || s == StateCancelled || s == StateFinished
}

// TaskStatus is the status of one subtask.
type TaskStatus struct {
	Task        string     `json:"task"` // task id: the uid of its head operator
	Name        string     `json:"name"` // operator names joined by " -> "
	Operators   []string   `json:"operators"`
	Subtask     int        `json:"subtask"`
	Parallelism int        `json:"parallelism"`
	TaskManager string     `json:"taskManager"`
	Slot        int        `json:"slot"`
	State       task.State `json:"state"`
	RecordsIn   int64      `json:"recordsIn"`
	RecordsOut  int64      `json:"recordsOut"`
	Error       string     `json:"error,omitempty"`
}

// JobStatus is a snapshot of a job.
type JobStatus struct {
	ID    string       `json:"id"`
	Name  string       `json:"name"`
	State JobState     `json:"state"`
	Error string       `json:"error,omitempty"`
	Start time.Time    `json:"start"`
	End   time.Time    `json:"end,omitzero"`
	Tasks []TaskStatus `json:"tasks"`

	err error
}

// Err returns the job's failure, or nil.
func (s *JobStatus) Err() error { return s.err }

// Duration returns how long the job ran (so far).
func (s *JobStatus) Duration() time.Duration {
	if s.End.IsZero() {
		return time.Since(s.Start)
	}
	return s.End.Sub(s.Start)
}

// ErrJobFailed is wrapped by the error of a failed job.
var ErrJobFailed = errors.New("job failed")

// effect is what the JobManager must do after a job changed.
type effect uint8

const (
	effectNone      effect = iota
	effectCancelAll        // cancel every subtask of the job
	effectTerminal         // the job ended: release slots and channels
)

// subtask is the JobManager's record of one subtask.
type subtask struct {
	status TaskStatus
	slot   scheduler.Slot
	stats  *task.Stats
}

// job is the state machine of one job; it does no I/O.
type job struct {
	id, name string
	graph    *jobgraph.Graph
	attempt  int
	state    JobState
	err      error
	start    time.Time
	end      time.Time
	subtasks []*subtask
	index    map[scheduler.SubtaskID]*subtask
	live     int // subtasks not yet in a terminal state
}

// newJob creates a running job with its subtasks placed.
func newJob(id string, g *jobgraph.Graph, tasks []jobgraph.Task, placement map[scheduler.SubtaskID]scheduler.Slot, now time.Time) *job {
	j := &job{id: id, name: g.Name, graph: g, state: StateRunning, start: now, index: map[scheduler.SubtaskID]*subtask{}}
	for _, t := range tasks {
		var names []string
		for _, uid := range t.Operators {
			op, _ := g.Operator(uid)
			names = append(names, op.Name)
		}
		for i := range t.Parallelism {
			slot := placement[scheduler.SubtaskID{Task: t.ID, Index: i}]
			st := &subtask{slot: slot, status: TaskStatus{
				Task: t.ID, Name: t.Name, Operators: names, Subtask: i, Parallelism: t.Parallelism,
				TaskManager: slot.TaskManager, Slot: slot.Index, State: task.StateDeploying,
			}}
			j.subtasks = append(j.subtasks, st)
			j.index[scheduler.SubtaskID{Task: t.ID, Index: i}] = st
		}
	}
	j.live = len(j.subtasks)
	return j
}

// update applies a subtask's report.
func (j *job) update(u task.Update, now time.Time) effect {
	st, ok := j.index[scheduler.SubtaskID{Task: u.Task, Index: u.Subtask}]
	if !ok || u.Attempt != j.attempt || st.status.State.Terminal() {
		return effectNone // stale or unknown: ignore
	}
	if u.Stats != nil {
		st.stats = u.Stats
	}
	st.status.State = u.State
	if !u.State.Terminal() {
		return effectNone
	}
	j.live--
	eff := effectNone
	if u.State == task.StateFailed {
		st.status.Error = u.Err.Error()
		if j.state == StateRunning || j.state == StateCancelling {
			j.state = StateFailing
			j.err = fmt.Errorf("%w: job %q (%s): %w", ErrJobFailed, j.name, j.id, u.Err)
			eff = effectCancelAll
		}
	}
	if j.live == 0 {
		j.finish(now)
		return effectTerminal
	}
	return eff
}

// cancel starts cancelling a running job.
func (j *job) cancel() effect {
	if j.state != StateRunning {
		return effectNone
	}
	j.state = StateCancelling
	return effectCancelAll
}

func (j *job) finish(now time.Time) {
	j.end = now
	switch j.state {
	case StateRunning:
		j.state = StateFinished
	case StateFailing:
		j.state = StateFailed
	case StateCancelling:
		j.state = StateCancelled
	}
}

// status returns a snapshot.
func (j *job) status() JobStatus {
	s := JobStatus{ID: j.id, Name: j.name, State: j.state, Start: j.start, End: j.end, err: j.err}
	if j.err != nil {
		s.Error = j.err.Error()
	}
	for _, st := range j.subtasks {
		ts := st.status
		if st.stats != nil {
			ts.RecordsIn = st.stats.RecordsIn.Load()
			ts.RecordsOut = st.stats.RecordsOut.Load()
		}
		s.Tasks = append(s.Tasks, ts)
	}
	return s
}
