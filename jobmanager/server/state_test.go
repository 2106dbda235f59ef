package server_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
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

// TestBadStateBackendBinary: a JobManager whose state backend is missing,
// not executable or not a backend at all refuses to start with a message
// naming the binary.
func TestBadStateBackendBinary(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "sluice-backend-notexec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ backend, want string }{
		{"nosuch", "sluice-backend-nosuch"},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing")},
		{notExec, notExec},
		{bins.testjob, bins.testjob}, // runs, but speaks no plugin handshake
	} {
		cmd := exec.Command(bins.jobmanager, "--http-addr", "127.0.0.1:0", "--rpc-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--state-backend", tc.backend)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("--state-backend %s: exit %v, want 1:\n%s", tc.backend, err, out)
		}
		if !strings.Contains(string(out), "--state-backend") || !strings.Contains(string(out), tc.want) {
			t.Fatalf("--state-backend %s: the error does not name the flag and %s:\n%s", tc.backend, tc.want, out)
		}
	}
}

// TestCorruptSnapshotFailsRestoreNamingTheObject corrupts a state object
// of a savepoint in S3: the job restoring from it fails with a checksum
// error naming the object, and nothing is restored from the bad bytes.
func TestCorruptSnapshotFailsRestoreNamingTheObject(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "sluice")
	set := func(k, v string) []string { return []string{"--state-backend-setting", k + "=" + v} }
	flags := []string{"--slots", "4", "--restart-strategy", "none", "--state-backend", bins.s3backend}
	for _, kv := range [][2]string{{"bucket", "sluice"}, {"prefix", "c"}, {"endpoint", srv.Endpoint}, {"path_style", "true"},
		{"region", srv.Region}, {"access_key_id", srv.AccessKey}, {"secret_access_key", srv.SecretKey}} {
		flags = append(flags, set(kv[0], kv[1])...)
	}
	c := startJobManager(t, flags...)
	args := []string{"--records", "-1", "--rate", "2000", "--parallelism", "2", "--output", t.TempDir(), "--append"}
	id := c.submit(t, bins.testjob, args...)
	waitFor(t, time.Minute, "records to reach the sum", func() bool {
		d, err := c.client.Job(context.Background(), id)
		if err != nil || d.State != "running" {
			return false
		}
		for _, st := range d.Tasks {
			if strings.HasPrefix(st.Name, "Sum") && st.RecordsIn > 500 {
				return true
			}
		}
		return false
	})
	if out, code := c.jmctl(t, "stop", id, "--savepoint=savepoints/corrupt"); code != 0 {
		t.Fatalf("jmctl stop exited %d:\n%s", code, out)
	}
	// Flip a byte of every keyed-state object (state-1-*: the sum is the
	// second operator with state, after the source).
	objects, _ := filepath.Glob(filepath.Join(srv.Dir, "sluice", "c", "savepoints", "corrupt", "state-1-*"))
	if len(objects) == 0 {
		t.Fatalf("no keyed state objects in the savepoint under %s", srv.Dir)
	}
	for _, p := range objects {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0xff
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := c.jmctl(t, append([]string{"submit", "--detached", "--from-savepoint", "savepoints/corrupt", bins.testjob, "--"}, args...)...)
	if code != 0 {
		t.Fatalf("jmctl submit exited %d:\n%s", code, out)
	}
	id2 := strings.TrimSpace(out)
	d := c.waitJob(t, id2, time.Minute, "failed", "finished", "cancelled")
	if d.State != "failed" || !strings.Contains(d.Error, "checksum") || !strings.Contains(d.Error, "savepoints/corrupt/state-1-") {
		t.Fatalf("job restoring corrupt state is %s with error %q; want failed with a checksum error naming the object", d.State, d.Error)
	}
}

// childWithArg returns the pid of a child of ppid whose command line
// contains arg, or 0.
func childWithArg(ppid int, arg string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), arg) {
			return pid
		}
	}
	return 0
}

// TestBackendCrashFailsOneCheckpoint kills the JobManager's memory backend
// process with SIGKILL while a job takes checkpoints: the checkpoint in
// flight fails saying the backend crashed, the backend is restarted, later
// checkpoints complete, and the job keeps running.
func TestBackendCrashFailsOneCheckpoint(t *testing.T) {
	c := startJobManager(t, "--slots", "4")
	args := []string{"--records", "-1", "--rate", "2000", "--parallelism", "2", "--checkpoint-interval", "100ms"}
	id := c.submit(t, bins.testjob, args...)
	completedAfter := func(after int64) bool {
		cps, err := c.client.Checkpoints(context.Background(), id)
		if err != nil {
			return false
		}
		for _, cp := range cps {
			if cp.Status == "completed" && cp.ID > after {
				return true
			}
		}
		return false
	}
	waitFor(t, time.Minute, "a completed checkpoint", func() bool { return completedAfter(0) })
	pid := childWithArg(c.jm.cmd.Process.Pid, "__serve-memory-backend")
	if pid == 0 {
		t.Fatal("no memory backend process under the JobManager")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var crashed int64
	waitFor(t, 30*time.Second, "a checkpoint that failed on the crash", func() bool {
		cps, _ := c.client.Checkpoints(context.Background(), id)
		for _, cp := range cps {
			if cp.Status == "aborted" && strings.Contains(cp.Reason, "crashed") {
				crashed = cp.ID
				return true
			}
		}
		return false
	})
	waitFor(t, 30*time.Second, "a checkpoint completed after the crash", func() bool { return completedAfter(crashed) })
	if d, err := c.client.Job(context.Background(), id); err != nil || d.State != "running" || d.Restarts != 0 {
		t.Fatalf("after the backend crash the job is %+v (%v); want running without a restart", d, err)
	}
	if pid2 := childWithArg(c.jm.cmd.Process.Pid, "__serve-memory-backend"); pid2 == 0 || pid2 == pid {
		t.Fatalf("the backend was not restarted (pid %d, before %d)", pid2, pid)
	}
}

// TestThirdPartyBackend runs a cluster on a backend built from the plugin
// SDK outside Sluice (plugins/testdata/filebackend, given by path): its
// TaskManagers write checkpoints into it, and a savepoint lands in its
// directory.
func TestThirdPartyBackend(t *testing.T) {
	store := t.TempDir()
	c := startJobManager(t, "--slots", "4", "--state-backend", bins.filebackend, "--state-backend-setting", "dir="+store)
	args := []string{"--records", "-1", "--rate", "2000", "--parallelism", "2", "--checkpoint-interval", "100ms"}
	id := c.submit(t, bins.testjob, args...)
	waitFor(t, time.Minute, "a completed checkpoint", func() bool {
		d, err := c.client.Job(context.Background(), id)
		return err == nil && c.completedCheckpoint(id, d.Attempt)
	})
	out, code := c.jmctl(t, "stop", id, "--savepoint=savepoints/third-party")
	if code != 0 {
		t.Fatalf("jmctl stop exited %d:\n%s", code, out)
	}
	// The file backend keeps each object under the sha256 of its name.
	sum := sha256.Sum256([]byte("savepoints/third-party/_metadata"))
	if _, err := os.Stat(filepath.Join(store, "objects", hex.EncodeToString(sum[:]))); err != nil {
		t.Fatalf("no savepoint metadata in the third-party backend's directory %s", store)
	}
}
