package jobmanager

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/taskmanager/task"
)

// fakeTM accepts deployments and lets the test report their states.
type fakeTM struct {
	id       string
	slots    int
	failFrom int // Deploy fails from this deployment on (1-based); 0: never
	mu       sync.Mutex
	deployed []*task.Deployment
	cancels  int
}

func (f *fakeTM) ID() string { return f.id }
func (f *fakeTM) Slots() int { return f.slots }
func (f *fakeTM) Deploy(d *task.Deployment, _ task.Program) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFrom > 0 && len(f.deployed)+1 >= f.failFrom {
		return errors.New("no room")
	}
	f.deployed = append(f.deployed, d)
	return nil
}
func (f *fakeTM) CancelJob(string, int)  { f.mu.Lock(); f.cancels++; f.mu.Unlock() }
func (f *fakeTM) ReleaseJob(string, int) {}

type nopProgram struct{}

func (nopProgram) NewChain(*task.Deployment, task.IO) (task.Chain, error) { return nil, nil }

func TestDeployFailureEndsTheJob(t *testing.T) {
	tm := &fakeTM{id: "tm", slots: 2, failFrom: 2}
	jm := New(Config{})
	jm.RegisterTaskManager(tm)
	g := testJob(t).graph
	id, err := jm.Submit(context.Background(), Submission{Graph: g, Program: nopProgram{}})
	if err != nil {
		t.Fatal(err)
	}
	// One subtask was deployed before the failure; it is cancelled and
	// reports so.
	if tm.cancels == 0 {
		t.Fatal("the deployed subtask was not cancelled")
	}
	d := tm.deployed[0]
	jm.UpdateTask(task.Update{JobID: id, Task: d.Task.ID, Subtask: d.Subtask, State: task.StateCancelled})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := jm.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateFailed || !strings.Contains(st.Error, "no room") {
		t.Fatalf("job %s: %q", st.State, st.Error)
	}
	// Its slots are free again.
	if free := len(jm.freeSlots()); free != 2 {
		t.Fatalf("%d slots free after the job ended, want 2", free)
	}
}

func TestNotEnoughSlotsAndUnknownJob(t *testing.T) {
	jm := New(Config{})
	jm.RegisterTaskManager(&fakeTM{id: "tm", slots: 1})
	_, err := jm.Submit(context.Background(), Submission{Graph: testJob(t).graph, Program: nopProgram{}})
	if err == nil || !strings.Contains(err.Error(), "needs 2 slots") {
		t.Fatalf("err = %v", err)
	}
	if _, err := jm.Status("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("err = %v", err)
	}
	if err := jm.Cancel("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("err = %v", err)
	}
}
