package server_test

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/nomad"
	"github.com/sluicehq/sluice/nomad/nomadtest"
)

// nomadArgs are the JobManager flags of a cluster whose TaskManagers are
// allocations of agent: 2 slots each, little memory and CPU so that a
// small machine fits several.
func nomadArgs(agent *nomadtest.Agent, extra ...string) []string {
	return append([]string{"--provider", "nomad", "--nomad-addr", agent.HTTPAddr, "--nomad-token", agent.ManagementToken,
		"--nomad-datacenters", nomadtest.Datacenter, "--slots", "2", "--taskmanager-memory", strconv.Itoa(64 << 20),
		"--nomad-cpu-per-slot", "50", "--slot-timeout", "90s"}, extra...)
}

// nomadJob returns the Nomad job of a Sluice job, or nil if there is none.
func nomadJob(t testing.TB, c *nomadapi.Client, jobID string) *nomadapi.Job {
	t.Helper()
	j, _, err := c.Jobs().Info(nomad.DefaultJobPrefix+jobID, nil)
	if err != nil {
		if strings.Contains(err.Error(), "404") {
			return nil
		}
		t.Fatalf("nomad job info: %v", err)
	}
	return j
}

// runningAllocs returns the job's running allocations.
func runningAllocs(t testing.TB, c *nomadapi.Client, jobID string) []*nomadapi.AllocationListStub {
	t.Helper()
	allocs, _, err := c.Jobs().Allocations(nomad.DefaultJobPrefix+jobID, true, nil)
	if err != nil {
		t.Fatalf("nomad job allocations: %v", err)
	}
	return slices.DeleteFunc(allocs, func(a *nomadapi.AllocationListStub) bool {
		return a.ClientStatus != "running" || a.DesiredStatus != "run"
	})
}

// waitDeregistered waits until the Sluice job's Nomad job is stopped and
// none of its allocations runs any more.
func waitDeregistered(t testing.TB, c *nomadapi.Client, jobID string) {
	t.Helper()
	waitFor(t, time.Minute, "the Nomad job to be stopped with no allocation left", func() bool {
		j := nomadJob(t, c, jobID)
		if j == nil {
			return true
		}
		allocs, _, err := c.Jobs().Allocations(*j.ID, true, nil)
		if err != nil || j.Stop == nil || !*j.Stop {
			return false
		}
		for _, a := range allocs {
			if a.ClientStatus == "running" || a.ClientStatus == "pending" {
				return false
			}
		}
		return true
	})
}

// TestNomadProviderRunsTheJob submits a job at parallelism 4 to a
// JobManager whose TaskManagers have 2 slots each and come from Nomad: it
// registers a Nomad job of 2 allocations running the job's binary, the
// job's result equals plain Go's, and the Nomad job is stopped when the
// job ends.
func TestNomadProviderRunsTheJob(t *testing.T) {
	agent := nomadtest.Start(t)
	nc := agent.Client()
	c := startJobManager(t, nomadArgs(agent)...)
	output := filepath.Join(t.TempDir(), "sums")
	const records = 40000
	id := c.submit(t, bins.testjob, "--records", strconv.Itoa(records), "--rate", "8000", "--parallelism", "4", "--output", output)

	waitFor(t, time.Minute, "2 running TaskManager allocations", func() bool {
		return len(runningAllocs(t, nc, id)) == 2
	})
	j := nomadJob(t, nc, id)
	tg := j.TaskGroups[0]
	if *tg.Count != 2 || tg.Tasks[0].Driver != "raw_exec" || !strings.HasPrefix(tg.Tasks[0].Artifacts[0].GetterOptions["checksum"], "sha256:") {
		t.Errorf("nomad job: count %d, driver %s, artifact options %v", *tg.Count, tg.Tasks[0].Driver, tg.Tasks[0].Artifacts[0].GetterOptions)
	}
	running := c.waitJob(t, id, time.Minute, "running", "finished", "failed")
	// Each TaskManager serves its metrics on the allocation's metrics port.
	tms, err := c.client.TaskManagers(context.Background())
	if err != nil || len(tms) != 2 {
		t.Fatalf("%d TaskManagers registered (%v), want 2", len(tms), err)
	}
	for _, tm := range tms {
		resp, err := http.Get("http://" + tm.MetricsAddress + "/metrics")
		if err != nil {
			t.Fatalf("TaskManager %s metrics at %q: %v", tm.ID, tm.MetricsAddress, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "sluice_taskmanager_slots") {
			t.Errorf("TaskManager %s metrics: %d, %d bytes", tm.ID, resp.StatusCode, len(body))
		}
	}
	d := c.waitJob(t, id, 2*time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if got, want := readSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	hosts := map[string]bool{}
	for _, st := range running.Tasks {
		hosts[st.TaskManager] = true
	}
	for _, st := range d.Tasks {
		hosts[st.TaskManager] = true
	}
	allocs, _, err := nc.Jobs().Allocations(nomad.DefaultJobPrefix+id, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allocs {
		delete(hosts, nomad.TaskManagerID(id, a.ID))
	}
	if len(hosts) != 0 {
		t.Errorf("subtasks ran on %v, which are no allocation of the Nomad job", hosts)
	}
	waitDeregistered(t, nc, id)
	// The TaskManagers have gone from the JobManager as well.
	waitFor(t, 30*time.Second, "the TaskManagers to unregister", func() bool {
		tms, err := c.client.TaskManagers(context.Background())
		return err == nil && len(tms) == 0
	})
}

// TestNomadReplacesAStoppedAllocation stops one TaskManager allocation
// through Nomad while a checkpointed job runs: Nomad replaces it, the job
// restarts from its checkpoint on the replacement, and the final sums are
// exactly plain Go's.
//
// With the s3 backend the TaskManagers open the backend plugin themselves;
// its binary is deleted from where the JobManager started it, so they can
// only use the copy Nomad fetched next to the job's binary.
func TestNomadReplacesAStoppedAllocation(t *testing.T) {
	for _, backend := range []string{"memory", "s3"} {
		t.Run(backend, func(t *testing.T) { nomadReplacesAStoppedAllocation(t, backend) })
	}
}

func nomadReplacesAStoppedAllocation(t *testing.T, backend string) {
	agent := nomadtest.Start(t)
	nc := agent.Client()
	args := nomadArgs(agent, "--restart-strategy", "fixed-delay", "--restart-attempts", "10", "--restart-delay", "100ms")
	var plugin string
	if backend == "s3" {
		plugin = filepath.Join(t.TempDir(), "sluice-backend-s3")
		data, err := os.ReadFile(bins.s3backend)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(plugin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		bargs := backendArgs(t, "s3")
		bargs[1] = plugin // --state-backend PATH
		args = append(args, bargs...)
	}
	c := startJobManager(t, args...)
	if plugin != "" {
		if err := os.Remove(plugin); err != nil { // the JobManager's plugin process runs on
			t.Fatal(err)
		}
	}
	output := t.TempDir()
	const records = 30000
	id := c.submit(t, bins.testjob, "--records", strconv.Itoa(records), "--rate", "3000", "--parallelism", "4", "--output", output,
		"--checkpoint-interval", "200ms", "--append")

	var d *api.JobDetail
	waitFor(t, 2*time.Minute, "a checkpoint of the running job", func() bool {
		var err error
		d, err = c.client.Job(context.Background(), id)
		return err == nil && d.State == "running" && c.completedCheckpoint(id, d.Attempt)
	})
	var allocs []*nomadapi.AllocationListStub
	waitFor(t, 30*time.Second, "2 running allocations", func() bool {
		allocs = runningAllocs(t, nc, id)
		return len(allocs) == 2
	})
	victim := allocs[0]
	t.Logf("nomad alloc stop %s (TaskManager %s) in attempt %d", victim.ID, nomad.TaskManagerID(id, victim.ID), d.Attempt)
	agent.CLI(t, "alloc", "stop", "-detach", victim.ID)

	waitFor(t, time.Minute, "the job to restart", func() bool {
		next, err := c.client.Job(context.Background(), id)
		return err == nil && (next.Attempt > d.Attempt || next.State == "failed")
	})
	waitFor(t, time.Minute, "a replacement allocation", func() bool {
		for _, a := range runningAllocs(t, nc, id) {
			if a.ID != victim.ID && a.ID != allocs[1].ID {
				return true
			}
		}
		return false
	})
	d = c.waitJob(t, id, 3*time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if d.Restarts < 1 || !strings.HasPrefix(d.RestoredFrom, "checkpoint ") {
		t.Fatalf("%d restarts, restored from %q; want a restart from a checkpoint", d.Restarts, d.RestoredFrom)
	}
	if got, want := readLogSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	waitDeregistered(t, nc, id)
}

// TestNomadBadInput: an unreachable Nomad, a token without the needed
// capability, a datacenter with no node and an artifact Nomad cannot
// fetch each fail the job (with no restart strategy: at once, not after
// the slot timeout) with a message saying so, visible in `jmctl info`,
// and the JobManager keeps serving.
func TestNomadBadInput(t *testing.T) {
	agent := nomadtest.Start(t, nomadtest.WithACL())
	nc := agent.Client()
	policy := &nomadapi.ACLPolicy{Name: "read-only", Rules: `namespace "default" { policy = "read" }`}
	if _, err := nc.ACLPolicies().Upsert(policy, nil); err != nil {
		t.Fatal(err)
	}
	readOnly, _, err := nc.ACLTokens().Create(&nomadapi.ACLToken{Name: "read-only", Type: "client", Policies: []string{"read-only"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed := closedAddr(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unreachable", []string{"--nomad-addr", "http://" + closed}, []string{"nomad is unreachable", closed, "--nomad-addr"}},
		{"token without submit-job", []string{"--nomad-token", readOnly.SecretID}, []string{"nomad refused the request", "Permission denied", "submit-job"}},
		{"no eligible node", []string{"--nomad-datacenters", "nowhere"}, []string{"nomad cannot place the taskmanagers", "no eligible client node", "datacenters nowhere", "--nomad-datacenters"}},
		{"artifact not fetchable", []string{"--nomad-artifact-url", "http://" + closed}, []string{"Failed Artifact Download", nomad.DefaultJobPrefix}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No restarts: the test is about the first failure's message.
			c := startJobManager(t, nomadArgs(agent, append(tt.args, "--restart-strategy", "none")...)...)
			start := time.Now()
			id := c.submit(t, bins.testjob, "--records", "1000", "--output", t.TempDir())
			d := c.waitJob(t, id, time.Minute, "failed", "finished")
			if d.State != "failed" {
				t.Fatalf("job %s, want failed", d.State)
			}
			if wait := time.Since(start); wait > 30*time.Second {
				t.Errorf("the job failed after %v, want at once (the slot timeout is 90s)", wait)
			}
			out, code := c.jmctl(t, "info", id)
			t.Logf("after %v:\n%s", time.Since(start), out)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("jmctl info (exit %d) does not say %q:\n%s", code, w, out)
				}
			}
			if _, err := c.client.Overview(context.Background()); err != nil {
				t.Errorf("the JobManager stopped serving: %v", err)
			}
			if j := nomadJob(t, nc, id); j != nil && (j.Stop == nil || !*j.Stop) {
				t.Errorf("the failed job's Nomad job is still registered")
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestNomadWithTokens: with tokens on, Nomad fetches the artifact with the
// job's token in its header, the TaskManagers register with it, and the
// job runs to its exact result.
func TestNomadWithTokens(t *testing.T) {
	agent := nomadtest.Start(t)
	c := startJobManager(t, nomadArgs(agent, "--token", mgmtToken)...)
	output := filepath.Join(t.TempDir(), "sums")
	id := c.submit(t, bins.testjob, "--records", "20000", "--parallelism", "4", "--output", output)
	d := c.waitJob(t, id, 2*time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if got, want := readSums(t, output), expectedSums(20000); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	j := nomadJob(t, agent.Client(), id)
	h := j.TaskGroups[0].Tasks[0].Artifacts[0].GetterHeaders["Authorization"]
	if !strings.HasPrefix(h, "Bearer sjt1."+id+".") {
		t.Errorf("the artifact is fetched with Authorization %q, want the job token", h)
	}
	waitDeregistered(t, agent.Client(), id)
}
