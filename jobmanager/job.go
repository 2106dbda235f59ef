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

// Job states, as in Flink.
const (
	StateCreated    JobState = "created" // waiting for slots
	StateRunning    JobState = "running"
	StateRestarting JobState = "restarting" // a failure is being recovered from
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
	// Backpressure is the share of time (0 to 1) the subtask waited to
	// send its output between its last two heartbeats.
	Backpressure float64 `json:"backpressure"`
	Error        string  `json:"error,omitempty"`
}

// Exception is a failure a job went through.
type Exception struct {
	Time    time.Time `json:"time"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

// JobStatus is a snapshot of a job.
type JobStatus struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	State    JobState  `json:"state"`
	Error    string    `json:"error,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitzero"`
	Attempt  int       `json:"attempt"`
	Restarts int       `json:"restarts"`
	// RestoredFrom names what the current attempt restored its state
	// from, e.g. "checkpoint 7"; empty if it started empty.
	RestoredFrom string       `json:"restoredFrom,omitempty"`
	Tasks        []TaskStatus `json:"tasks"`
	Exceptions   []Exception  `json:"exceptions"`

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

// RestartStrategy decides whether and when a failed job restarts.
type RestartStrategy interface {
	Failed(now time.Time) (delay time.Duration, ok bool)
	String() string
}

// noRestart is the strategy of jobs submitted without one.
type noRestart struct{}

func (noRestart) Failed(time.Time) (time.Duration, bool) { return 0, false }
func (noRestart) String() string                         { return "none" }

// effects is what the JobManager must do after a job changed.
type effects struct {
	cancel       bool          // cancel every subtask of the current attempt
	releaseSlots bool          // the attempt ended: free its slots
	restart      bool          // schedule restartDue after restartDelay
	restartDelay time.Duration //
	terminal     bool          // the job ended: release everything
}

// subtask is the JobManager's record of one subtask.
type subtask struct {
	status TaskStatus
	slot   scheduler.Slot
	stats  *task.Stats // in-process TaskManagers only
	// The backpressure counter of the last heartbeat and when it came.
	bpNanos int64
	bpAt    time.Time
}

// job is the state machine of one job; it does no I/O and reads no clock.
type job struct {
	id, name   string
	graph      *jobgraph.Graph
	tasks      []jobgraph.Task
	strategy   RestartStrategy
	state      JobState
	err        error
	start, end time.Time
	attempt    int // of the current or last placement; -1 before the first
	restarts   int
	subtasks   []*subtask
	index      map[scheduler.SubtaskID]*subtask
	live       int // subtasks of the attempt not yet terminal
	exceptions []Exception
	// restartDelay is the strategy's delay for the pending restart.
	restartDelay time.Duration
	// restoredFrom names what the current attempt restored its state
	// from ("checkpoint 7", "savepoint LOCATION"); empty: nothing.
	restoredFrom string
	// stopping: the job is being cancelled after a savepoint; it ends
	// finished, not cancelled.
	stopping bool
	// rescaling: the job is being cancelled after a savepoint to restart
	// at another parallelism; it restarts at once instead of ending.
	rescaling bool
}

func newJob(id string, g *jobgraph.Graph, strategy RestartStrategy, now time.Time) *job {
	if strategy == nil {
		strategy = noRestart{}
	}
	tasks, _ := g.Tasks()
	return &job{id: id, name: g.Name, graph: g, tasks: tasks, strategy: strategy, state: StateCreated, start: now, attempt: -1}
}

// placed starts a new attempt on the given slots: created -> running.
func (j *job) placed(placement map[scheduler.SubtaskID]scheduler.Slot) {
	j.attempt++
	j.state = StateRunning
	j.subtasks, j.index = nil, map[scheduler.SubtaskID]*subtask{}
	for _, t := range j.tasks {
		var names []string
		for _, uid := range t.Operators {
			op, _ := j.graph.Operator(uid)
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
}

// update applies a subtask's report.
func (j *job) update(u task.Update, now time.Time) effects {
	st, ok := j.index[scheduler.SubtaskID{Task: u.Task, Index: u.Subtask}]
	if !ok || u.JobID != j.id || u.Attempt != j.attempt || st.status.State.Terminal() {
		return effects{} // stale or unknown: ignore
	}
	if u.Stats != nil {
		st.stats = u.Stats
	}
	st.status.State = u.State
	if !u.State.Terminal() {
		return effects{}
	}
	j.live--
	var eff effects
	if u.State == task.StateFailed {
		st.status.Error = u.Err.Error()
		eff = j.failure(u.Err, now)
	}
	return j.settle(eff, now)
}

// lostTaskManager fails every live subtask of the attempt on TaskManager tm.
func (j *job) lostTaskManager(tm string, cause error, now time.Time) effects {
	hit := false
	for _, st := range j.subtasks {
		if st.slot.TaskManager == tm && !st.status.State.Terminal() {
			st.status.State = task.StateFailed
			st.status.Error = cause.Error()
			j.live--
			hit = true
		}
	}
	if !hit {
		return effects{}
	}
	return j.settle(j.failure(cause, now), now)
}

// failure records a failure and decides between restarting and failing.
func (j *job) failure(cause error, now time.Time) effects {
	j.exceptions = append(j.exceptions, Exception{Time: now, Attempt: j.attempt, Error: cause.Error()})
	switch j.state {
	case StateRunning, StateCreated:
	default:
		return effects{} // already failing, restarting or cancelling
	}
	if delay, ok := j.strategy.Failed(now); ok {
		j.state = StateRestarting
		j.restarts++
		j.restartDelay = delay
		return effects{cancel: j.live > 0}
	}
	j.state = StateFailing
	j.err = fmt.Errorf("%w: job %q (%s): %w", ErrJobFailed, j.name, j.id, cause)
	if j.restarts > 0 {
		j.err = fmt.Errorf("%w (after %d restarts; strategy %s)", j.err, j.restarts, j.strategy)
	}
	return effects{cancel: j.live > 0}
}

// settle moves the job on once the attempt has no live subtask left.
func (j *job) settle(eff effects, now time.Time) effects {
	if j.live > 0 {
		return eff
	}
	eff.releaseSlots = true
	switch j.state {
	case StateRunning:
		j.state = StateFinished
	case StateFailing:
		j.state = StateFailed
	case StateCancelling:
		if j.rescaling {
			j.rescaling = false
			j.state = StateRestarting
			eff.restart, eff.restartDelay = true, 0
			return eff
		}
		j.state = StateCancelled
		if j.stopping {
			j.state = StateFinished
		}
	case StateRestarting:
		eff.restart, eff.restartDelay = true, j.restartDelay
		return eff
	}
	if j.state.Terminal() {
		j.end = now
		eff.terminal = true
	}
	return eff
}

// restartDue ends the restart delay: restarting -> created.
func (j *job) restartDue() bool {
	if j.state != StateRestarting || j.live > 0 {
		return false
	}
	j.state = StateCreated
	return true
}

// stop ends a running job whose savepoint is written: like cancel, but it
// ends finished.
func (j *job) stop(now time.Time) effects {
	if j.state != StateRunning {
		return effects{}
	}
	j.stopping = true
	return j.cancel(now)
}

// stopForRescale ends the attempt of a running job whose rescale savepoint
// is written; once its subtasks are gone the job restarts (with the new
// graph, which the JobManager swaps in) rather than ending.
func (j *job) stopForRescale(now time.Time) effects {
	if j.state != StateRunning {
		return effects{}
	}
	j.rescaling = true
	return j.cancel(now)
}

// rescaled swaps in the graph of a rescale, before the job is placed again.
func (j *job) rescaled(g *jobgraph.Graph) {
	j.graph = g
	j.tasks, _ = g.Tasks()
}

// cancel stops the job.
func (j *job) cancel(now time.Time) effects {
	switch j.state {
	case StateRunning, StateRestarting, StateFailing:
		if j.state != StateFailing {
			j.state = StateCancelling
		}
		if j.live > 0 {
			return effects{cancel: true}
		}
		if j.state == StateFailing {
			return effects{}
		}
		return j.settle(effects{}, now)
	case StateCreated:
		j.state = StateCancelled
		j.end = now
		return effects{terminal: true}
	case StateCancelling:
		// A cancel during a rescale's stop wins: the job ends cancelled.
		j.rescaling = false
	}
	return effects{}
}

// abort fails a job that is waiting for slots, without a restart: it waited
// too long, or its TaskManagers cannot run it.
func (j *job) abort(cause error, now time.Time) effects {
	if j.state != StateCreated {
		return effects{}
	}
	j.exceptions = append(j.exceptions, Exception{Time: now, Attempt: j.attempt, Error: cause.Error()})
	j.state = StateFailed
	j.err = fmt.Errorf("%w: job %q (%s): %w", ErrJobFailed, j.name, j.id, cause)
	j.end = now
	return effects{terminal: true}
}

// anyFinished reports whether a subtask of the attempt has finished.
func (j *job) anyFinished() bool {
	for _, st := range j.subtasks {
		if st.status.State == task.StateFinished {
			return true
		}
	}
	return false
}

// reportStats records a remote subtask's counters from a heartbeat that
// arrived at now.
func (j *job) reportStats(attempt int, taskID string, sub int, in, out, bpNanos int64, now time.Time) {
	if attempt != j.attempt {
		return
	}
	st, ok := j.index[scheduler.SubtaskID{Task: taskID, Index: sub}]
	if !ok || st.stats != nil {
		return
	}
	st.status.RecordsIn, st.status.RecordsOut = in, out
	if !st.bpAt.IsZero() && now.After(st.bpAt) && bpNanos >= st.bpNanos {
		st.status.Backpressure = min(float64(bpNanos-st.bpNanos)/float64(now.Sub(st.bpAt)), 1)
	}
	st.bpNanos, st.bpAt = bpNanos, now
}

// status returns a snapshot.
func (j *job) status() JobStatus {
	s := JobStatus{
		ID: j.id, Name: j.name, State: j.state, Start: j.start, End: j.end,
		Attempt: max(j.attempt, 0), Restarts: j.restarts, err: j.err, RestoredFrom: j.restoredFrom,
		Exceptions: append([]Exception(nil), j.exceptions...),
	}
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
