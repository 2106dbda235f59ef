package taskmanager_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// updates is a Reporter that passes task updates to a channel.
type updates chan task.Update

func (u updates) UpdateTask(up task.Update)                                      { u <- up }
func (updates) AcknowledgeCheckpoint(string, int, int64, checkpoint.Ack)         {}
func (updates) DeclineCheckpoint(string, int, int64, checkpoint.Subtask, string) {}

// TestCancelBeforeDeploy: a cancel that overtakes an attempt's deployments
// (the JobManager sends them from different goroutines) still ends the
// subtasks deployed after it, instead of leaving them running under a
// job that waits forever for them to cancel.
func TestCancelBeforeDeploy(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	src := stream.FromGeneratorAtRate(env, -1, 1000, func(i int64) int64 { return i }).Name("Numbers")
	stream.AddSink(src, "Discard", func(int, int) (stream.SinkWriter[int64], error) { return discard{}, nil })
	g, err := env.Plan("cancel")
	if err != nil {
		t.Fatal(err)
	}
	ups := make(updates, 16)
	tm, err := taskmanager.New(taskmanager.Config{ID: "tm", Slots: 1, Exchange: network.NewExchange()}, ups)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	tm.CancelJob("job", 0)
	tasks, _ := g.Tasks()
	if err := tm.Deploy(&task.Deployment{JobID: "job", Attempt: 0, Graph: g, Task: tasks[0], Subtask: 0}, env); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case up := <-ups:
			if up.State.Terminal() {
				if up.State != task.StateCancelled {
					t.Fatalf("the subtask ended %s (%v), want cancelled", up.State, up.Err)
				}
				tm.ReleaseJob("job", 0)
				return
			}
		case <-deadline:
			t.Fatal("a subtask deployed after its attempt was cancelled is still running after 10s")
		}
	}
}
