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
	jm       *JobManager // reports cancellations to it, when set
	id       string
	slots    int
	failFrom int // Deploy fails from this deployment on (1-based); 0: never
	mu       sync.Mutex
	deployed []*task.Deployment
	cancels  int
}

func (f *fakeTM) Info() TaskManagerInfo { return TaskManagerInfo{ID: f.id, Slots: f.slots} }
func (f *fakeTM) Deploy(d *task.Deployment, _ task.Program) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFrom > 0 && len(f.deployed)+1 >= f.failFrom {
		return errors.New("no room")
	}
	f.deployed = append(f.deployed, d)
	return nil
}
func (f *fakeTM) CancelJob(job string, attempt int) {
	f.mu.Lock()
	f.cancels++
	deployed := append([]*task.Deployment(nil), f.deployed...)
	f.mu.Unlock()
	if f.jm == nil {
		return
	}
	for _, d := range deployed {
		if d.JobID == job && d.Attempt == attempt {
			go f.jm.UpdateTask(task.Update{JobID: job, Attempt: attempt, Task: d.Task.ID, Subtask: d.Subtask, State: task.StateCancelled})
		}
	}
}
func (f *fakeTM) ReleaseJob(string, int)                            {}
func (f *fakeTM) TriggerCheckpoint(string, int, string, int, int64) {}

type nopProgram struct{}

func (nopProgram) NewChain(*task.Deployment, task.IO) (task.Chain, error) { return nil, nil }

func TestDeployFailureEndsTheJob(t *testing.T) {
	tm := &fakeTM{id: "tm", slots: 2, failFrom: 2}
	jm := New(Config{})
	defer jm.Close()
	jm.RegisterTaskManager(tm)
	id, err := jm.Submit(context.Background(), Submission{Graph: testGraph(t), Program: nopProgram{}})
	if err != nil {
		t.Fatal(err)
	}
	// One subtask was deployed before the failure; it is cancelled and
	// reports so.
	if tm.cancels == 0 {
		t.Fatal("the deployed subtask was not cancelled")
	}
	d := tm.deployed[0]
	jm.UpdateTask(task.Update{JobID: id, Attempt: d.Attempt, Task: d.Task.ID, Subtask: d.Subtask, State: task.StateCancelled})
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
	if free := len(jm.freeSlots(id, "")); free != 2 {
		t.Fatalf("%d slots free after the job ended, want 2", free)
	}
}

func TestWaitsForSlotsThenFails(t *testing.T) {
	jm := New(Config{SlotTimeout: 50 * time.Millisecond})
	defer jm.Close()
	jm.RegisterTaskManager(&fakeTM{id: "tm", slots: 1})
	id, err := jm.Submit(context.Background(), Submission{Graph: testGraph(t), Program: nopProgram{}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := jm.Status(id); st.State != StateCreated {
		t.Fatalf("job is %s while waiting for slots", st.State)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := jm.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateFailed || !strings.Contains(st.Error, "needs 2 slots") || !strings.Contains(st.Error, "1 is free") {
		t.Fatalf("job %s: %q", st.State, st.Error)
	}
}

func TestSlotsArrivingLatePlaceTheJob(t *testing.T) {
	jm := New(Config{SlotTimeout: time.Minute})
	defer jm.Close()
	id, err := jm.Submit(context.Background(), Submission{Graph: testGraph(t), Program: nopProgram{}})
	if err != nil {
		t.Fatal(err)
	}
	tm := &fakeTM{jm: jm, id: "late", slots: 2}
	jm.RegisterTaskManager(tm)
	if st, _ := jm.Status(id); st.State != StateRunning || len(tm.deployed) != 3 {
		t.Fatalf("after slots arrived: %s, %d deployed", st.State, len(tm.deployed))
	}
	if err := jm.RegisterTaskManager(&fakeTM{id: "late", slots: 1}); err == nil {
		t.Fatal("a second TaskManager with the same id was accepted")
	}
}

func TestUnknownJob(t *testing.T) {
	jm := New(Config{})
	defer jm.Close()
	if _, err := jm.Status("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("err = %v", err)
	}
	if err := jm.Cancel("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("err = %v", err)
	}
}

// TestEndedJobsAreForgottenBeyondTheLimit: a JobManager that runs for
// months keeps only the newest MaxEndedJobs ended jobs.
func TestEndedJobsAreForgottenBeyondTheLimit(t *testing.T) {
	jm := New(Config{MaxEndedJobs: 2})
	defer jm.Close()
	jm.RegisterTaskManager(&fakeTM{id: "tm", slots: 2, failFrom: 1}) // every deploy fails
	var ids []string
	for range 5 {
		id, err := jm.Submit(context.Background(), Submission{Graph: testGraph(t), Program: nopProgram{}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if st, err := jm.Wait(ctx, id); err != nil || st.State != StateFailed {
			t.Fatalf("job %s: %v %v", id, st.State, err)
		}
		cancel()
		ids = append(ids, id)
	}
	var kept []string
	for _, st := range jm.List() {
		kept = append(kept, st.ID)
	}
	if len(kept) != 2 || kept[0] != ids[3] || kept[1] != ids[4] {
		t.Fatalf("kept %v, want the newest two of %v", kept, ids)
	}
	if _, err := jm.Status(ids[0]); err == nil {
		t.Fatal("the oldest ended job is still known")
	}
}
