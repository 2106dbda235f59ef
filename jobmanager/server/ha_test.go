package server_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/ha"
	"github.com/sluicehq/sluice/jobmanager/ha/consultest"
)

// haCluster is three JobManagers electing their leader in a real Consul,
// on a real S3 server, with TaskManagers that find the leader in Consul.
type haCluster struct {
	consul string
	jms    map[string]*cluster // by JobManager id
	disc   ha.Discovery
}

func startHACluster(t testing.TB, jobManagers int, extra ...string) *haCluster {
	t.Helper()
	c := consultest.Start(t)
	srv := s3test.Start(t)
	srv.CreateBucket(t, "sluice")
	h := &haCluster{consul: c.Addr, jms: map[string]*cluster{}}
	set := func(k, v string) []string { return []string{"--state-backend-setting", k + "=" + v} }
	flags := []string{"--provider", "standalone", "--consul", c.Addr, "--state-backend", bins.s3backend,
		"--restart-strategy", "fixed-delay", "--restart-attempts", "20", "--restart-delay", "100ms"}
	for _, kv := range [][2]string{{"bucket", "sluice"}, {"prefix", "ha"}, {"endpoint", srv.Endpoint}, {"path_style", "true"},
		{"region", srv.Region}, {"access_key_id", srv.AccessKey}, {"secret_access_key", srv.SecretKey}} {
		flags = append(flags, set(kv[0], kv[1])...)
	}
	for i := range jobManagers {
		id := fmt.Sprintf("jm-%d", i+1)
		h.jms[id] = startJobManager(t, append(append([]string{"--id", id}, flags...), extra...)...)
	}
	d, err := ha.NewConsulDiscovery(ha.ConsulConfig{Address: c.Addr})
	if err != nil {
		t.Fatal(err)
	}
	h.disc = d
	return h
}

// leader waits for a leader other than not and returns its id.
func (h *haCluster) leader(t testing.TB, not string) string {
	t.Helper()
	var id string
	waitFor(t, 30*time.Second, "a leading JobManager", func() bool {
		l, err := h.disc.Leader(context.Background())
		if err != nil || l.ID == not || h.jms[l.ID] == nil {
			return false
		}
		id = l.ID
		return true
	})
	return id
}

// startTaskManager starts a job binary as a TaskManager that finds the
// leader through Consul.
func (h *haCluster) startTaskManager(t testing.TB, id string, slots int, bin string, args ...string) *proc {
	t.Helper()
	return start(t, id, []string{
		"SLUICE_MODE=taskmanager", "SLUICE_CONSUL=" + h.consul,
		"SLUICE_TASKMANAGER_ID=" + id, "SLUICE_SLOTS=" + strconv.Itoa(slots),
	}, bin, args...)
}

// TestLeaderFailoverResumesTheJob: three JobManagers, one leads; the job is
// submitted with jmctl pointed at Consul; the leader is killed with SIGKILL
// while the job takes checkpoints; a standby takes over, the TaskManagers
// register with it on their own, the job resumes from its latest
// checkpoint, and the final sums are exact.
func TestLeaderFailoverResumesTheJob(t *testing.T) {
	h := startHACluster(t, 3)
	first := h.leader(t, "")
	output := t.TempDir()
	const records = 30000
	args := []string{"--records", strconv.Itoa(records), "--rate", "4000", "--parallelism", "2", "--output", output,
		"--checkpoint-interval", "200ms", "--append"}
	h.startTaskManager(t, "tm-1", 2, bins.testjob, args...)
	h.startTaskManager(t, "tm-2", 2, bins.testjob, args...)
	lc := h.jms[first]
	lc.waitTaskManagers(t, 2)
	// jmctl reaches the leader through Consul.
	out, code := lc.jmctl(t, append([]string{"--jobmanager", "127.0.0.1:1", "--consul", h.consul, "submit", "--detached", bins.testjob, "--"}, args...)...)
	if code != 0 {
		t.Fatalf("jmctl --consul submit exited %d:\n%s", code, out)
	}
	id := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	waitFor(t, time.Minute, "a checkpoint on the first leader", func() bool {
		d, err := lc.client.Job(context.Background(), id)
		return err == nil && d.State == "running" && lc.completedCheckpoint(id, d.Attempt)
	})
	killed := time.Now()
	lc.jm.kill9(t)
	next := h.leader(t, first)
	nc := h.jms[next]
	var d *api.JobDetail
	waitFor(t, time.Minute, "the job to run again under the new leader", func() bool {
		var err error
		d, err = nc.client.Job(context.Background(), id)
		if err != nil || d.State != "running" {
			return false
		}
		for _, st := range d.Tasks {
			if strings.HasPrefix(st.Name, "Sum") && st.RecordsIn > 0 {
				return true
			}
		}
		return false
	})
	t.Logf("failover: %v from kill -9 of %s until %s ran the job again (restored from %q)", time.Since(killed), first, next, d.RestoredFrom)
	if !strings.HasPrefix(d.RestoredFrom, "checkpoint ") {
		t.Fatalf("the new leader restored the job from %q, not from a checkpoint", d.RestoredFrom)
	}
	d = nc.waitJob(t, id, 2*time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s under the new leader: %s", d.State, d.Error)
	}
	if got, want := readLogSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums after the failover differ from plain Go:\n got %v\nwant %v", got, want)
	}
	// A standby's REST API answers with a redirect to the leader.
	var standby string
	for jid := range h.jms {
		if jid != first && jid != next {
			standby = jid
		}
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("http://" + h.jms[standby].rest + "/v1/jobs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "http://"+nc.rest+"/v1/jobs" {
		t.Fatalf("the standby %s answered %d with Location %q; want a redirect to the leader at %s", standby, resp.StatusCode, resp.Header.Get("Location"), nc.rest)
	}
	// A job that finished is not run again by the next leader.
	nc.jm.kill9(t)
	third := h.leader(t, next)
	waitFor(t, 30*time.Second, "the third leader to serve", func() bool {
		_, err := h.jms[third].client.Jobs(context.Background())
		return err == nil
	})
	if jobs, err := h.jms[third].client.Jobs(context.Background()); err != nil || len(jobs) != 0 {
		t.Fatalf("the third leader runs %+v (%v); the finished job must not run again", jobs, err)
	}
}

// TestPausedLeaderIsFenced stops the leader with SIGSTOP until a standby
// has taken over, then lets it run again: it must give up leadership, and
// the job (restored by the new leader) ends with the exact sums, so the
// old leader neither wrote a checkpoint pointer nor commanded a
// TaskManager that counted.
func TestPausedLeaderIsFenced(t *testing.T) {
	h := startHACluster(t, 2)
	first := h.leader(t, "")
	output := t.TempDir()
	const records = 24000
	args := []string{"--records", strconv.Itoa(records), "--rate", "4000", "--parallelism", "2", "--output", output,
		"--checkpoint-interval", "200ms", "--append"}
	h.startTaskManager(t, "tm-1", 2, bins.testjob, args...)
	h.startTaskManager(t, "tm-2", 2, bins.testjob, args...)
	lc := h.jms[first]
	lc.waitTaskManagers(t, 2)
	id := lc.submit(t, bins.testjob, args...)
	waitFor(t, time.Minute, "a checkpoint on the first leader", func() bool {
		d, err := lc.client.Job(context.Background(), id)
		return err == nil && d.State == "running" && lc.completedCheckpoint(id, d.Attempt)
	})
	pid := lc.jm.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	next := h.leader(t, first)
	nc := h.jms[next]
	waitFor(t, time.Minute, "the new leader to run the job", func() bool {
		d, err := nc.client.Job(context.Background(), id)
		return err == nil && d.State == "running" && nc.completedCheckpoint(id, d.Attempt)
	})
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lc.jm.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the old leader kept running after it lost its session")
	}
	if !strings.Contains(lc.jm.out.String(), "leadership lost") {
		t.Fatalf("the old leader did not say it lost leadership:\n%s", lc.jm.out.String())
	}
	d := nc.waitJob(t, id, 2*time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if got, want := readLogSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums after the paused leader came back differ from plain Go:\n got %v\nwant %v", got, want)
	}
}

// BenchmarkFailover measures the time from kill -9 of the leading
// JobManager to the first record the job's sink processes under the new
// leader (the test job's first-SUBTASK-UNIXNANO files), with three
// JobManagers, Consul's check TTL 2 s and lock-delay 1 s. Target: under 5 s.
func BenchmarkFailover(b *testing.B) {
	h := startHACluster(b, 3)
	first := h.leader(b, "")
	output := b.TempDir()
	args := []string{"--records", "-1", "--rate", "4000", "--parallelism", "2", "--output", output,
		"--checkpoint-interval", "200ms", "--append"}
	h.startTaskManager(b, "tm-1", 2, bins.testjob, args...)
	h.startTaskManager(b, "tm-2", 2, bins.testjob, args...)
	lc := h.jms[first]
	lc.waitTaskManagers(b, 2)
	id := lc.submit(b, bins.testjob, args...)
	waitFor(b, time.Minute, "a recorded checkpoint", func() bool {
		d, err := lc.client.Job(context.Background(), id)
		return err == nil && d.State == "running" && lc.completedCheckpoint(id, d.Attempt)
	})
	killed := time.Now()
	lc.jm.kill9(b)
	var resumed time.Time
	waitFor(b, time.Minute, "the first record under the new leader", func() bool {
		var ok bool
		resumed, ok = firstWritesAfter(output, killed)
		return ok
	})
	next := h.leader(b, first)
	d, err := h.jms[next].client.Job(context.Background(), id)
	if err != nil || !strings.HasPrefix(d.RestoredFrom, "checkpoint ") {
		b.Fatalf("under %s the job restored from %q: %v", next, d.RestoredFrom, err)
	}
	took := resumed.Sub(killed)
	b.Logf("kill -9 %s -> first record under %s: %v", first, next, took)
	b.ReportMetric(float64(took.Milliseconds()), "failover-ms")
	b.ReportMetric(0, "ns/op")
	_, _ = h.jms[next].jmctl(b, "cancel", id)
}
