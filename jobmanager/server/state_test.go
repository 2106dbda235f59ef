package server_test

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/jobmanager/api"
)

// backendArgs returns the JobManager flags of a state backend: memory (the
// default) or s3 on a versitygw started for the test.
func backendArgs(t *testing.T, backend string) []string {
	t.Helper()
	if backend == "memory" {
		return nil
	}
	srv := s3test.Start(t)
	srv.CreateBucket(t, "sluice")
	set := func(k, v string) []string { return []string{"--state-backend-setting", k + "=" + v} }
	args := []string{"--state-backend", bins.s3backend}
	args = append(args, set("bucket", "sluice")...)
	args = append(args, set("prefix", "cluster-a")...)
	args = append(args, set("endpoint", srv.Endpoint)...)
	args = append(args, set("path_style", "true")...)
	args = append(args, set("region", srv.Region)...)
	args = append(args, set("access_key_id", srv.AccessKey)...)
	args = append(args, set("secret_access_key", srv.SecretKey)...)
	return args
}

// readLogSums reads the testjob's append logs (--append): the last line of
// a key is its latest sum, across every attempt that wrote it.
func readLogSums(t testing.TB, dir string) map[int64]int64 {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "part-*.log"))
	got := map[int64]int64{}
	for _, p := range logs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var k, v int64
			if _, err := fmt.Sscanf(sc.Text(), "%d %d", &k, &v); err != nil {
				t.Fatalf("%s: bad line %q", p, sc.Text())
			}
			got[k] = v
		}
		f.Close()
	}
	return got
}

// completedCheckpoint reports whether the job's current attempt has
// completed a checkpoint.
func (c *cluster) completedCheckpoint(id string, attempt int) bool {
	cps, err := c.client.Checkpoints(context.Background(), id)
	if err != nil {
		return false
	}
	for _, cp := range cps {
		if cp.Status == "completed" && !cp.Savepoint && cp.Attempt == attempt {
			return true
		}
	}
	return false
}

// TestExactlyOnceAcrossKilledTaskManagers kills TaskManager processes with
// SIGKILL at random moments while a keyed sum runs with checkpoints every
// 200 ms, and checks that the final sums equal a plain-Go computation:
// nothing lost, nothing counted twice, on each state backend.
func TestExactlyOnceAcrossKilledTaskManagers(t *testing.T) {
	for _, backend := range []string{"memory", "s3"} {
		t.Run(backend, func(t *testing.T) { exactlyOnceUnderKills(t, backend) })
	}
}

func exactlyOnceUnderKills(t *testing.T, backend string) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	c := startJobManager(t, append([]string{"--provider", "standalone",
		"--restart-strategy", "fixed-delay", "--restart-attempts", "20", "--restart-delay", "100ms"}, backendArgs(t, backend)...)...)
	output := t.TempDir()
	const records = 30000
	args := []string{"--records", strconv.Itoa(records), "--rate", "4000", "--parallelism", "2", "--output", output,
		"--checkpoint-interval", "200ms", "--append"}
	tms := map[string]*proc{}
	n := 0
	startTM := func() {
		n++
		id := fmt.Sprintf("tm-%d", n)
		tms[id] = c.startTaskManager(t, id, 2, bins.testjob, args...)
	}
	startTM()
	startTM()
	c.waitTaskManagers(t, 2)
	id := c.submit(t, bins.testjob, args...)

	kills := 0
	for kills < 3 {
		// Kill only once the running attempt has completed a checkpoint,
		// so that the restore is from a checkpoint, not from scratch.
		var d *api.JobDetail
		waitFor(t, time.Minute, "a checkpoint of the running attempt", func() bool {
			var err error
			d, err = c.client.Job(context.Background(), id)
			return err == nil && (d.State == "finished" || d.State == "running" && c.completedCheckpoint(id, d.Attempt))
		})
		if d.State == "finished" {
			break
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond) // a random moment between checkpoints
		var hosts []string
		for _, st := range d.Tasks {
			if _, ok := tms[st.TaskManager]; ok && !slices.Contains(hosts, st.TaskManager) {
				hosts = append(hosts, st.TaskManager)
			}
		}
		slices.Sort(hosts)
		victim := hosts[rng.IntN(len(hosts))]
		t.Logf("kill -9 %s in attempt %d", victim, d.Attempt)
		tms[victim].kill9(t)
		delete(tms, victim)
		kills++
		startTM()
		waitFor(t, 30*time.Second, "the job to restart", func() bool {
			next, err := c.client.Job(context.Background(), id)
			return err == nil && (next.Attempt > d.Attempt || next.State == "failed")
		})
	}
	d := c.waitJob(t, id, 2*time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if kills < 2 {
		t.Fatalf("the job finished after %d kills; make it run longer", kills)
	}
	if d.Restarts < kills {
		t.Fatalf("%d restarts after %d kills", d.Restarts, kills)
	}
	if !strings.HasPrefix(d.RestoredFrom, "checkpoint ") {
		t.Fatalf("the last attempt restored from %q, not from a checkpoint", d.RestoredFrom)
	}
	if got, want := readLogSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums after %d kills differ from plain Go:\n got %v\nwant %v", kills, got, want)
	}
}

// TestSavepointStopAndResumeElsewhere stops a job with a savepoint into a
// directory on a cluster with the memory backend, then resumes it from the
// savepoint on a cluster with the s3 backend at another parallelism of the
// keyed sum, with a newer build that adds an operator: the final sums equal
// a plain-Go computation.
func TestSavepointStopAndResumeElsewhere(t *testing.T) {
	const records = 24000
	base := []string{"--records", strconv.Itoa(records), "--rate", "4000", "--source-parallelism", "2", "--append"}
	first := startJobManager(t, "--slots", "4")
	out1 := t.TempDir()
	id := first.submit(t, bins.testjob, append(base, "--parallelism", "2", "--output", out1)...)
	waitFor(t, time.Minute, "records to reach the sum", func() bool {
		d, err := first.client.Job(context.Background(), id)
		if err != nil || d.State != "running" {
			return false
		}
		for _, st := range d.Tasks {
			if strings.HasPrefix(st.Name, "Sum") && st.RecordsIn > 2000 {
				return true
			}
		}
		return false
	})
	dir := filepath.Join(t.TempDir(), "sp")
	out, code := first.jmctl(t, "stop", id, "--savepoint=file://"+dir)
	if code != 0 {
		t.Fatalf("jmctl stop exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "completed: file://"+dir) || !strings.Contains(out, "finished") {
		t.Fatalf("jmctl stop does not report the savepoint and the end of the job:\n%s", out)
	}
	if d := first.waitJob(t, id, 30*time.Second, "finished", "failed", "cancelled"); d.State != "finished" {
		t.Fatalf("stopped job is %s", d.State)
	}
	if _, err := os.Stat(filepath.Join(dir, "_metadata")); err != nil {
		t.Fatalf("no savepoint metadata: %v", err)
	}

	second := startJobManager(t, append([]string{"--slots", "4"}, backendArgs(t, "s3")...)...)
	// A build that dropped the stateful sum is refused, clearly.
	out, code = second.jmctl(t, append([]string{"submit", "--detached", "--from-savepoint", "file://" + dir, bins.testjob, "--"},
		append(base, "--parallelism", "3", "--drop-sum", "--output", t.TempDir())...)...)
	if code == 0 || !strings.Contains(out, `operator "Sum" (uid sum)`) || !strings.Contains(out, "--allow-non-restored-state") {
		t.Fatalf("submit without the stateful operator: exit %d, want a refusal naming it:\n%s", code, out)
	}
	out2 := t.TempDir()
	out, code = second.jmctl(t, append([]string{"submit", "--from-savepoint", "file://" + dir, bins.testjob, "--"},
		append(base, "--parallelism", "3", "--extra-operator", "--output", out2)...)...)
	if code != 0 {
		t.Fatalf("submit from the savepoint exited %d:\n%s", code, out)
	}
	got := readLogSums(t, out1)
	maps.Copy(got, readLogSums(t, out2)) // the resumed job's sums are the later ones
	if want := expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums after stop and resume differ from plain Go:\n got %v\nwant %v", got, want)
	}
	jobs, err := second.client.Jobs(context.Background())
	if err != nil || len(jobs) != 1 || !strings.HasPrefix(jobs[0].RestoredFrom, "savepoint file://") {
		t.Fatalf("the resumed job does not say it restored from the savepoint: %+v %v", jobs, err)
	}
	// Savepoints stay until disposed of.
	out, code = second.jmctl(t, "savepoint", "--dispose", "file://"+dir)
	if code != 0 {
		t.Fatalf("dispose exited %d:\n%s", code, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the disposed savepoint's directory is still there: %v", err)
	}
	if out, code = second.jmctl(t, "submit", "--detached", "--from-savepoint", "file://"+dir, bins.testjob); code == 0 || !strings.Contains(out, "no savepoint") {
		t.Fatalf("submit from a missing savepoint: exit %d:\n%s", code, out)
	}
}
