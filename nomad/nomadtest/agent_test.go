package nomadtest

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/internal/poll"
)

// TestAgentRunsRawExecJob starts the agent, runs a raw_exec job on it and
// checks that the allocation runs and that the CLI reaches the agent.
func TestAgentRunsRawExecJob(t *testing.T) {
	a := Start(t)
	c := a.Client()
	job := api.NewServiceJob("sleeper", "sleeper", "", 50)
	job.Datacenters = []string{Datacenter}
	task := api.NewTask("sleep", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"600"})
	task.Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(32)})
	job.AddTaskGroup(api.NewTaskGroup("g", 1).AddTask(task))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the allocation to run", func() bool {
		allocs, _, err := c.Jobs().Allocations("sleeper", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(allocs) == 1 && allocs[0].ClientStatus == "running"
	})
	out := a.CLI(t, "job", "status", "-short", "sleeper")
	if !strings.Contains(out, "running") {
		t.Errorf("nomad job status: %s", out)
	}
}

func TestACLRefusesAnonymous(t *testing.T) {
	a := Start(t, WithACL())
	if _, _, err := a.ClientWithToken("").Jobs().List(nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("anonymous job list = %v, want a 403", err)
	}
	if _, _, err := a.Client().Jobs().List(nil); err != nil {
		t.Errorf("management job list: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
