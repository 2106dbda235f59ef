package server_test

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/nomad/nomadtest"
)

// TestRescaleRunningJob: jmctl rescale of a checkpointed keyed sum from
// parallelism 2 to 4 while it runs, on TaskManagers the local provider
// starts: the job keeps its id, restores the rescale's savepoint into four
// subtasks on new TaskManagers, and its final sums are plain Go's.
func TestRescaleRunningJob(t *testing.T) {
	c := startJobManager(t, "--provider", "local", "--slots", "2", "--taskmanager-memory", strconv.Itoa(64<<20))
	d := rescaleAndCheck(t, c)
	if tms := distinctTaskManagers(d); tms != 2 {
		t.Fatalf("after the rescale the job ran on %d TaskManagers, want 2 of 2 slots", tms)
	}

	// A source with per-subtask state cannot change its parallelism: the
	// rescale is refused after its savepoint, and the job goes on.
	id := c.submit(t, bins.testjob, "--records", "-1", "--rate", "1000", "--checkpoint-interval", "200ms")
	c.waitJob(t, id, time.Minute, "running")
	out, code := c.jmctl(t, "rescale", id, "--parallelism", "3")
	if code != 1 || !strings.Contains(out, "rescale refused") || !strings.Contains(out, "only keyed state can be redistributed") {
		t.Fatalf("rescale of a job with operator state exited %d:\n%s\nwant 1 and why it was refused", code, out)
	}
	if d, err := c.client.Job(context.Background(), id); err != nil || d.State != "running" || maxParallelism(d) != 2 {
		t.Fatalf("after the refused rescale: %+v, %v; want it running at parallelism 2", d, err)
	}

	// Bad requests get 4xx answers naming the problem.
	for _, bad := range []struct {
		id, want string
		p        int
	}{
		{id, "want 1 or more", 0},
		{"nope", "no job", 3},
	} {
		_, err := c.client.Rescale(context.Background(), bad.id, api.RescaleRequest{Graph: []byte(`{}`), Parallelism: bad.p})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("rescale of %s to %d: %v; want an error saying %q", bad.id, bad.p, err, bad.want)
		}
	}
	if _, err := c.client.Rescale(context.Background(), id, api.RescaleRequest{Graph: []byte(`{"version": 1}`), Parallelism: 3}); err == nil || !strings.Contains(err.Error(), "job graph is invalid") {
		t.Errorf("rescale with a bad graph: %v", err)
	}
	if _, err := c.client.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	c.waitJob(t, id, time.Minute, "cancelled")
}

// TestRescaleNeedsAProvider: standalone TaskManagers run the graph they
// were started with, so a rescale is refused at once with what to do.
func TestRescaleNeedsAProvider(t *testing.T) {
	c := startJobManager(t, "--provider", "standalone")
	args := []string{"--records", "-1", "--rate", "1000", "--checkpoint-interval", "200ms"}
	c.startTaskManager(t, "tm-1", 4, bins.testjob, args...)
	c.waitTaskManagers(t, 1)
	id := c.submit(t, bins.testjob, args...)
	c.waitJob(t, id, time.Minute, "running")
	out, code := c.jmctl(t, "rescale", id, "--parallelism", "3")
	if code != 3 || !strings.Contains(out, "standalone TaskManagers") { // 3: the JobManager refused the request
		t.Fatalf("jmctl rescale on standalone TaskManagers exited %d:\n%s", code, out)
	}
}

// TestNomadRescale: the same on TaskManagers from Nomad: the Nomad job's
// task group goes from one allocation to two.
func TestNomadRescale(t *testing.T) {
	agent := nomadtest.Start(t)
	nc := agent.Client()
	c := startJobManager(t, nomadArgs(agent)...)
	var before uint64
	d := rescaleAndCheckWith(t, c, func(id string) {
		waitFor(t, time.Minute, "one running allocation", func() bool { return len(runningAllocs(t, nc, id)) == 1 })
		before = *nomadJob(t, nc, id).Version
	}, func(id string) {
		j := nomadJob(t, nc, id)
		if j == nil || *j.TaskGroups[0].Count != 2 || *j.Version <= before {
			t.Fatalf("the Nomad job after the rescale: %+v; want its group at count 2 in a version after %d", j, before)
		}
		waitFor(t, time.Minute, "two running allocations", func() bool { return len(runningAllocs(t, nc, id)) == 2 })
	})
	if tms := distinctTaskManagers(d); tms != 2 {
		t.Fatalf("after the rescale the job ran on %d TaskManagers, want 2", tms)
	}
	waitDeregistered(t, nc, d.ID)
}

func rescaleAndCheck(t *testing.T, c *cluster) *api.JobDetail {
	return rescaleAndCheckWith(t, c, func(string) {}, func(string) {})
}

// rescaleAndCheckWith submits the keyed sum at parallelism 2, rescales it
// to 4 once it has a checkpoint (calling before and after around that),
// and checks the rescaled job and its final sums.
func rescaleAndCheckWith(t *testing.T, c *cluster, before, after func(id string)) *api.JobDetail {
	t.Helper()
	output := t.TempDir()
	const records = 24000
	id := c.submitWith(t, []string{"--parallelism", "2"}, bins.testjob,
		"--records", strconv.Itoa(records), "--rate", "3000", "--source-parallelism", "2", "--output", output, "--checkpoint-interval", "200ms")
	waitFor(t, 2*time.Minute, "a checkpoint of the running job", func() bool {
		d, err := c.client.Job(context.Background(), id)
		return err == nil && d.State == "running" && c.completedCheckpoint(id, d.Attempt)
	})
	before(id)
	if d, _ := c.client.Job(context.Background(), id); maxParallelism(d) != 2 {
		t.Fatalf("before the rescale: parallelism %d, want 2", maxParallelism(d))
	}

	out, code := c.jmctl(t, "rescale", id, "--parallelism", "4")
	if code != 0 {
		t.Fatalf("jmctl rescale exited %d:\n%s", code, out)
	}
	t.Logf("jmctl rescale:\n%s", out)
	d, err := c.client.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if maxParallelism(d) != 4 || !strings.Contains(d.RestoredFrom, "rescale") || d.State != "running" {
		t.Fatalf("after jmctl rescale: %s at parallelism %d, restored from %q; want running at 4 from the rescale's savepoint",
			d.State, maxParallelism(d), d.RestoredFrom)
	}
	after(id)

	d = c.waitJob(t, id, 3*time.Minute, "finished", "failed", "cancelled")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if got, want := readSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	return d
}

// maxParallelism is the highest parallelism among a job's subtasks.
func maxParallelism(d *api.JobDetail) int {
	p := 0
	if d != nil {
		for _, s := range d.Tasks {
			p = max(p, s.Parallelism)
		}
	}
	return p
}

// distinctTaskManagers counts the TaskManagers a job's subtasks ran on.
func distinctTaskManagers(d *api.JobDetail) int {
	tms := map[string]bool{}
	for _, s := range d.Tasks {
		tms[s.TaskManager] = true
	}
	return len(tms)
}
