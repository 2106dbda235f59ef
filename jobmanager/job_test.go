package jobmanager

import (
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/taskmanager/task"
)

func testJob(t *testing.T) *job {
	t.Helper()
	g := &jobgraph.Graph{Version: jobgraph.FormatVersion, Name: "j", Operators: []jobgraph.Operator{
		{UID: "src", Name: "src", Kind: "source", Parallelism: 2, MaxParallelism: 128, SlotSharingGroup: "default", Chaining: jobgraph.ChainAlways},
		{UID: "sink", Name: "sink", Kind: "sink", Parallelism: 1, MaxParallelism: 128, SlotSharingGroup: "default", Chaining: jobgraph.ChainAlways},
	}, Edges: []jobgraph.Edge{{Source: "src", Target: "sink", Partitioning: jobgraph.Rebalance}}}
	if err := g.Seal(); err != nil {
		t.Fatal(err)
	}
	tasks, _ := g.Tasks()
	placement, err := scheduler.Place(tasks, []scheduler.Slot{{TaskManager: "tm", Index: 0}, {TaskManager: "tm", Index: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return newJob("id", g, tasks, placement, time.Unix(0, 0))
}

func up(tsk string, sub int, s task.State, err error) task.Update {
	return task.Update{JobID: "id", Task: tsk, Subtask: sub, State: s, Err: err}
}

func TestJobFinishesWhenEverySubtaskFinished(t *testing.T) {
	j := testJob(t)
	steps := []struct {
		u     task.Update
		eff   effect
		state JobState
	}{
		{up("src", 0, task.StateRunning, nil), effectNone, StateRunning},
		{up("src", 0, task.StateFinished, nil), effectNone, StateRunning},
		{up("src", 1, task.StateFinished, nil), effectNone, StateRunning},
		{up("src", 1, task.StateFailed, errors.New("late")), effectNone, StateRunning}, // terminal already: ignored
		{up("sink", 0, task.StateFinished, nil), effectTerminal, StateFinished},
	}
	for i, s := range steps {
		if eff := j.update(s.u, time.Unix(1, 0)); eff != s.eff || j.state != s.state {
			t.Fatalf("step %d: effect %d state %s, want %d %s", i, eff, j.state, s.eff, s.state)
		}
	}
	if j.err != nil {
		t.Fatalf("finished job has error %v", j.err)
	}
}

func TestFailureCancelsTheRestThenFails(t *testing.T) {
	j := testJob(t)
	boom := errors.New("boom")
	if eff := j.update(up("src", 1, task.StateFailed, boom), time.Unix(1, 0)); eff != effectCancelAll || j.state != StateFailing {
		t.Fatalf("first failure: effect %d state %s", eff, j.state)
	}
	// A second failure while failing changes nothing.
	if eff := j.update(up("sink", 0, task.StateFailed, errors.New("second")), time.Unix(1, 0)); eff != effectNone {
		t.Fatalf("second failure effect %d", eff)
	}
	if eff := j.update(up("src", 0, task.StateCancelled, nil), time.Unix(2, 0)); eff != effectTerminal || j.state != StateFailed {
		t.Fatalf("after last subtask: effect %d state %s", eff, j.state)
	}
	if !errors.Is(j.err, boom) || !errors.Is(j.err, ErrJobFailed) {
		t.Fatalf("job error %v should wrap the first failure and ErrJobFailed", j.err)
	}
	st := j.status()
	if st.Error == "" || st.Tasks[1].Error != "boom" {
		t.Fatalf("status does not carry the errors: %+v", st)
	}
}

func TestCancelThenCancelled(t *testing.T) {
	j := testJob(t)
	if eff := j.cancel(); eff != effectCancelAll || j.state != StateCancelling {
		t.Fatalf("cancel: %d %s", eff, j.state)
	}
	if eff := j.cancel(); eff != effectNone {
		t.Fatal("second cancel should do nothing")
	}
	for i, u := range []task.Update{up("src", 0, task.StateCancelled, nil), up("src", 1, task.StateFinished, nil), up("sink", 0, task.StateCancelled, nil)} {
		eff := j.update(u, time.Unix(1, 0))
		if last := i == 2; last != (eff == effectTerminal) {
			t.Fatalf("update %d: effect %d", i, eff)
		}
	}
	if j.state != StateCancelled {
		t.Fatalf("state %s, want cancelled", j.state)
	}
}

func TestStaleAndUnknownUpdatesIgnored(t *testing.T) {
	j := testJob(t)
	stale := up("src", 0, task.StateFailed, errors.New("old attempt"))
	stale.Attempt = 7
	for _, u := range []task.Update{stale, up("nope", 0, task.StateFailed, errors.New("x")), up("src", 9, task.StateFinished, nil)} {
		if eff := j.update(u, time.Unix(1, 0)); eff != effectNone || j.state != StateRunning {
			t.Fatalf("update %+v changed the job: %d %s", u, eff, j.state)
		}
	}
}
