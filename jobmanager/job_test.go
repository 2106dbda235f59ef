package jobmanager

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// scriptedRestart allows a fixed number of restarts with a fixed delay.
type scriptedRestart struct {
	left  int
	delay time.Duration
}

func (s *scriptedRestart) Failed(time.Time) (time.Duration, bool) {
	if s.left == 0 {
		return 0, false
	}
	s.left--
	return s.delay, true
}
func (s *scriptedRestart) String() string { return "scripted" }

func testGraph(t *testing.T) *jobgraph.Graph {
	t.Helper()
	g := &jobgraph.Graph{Version: jobgraph.FormatVersion, Name: "j", Operators: []jobgraph.Operator{
		{UID: "src", Name: "src", Kind: "source", Parallelism: 2, MaxParallelism: 128, SlotSharingGroup: "default", Chaining: jobgraph.ChainAlways},
		{UID: "sink", Name: "sink", Kind: "sink", Parallelism: 1, MaxParallelism: 128, SlotSharingGroup: "default", Chaining: jobgraph.ChainAlways},
	}, Edges: []jobgraph.Edge{{Source: "src", Target: "sink", Partitioning: jobgraph.Rebalance}}}
	if err := g.Seal(); err != nil {
		t.Fatal(err)
	}
	return g
}

// placedJob returns a running job: src subtasks on tm-a slots 0 and 1, the
// sink shares slot 0.
func placedJob(t *testing.T, strategy RestartStrategy) *job {
	t.Helper()
	j := newJob("id", testGraph(t), strategy, time.Unix(0, 0))
	placement, err := scheduler.Place(j.tasks, []scheduler.Slot{{TaskManager: "tm-a", Index: 0}, {TaskManager: "tm-b", Index: 0}})
	if err != nil {
		t.Fatal(err)
	}
	j.placed(placement)
	return j
}

func up(j *job, tsk string, sub int, s task.State, err error) task.Update {
	return task.Update{JobID: "id", Attempt: j.attempt, Task: tsk, Subtask: sub, State: s, Err: err}
}

var t1 = time.Unix(1, 0)

func TestJobFinishesWhenEverySubtaskFinished(t *testing.T) {
	j := placedJob(t, nil)
	if j.state != StateRunning || j.attempt != 0 {
		t.Fatalf("placed job: %s attempt %d", j.state, j.attempt)
	}
	steps := []struct {
		u        task.Update
		terminal bool
		state    JobState
	}{
		{up(j, "src", 0, task.StateRunning, nil), false, StateRunning},
		{up(j, "src", 0, task.StateFinished, nil), false, StateRunning},
		{up(j, "src", 1, task.StateFinished, nil), false, StateRunning},
		{up(j, "src", 1, task.StateFailed, errors.New("late")), false, StateRunning}, // already terminal: ignored
		{up(j, "sink", 0, task.StateFinished, nil), true, StateFinished},
	}
	for i, s := range steps {
		if eff := j.update(s.u, t1); eff.terminal != s.terminal || j.state != s.state {
			t.Fatalf("step %d: effects %+v state %s, want terminal=%v %s", i, eff, j.state, s.terminal, s.state)
		}
	}
	if j.err != nil || !j.end.Equal(t1) {
		t.Fatalf("finished job: err %v end %v", j.err, j.end)
	}
}

func TestFailureWithoutRestartsFailsTheJob(t *testing.T) {
	j := placedJob(t, nil)
	boom := errors.New("boom")
	if eff := j.update(up(j, "src", 1, task.StateFailed, boom), t1); !eff.cancel || j.state != StateFailing {
		t.Fatalf("first failure: %+v %s", eff, j.state)
	}
	if eff := j.update(up(j, "sink", 0, task.StateFailed, errors.New("second")), t1); eff.cancel || eff.terminal {
		t.Fatalf("second failure: %+v", eff)
	}
	if eff := j.update(up(j, "src", 0, task.StateCancelled, nil), t1); !eff.terminal || !eff.releaseSlots || j.state != StateFailed {
		t.Fatalf("last subtask: %+v %s", eff, j.state)
	}
	if !errors.Is(j.err, boom) || !errors.Is(j.err, ErrJobFailed) {
		t.Fatalf("job error %v should wrap the first failure and ErrJobFailed", j.err)
	}
	if st := j.status(); len(st.Exceptions) != 2 || st.Tasks[1].Error != "boom" {
		t.Fatalf("status: %+v", st)
	}
}

func TestFailureRestartsUntilTheStrategyGivesUp(t *testing.T) {
	j := placedJob(t, &scriptedRestart{left: 1, delay: 3 * time.Second})
	eff := j.update(up(j, "src", 0, task.StateFailed, errors.New("first")), t1)
	if !eff.cancel || eff.restart || j.state != StateRestarting {
		t.Fatalf("failure: %+v %s", eff, j.state)
	}
	j.update(up(j, "src", 1, task.StateCancelled, nil), t1)
	eff = j.update(up(j, "sink", 0, task.StateCancelled, nil), t1)
	if !eff.restart || eff.restartDelay != 3*time.Second || !eff.releaseSlots || eff.terminal {
		t.Fatalf("attempt ended: %+v", eff)
	}
	// A report from the old attempt after the restart is ignored.
	stale := up(j, "src", 0, task.StateFailed, errors.New("stale"))
	if !j.restartDue() || j.state != StateCreated {
		t.Fatalf("restartDue: %s", j.state)
	}
	placement, _ := scheduler.Place(j.tasks, []scheduler.Slot{{TaskManager: "tm-c", Index: 0}, {TaskManager: "tm-c", Index: 1}})
	j.placed(placement)
	if j.attempt != 1 || j.restarts != 1 {
		t.Fatalf("attempt %d restarts %d", j.attempt, j.restarts)
	}
	if eff := j.update(stale, t1); eff != (effects{}) || j.state != StateRunning {
		t.Fatalf("stale update changed the job: %+v %s", eff, j.state)
	}
	// The second failure exhausts the strategy.
	j.update(up(j, "src", 0, task.StateFailed, errors.New("second")), t1)
	if j.state != StateFailing || !strings.Contains(j.err.Error(), "after 1 restarts") {
		t.Fatalf("state %s err %v", j.state, j.err)
	}
}

func TestLostTaskManagerFailsItsSubtasks(t *testing.T) {
	j := placedJob(t, &scriptedRestart{left: 5})
	lost := errors.New("TaskManager tm-b lost: connection closed")
	eff := j.lostTaskManager("tm-b", lost, t1)
	if !eff.cancel || j.state != StateRestarting || j.live != 2 {
		t.Fatalf("lost tm-b: %+v %s live %d", eff, j.state, j.live)
	}
	if st := j.status(); st.Exceptions[0].Error != lost.Error() {
		t.Fatalf("exceptions: %+v", st.Exceptions)
	}
	if eff := j.lostTaskManager("tm-x", lost, t1); eff != (effects{}) {
		t.Fatal("a TaskManager without subtasks changed the job")
	}
	j.update(up(j, "src", 0, task.StateCancelled, nil), t1)
	if eff := j.update(up(j, "sink", 0, task.StateCancelled, nil), t1); !eff.restart {
		t.Fatalf("attempt ended without a restart: %+v", eff)
	}
}

func TestCancelInEveryPhase(t *testing.T) {
	// Waiting for slots: cancelled at once.
	j := newJob("id", testGraph(t), nil, time.Unix(0, 0))
	if eff := j.cancel(t1); !eff.terminal || j.state != StateCancelled {
		t.Fatalf("created: %+v %s", eff, j.state)
	}
	// Running: cancelling until every subtask has stopped.
	j = placedJob(t, nil)
	if eff := j.cancel(t1); !eff.cancel || j.state != StateCancelling {
		t.Fatalf("running: %+v %s", eff, j.state)
	}
	if eff := j.cancel(t1); eff.terminal {
		t.Fatal("second cancel ended the job early")
	}
	j.update(up(j, "src", 0, task.StateCancelled, nil), t1)
	j.update(up(j, "src", 1, task.StateFinished, nil), t1)
	if eff := j.update(up(j, "sink", 0, task.StateCancelled, nil), t1); !eff.terminal || j.state != StateCancelled {
		t.Fatalf("after the last subtask: %+v %s", eff, j.state)
	}
	// Restarting between attempts: cancelled without a restart.
	j = placedJob(t, &scriptedRestart{left: 1})
	j.lostTaskManager("tm-a", errors.New("lost"), t1)
	j.lostTaskManager("tm-b", errors.New("lost"), t1)
	if eff := j.cancel(t1); !eff.terminal || j.state != StateCancelled || j.restartDue() {
		t.Fatalf("restarting: %+v %s", eff, j.state)
	}
}

func TestAbort(t *testing.T) {
	j := newJob("id", testGraph(t), nil, time.Unix(0, 0))
	cause := errors.New("needs 2 slots, 1 free")
	if eff := j.abort(cause, t1); !eff.terminal || j.state != StateFailed || !errors.Is(j.err, cause) {
		t.Fatalf("%+v %s %v", eff, j.state, j.err)
	}
	if eff := placedJob(t, nil).abort(cause, t1); eff != (effects{}) {
		t.Fatal("a timeout hit a running job")
	}
}

// endAll reports every live subtask of the attempt as state.
func endAll(j *job, state task.State, now time.Time) effects {
	var eff effects
	for _, st := range j.subtasks {
		if !st.status.State.Terminal() {
			eff = j.update(up(j, st.status.Task, st.status.Subtask, state, nil), now)
		}
	}
	return eff
}

func TestRescaleStopRestartsWithTheNewGraph(t *testing.T) {
	j := placedJob(t, nil) // no restarts: a rescale is not a failure
	if eff := j.stopForRescale(t1); !eff.cancel || j.state != StateCancelling {
		t.Fatalf("stopForRescale: %+v, state %s; want the attempt cancelled", eff, j.state)
	}
	eff := endAll(j, task.StateCancelled, t1)
	if j.state != StateRestarting || !eff.restart || eff.restartDelay != 0 || eff.terminal || !eff.releaseSlots {
		t.Fatalf("after the attempt ended: %+v, state %s; want an immediate restart for the rescale", eff, j.state)
	}
	if j.restarts != 0 || len(j.exceptions) != 0 {
		t.Fatalf("a rescale counted as a failure: %d restarts, %v", j.restarts, j.exceptions)
	}
	g := testGraph(t)
	g.Operators[1].Parallelism = 3
	if err := g.Seal(); err != nil {
		t.Fatal(err)
	}
	if !j.restartDue() {
		t.Fatal("restartDue: false")
	}
	j.rescaled(g)
	placement, err := scheduler.Place(j.tasks, []scheduler.Slot{{TaskManager: "tm-c", Index: 0}, {TaskManager: "tm-c", Index: 1}, {TaskManager: "tm-c", Index: 2}})
	if err != nil {
		t.Fatal(err)
	}
	j.placed(placement)
	if j.state != StateRunning || len(j.subtasks) != 5 || j.attempt != 1 {
		t.Fatalf("placed after the rescale: %s, %d subtasks, attempt %d; want running with 2+3 subtasks in attempt 1", j.state, len(j.subtasks), j.attempt)
	}
}

func TestCancelDuringARescaleWins(t *testing.T) {
	j := placedJob(t, nil)
	j.stopForRescale(t1)
	j.cancel(t1)
	if eff := endAll(j, task.StateCancelled, t1); j.state != StateCancelled || !eff.terminal || eff.restart {
		t.Fatalf("cancel during a rescale: %+v, state %s; want it cancelled", eff, j.state)
	}
}

func TestRescaleStopOfAJobNotRunningDoesNothing(t *testing.T) {
	j := newJob("id", testGraph(t), nil, time.Unix(0, 0))
	if eff := j.stopForRescale(t1); eff != (effects{}) || j.state != StateCreated {
		t.Fatalf("stopForRescale of a waiting job: %+v, %s", eff, j.state)
	}
}
