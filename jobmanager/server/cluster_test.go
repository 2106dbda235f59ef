package server_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/poll"
	"github.com/sluicehq/sluice/internal/tlsutil"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/taskmanager/network"
)

// Binaries built once for all tests.
var bins struct {
	jobmanager, jmctl, testjob, wordcount, s3backend, filebackend, nexmark string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := func(pkg, name string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, b)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		return out
	}
	bins.jobmanager = build("github.com/sluicehq/sluice/cmd/jobmanager", "jobmanager")
	bins.jmctl = build("github.com/sluicehq/sluice/cmd/jmctl", "jmctl")
	bins.testjob = build("./testdata/testjob", "testjob")
	bins.wordcount = build("github.com/sluicehq/sluice/examples/wordcount", "wordcount")
	bins.s3backend = build("github.com/sluicehq/sluice/backends/s3", "sluice-backend-s3")
	bins.nexmark = build("github.com/sluicehq/sluice/examples/nexmark/cmd/nexmark", "nexmark")
	bins.filebackend = build("github.com/sluicehq/sluice/plugins/testdata/filebackend", "filebackend")
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// proc is a process started by a test; it is killed (with its process
// group) and reaped when the test ends.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t testing.TB, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if os.Getenv("SLUICE_CPUPROFILE") != "" {
			// Let profiled processes write their profiles.
			_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
			}
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, p.out.String())
		}
	})
	return p
}

// kill9 kills the process and waits until it is gone.
func (p *proc) kill9(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// freeAddrs returns n distinct loopback addresses nothing listens on now;
// all are held until every one is chosen, so none is picked twice.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// waitFor waits for cond (see poll.Until).
var waitFor = poll.Until

// cluster is a JobManager process and a client for it.
type cluster struct {
	rest, rpc string
	client    *api.Client
	jm        *proc
	token     string // --token of the JobManager, used by client and jmctl
	dataDir   string // --data-dir: artifacts, and the local TaskManagers' logs under taskmanagers/
	// tls: the JobManager serves TLS (--tls-cert); tlsCA is its --tls-ca,
	// which client and jmctl (as SLUICE_TLS_CA) verify it against.
	tls   bool
	tlsCA string
}

func startJobManager(t testing.TB, args ...string) *cluster {
	t.Helper()
	addrs := freeAddrs(t, 2)
	c := &cluster{rest: addrs[0], rpc: addrs[1], dataDir: t.TempDir()}
	args = append([]string{"--http-addr", c.rest, "--rpc-addr", c.rpc, "--data-dir", c.dataDir,
		"--heartbeat-interval", "200ms", "--heartbeat-timeout", "2s"}, args...)
	c.jm = start(t, "jobmanager", nil, bins.jobmanager, args...)
	for i, a := range args[:len(args)-1] {
		switch a {
		case "--token":
			c.token = args[i+1]
		case "--tls-cert":
			c.tls = true
		case "--tls-ca":
			c.tlsCA = args[i+1]
		}
	}
	opts := []api.Option{api.WithToken(c.token)}
	base := c.rest
	if c.tls {
		tc, err := tlsutil.Client(tlsutil.Config{CAFile: c.tlsCA})
		if err != nil {
			t.Fatal(err)
		}
		opts, base = append(opts, api.WithTLS(tc)), "https://"+c.rest
	}
	var err error
	if c.client, err = api.NewClient(base, opts...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the JobManager to serve", func() bool {
		_, err := c.client.Overview(context.Background())
		return err == nil
	})
	return c
}

// startTaskManager starts a job binary as a standalone TaskManager.
func (c *cluster) startTaskManager(t testing.TB, id string, slots int, bin string, args ...string) *proc {
	t.Helper()
	return c.startTaskManagerEnv(t, id, slots, nil, bin, args...)
}

// startTaskManagerEnv is startTaskManager with more environment.
func (c *cluster) startTaskManagerEnv(t testing.TB, id string, slots int, env []string, bin string, args ...string) *proc {
	t.Helper()
	return start(t, id, append([]string{
		"SLUICE_MODE=taskmanager", "SLUICE_JOBMANAGER_RPC=" + c.rpc,
		"SLUICE_TASKMANAGER_ID=" + id, "SLUICE_SLOTS=" + strconv.Itoa(slots), "SLUICE_TOKEN=" + c.token,
	}, env...), bin, args...)
}

func (c *cluster) waitTaskManagers(t testing.TB, n int) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%d TaskManagers to register", n), func() bool {
		tms, err := c.client.TaskManagers(context.Background())
		return err == nil && len(tms) == n
	})
}

// jmctl runs the real jmctl against the cluster.
func (c *cluster) jmctl(t testing.TB, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.jmctl, append([]string{"--jobmanager", c.rest}, args...)...)
	cmd.Env = append(os.Environ(), "SLUICE_TOKEN="+c.token)
	if c.tlsCA != "" {
		// With --jobmanager host:port, the CA makes jmctl use https.
		cmd.Env = append(cmd.Env, "SLUICE_TLS_CA="+c.tlsCA)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("jmctl %v: %v", args, err)
	}
	return string(out), code
}

// submit submits bin with args, detached, and returns the job id.
func (c *cluster) submit(t testing.TB, bin string, args ...string) string {
	t.Helper()
	return c.submitWith(t, nil, bin, args...)
}

// submitWith is submit with jmctl submit flags.
func (c *cluster) submitWith(t testing.TB, flags []string, bin string, args ...string) string {
	t.Helper()
	out, code := c.jmctl(t, append(append(append([]string{"submit", "--detached"}, flags...), bin, "--"), args...)...)
	if code != 0 {
		t.Fatalf("jmctl submit exited %d:\n%s", code, out)
	}
	return strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
}

func (c *cluster) waitJob(t testing.TB, id string, timeout time.Duration, states ...string) *api.JobDetail {
	t.Helper()
	var last *api.JobDetail
	waitFor(t, timeout, fmt.Sprintf("job %s to be %v", id, states), func() bool {
		d, err := c.client.Job(context.Background(), id)
		if err != nil {
			return false
		}
		last = d
		for _, s := range states {
			if d.State == s {
				return true
			}
		}
		return false
	})
	return last
}

// expectedSums is the testjob's result computed in plain Go.
func expectedSums(records int64) map[int64]int64 {
	want := map[int64]int64{}
	for i := range records {
		want[(i*7919)%101] += i%17 - 8
	}
	return want
}

func readSums(t testing.TB, dir string) map[int64]int64 {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*"))
	got := map[int64]int64{}
	for _, p := range parts {
		if strings.HasSuffix(p, ".tmp") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Fields(strings.ReplaceAll(string(data), " ", ":")) {
			var k, v int64
			if _, err := fmt.Sscanf(line, "%d:%d", &k, &v); err != nil {
				t.Fatalf("%s: bad line %q", p, line)
			}
			got[k] = v
		}
	}
	return got
}

func TestWordCountOnStandaloneTaskManagers(t *testing.T) {
	c := startJobManager(t, "--provider", "standalone")
	dir := t.TempDir()
	input := filepath.Join(dir, "input.txt")
	var text strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&text, "alpha beta%d gamma %d delta\n", i%37, i%5)
	}
	if err := os.WriteFile(input, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, w := range strings.Fields(text.String()) {
		want[w]++
	}
	output := filepath.Join(dir, "counts")
	args := []string{"--input", input, "--output", output, "--parallelism", "4"}
	for i := range 3 {
		c.startTaskManager(t, fmt.Sprintf("tm-%d", i+1), 2, bins.wordcount, args...)
	}
	c.waitTaskManagers(t, 3)
	id := c.submit(t, bins.wordcount, args...)
	d := c.waitJob(t, id, time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	got := map[string]int64{}
	parts, _ := filepath.Glob(filepath.Join(output, "part-*"))
	for _, p := range parts {
		data, _ := os.ReadFile(p)
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var w string
			var n int64
			fmt.Sscanf(line, "%s %d", &w, &n)
			got[w] = n
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("counts differ from plain Go: got %d words, want %d", len(got), len(want))
	}
	used := map[string]bool{}
	for _, st := range d.Tasks {
		used[st.TaskManager] = true
	}
	if len(used) < 2 {
		t.Fatalf("the subtasks ran on %v; want them spread over the TaskManagers", used)
	}
}

func TestLocalProviderStartsAndStopsTaskManagers(t *testing.T) {
	c := startJobManager(t, "--slots", "2")
	output := filepath.Join(t.TempDir(), "sums")
	out, code := c.jmctl(t, "submit", bins.testjob, "--", "--records", "200000", "--parallelism", "3", "--output", output)
	if code != 0 {
		t.Fatalf("attached submit exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "finished") {
		t.Fatalf("submit output does not report the end:\n%s", out)
	}
	if got, want := readSums(t, output), expectedSums(200000); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	// The job's TaskManagers are stopped once it ended.
	waitFor(t, 20*time.Second, "the job's TaskManagers to go", func() bool {
		tms, err := c.client.TaskManagers(context.Background())
		return err == nil && len(tms) == 0
	})
}

func TestKilledTaskManagerRestartsTheJob(t *testing.T) {
	c := startJobManager(t, "--provider", "standalone", "--restart-strategy", "fixed-delay", "--restart-attempts", "3", "--restart-delay", "200ms")
	output := filepath.Join(t.TempDir(), "sums")
	const records = 6000
	args := []string{"--records", strconv.Itoa(records), "--rate", "2000", "--parallelism", "4", "--output", output}
	tms := map[string]*proc{}
	for i := range 3 {
		id := fmt.Sprintf("tm-%d", i+1)
		tms[id] = c.startTaskManager(t, id, 2, bins.testjob, args...)
	}
	c.waitTaskManagers(t, 3)
	id := c.submit(t, bins.testjob, args...)
	var victim string
	waitFor(t, 30*time.Second, "records to flow", func() bool {
		d, err := c.client.Job(context.Background(), id)
		if err != nil || d.State != "running" {
			return false
		}
		for _, st := range d.Tasks {
			if st.RecordsIn > 500 && st.Name != "" {
				victim = st.TaskManager
				return true
			}
		}
		return false
	})
	// While it runs, its slots account network buffers and keyed state
	// against their share of managed memory.
	waitFor(t, 10*time.Second, "slot accounting in the heartbeats", func() bool {
		list, err := c.client.TaskManagers(context.Background())
		if err != nil {
			return false
		}
		for _, tm := range list {
			for _, s := range tm.Slots {
				if s.Job == id && s.NetworkBytes > 0 && s.StateBytes > 0 && s.MemoryBytes > 0 {
					return true
				}
			}
		}
		return false
	})
	tms[victim].kill9(t)
	d := c.waitJob(t, id, time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s after the kill: %s", d.State, d.Error)
	}
	if d.Restarts < 1 {
		t.Fatalf("job finished without a restart: %+v", d.JobSummary)
	}
	if got, want := readSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go after the restart:\n got %v\nwant %v", got, want)
	}
	info, code := c.jmctl(t, "info", id)
	if code != 0 || !strings.Contains(info, victim) || !strings.Contains(info, "lost") {
		t.Fatalf("jmctl info does not show the lost TaskManager %s (exit %d):\n%s", victim, code, info)
	}
}

func TestNotEnoughSlotsWaitsThenFails(t *testing.T) {
	c := startJobManager(t, "--provider", "standalone", "--slot-timeout", "1500ms")
	args := []string{"--records", "1000", "--parallelism", "4"}
	c.startTaskManager(t, "tm-1", 2, bins.testjob, args...)
	c.waitTaskManagers(t, 1)
	id := c.submit(t, bins.testjob, args...)
	if d := c.waitJob(t, id, 10*time.Second, "created", "failed"); d.State != "created" {
		t.Fatalf("job is %s instead of waiting for slots", d.State)
	}
	d := c.waitJob(t, id, 20*time.Second, "failed")
	if !strings.Contains(d.Error, "needs 4 slots") || !strings.Contains(d.Error, "2 are free") {
		t.Fatalf("the failure does not say how many slots are needed and free: %q", d.Error)
	}
}

func TestGraphMismatchFailsClearly(t *testing.T) {
	c := startJobManager(t, "--slots", "4")
	nameFile := filepath.Join(t.TempDir(), "name")
	os.WriteFile(nameFile, []byte("before"), 0o644)
	args := []string{"--records", "1000", "--name-from", nameFile}
	// Plan with one name, then change it so that the TaskManagers the
	// JobManager starts rebuild another graph.
	plan := exec.Command(bins.testjob, args...)
	plan.Env = append(os.Environ(), "SLUICE_MODE=plan")
	graph, err := plan.Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(nameFile, []byte("after"), 0o644)
	digest, err := c.client.UploadArtifact(context.Background(), bins.testjob)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.client.Submit(context.Background(), api.SubmitRequest{Graph: bytes.TrimSpace(graph), Artifact: digest, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	d := c.waitJob(t, id, 30*time.Second, "failed")
	if !strings.Contains(d.Error, "builds job graph") || !strings.Contains(d.Error, "the submitted graph is") {
		t.Fatalf("unclear error: %q", d.Error)
	}
	// The JobManager keeps serving.
	if _, err := c.client.Jobs(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// rssBytes reads a process's resident set size.
func rssBytes(t testing.TB, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}

func TestSlowSinkBackpressuresTheSource(t *testing.T) {
	c := startJobManager(t, "--provider", "standalone")
	// An unbounded source and a sink that takes 200µs a record, on two
	// TaskManagers of one slot each: every record crosses the data plane.
	args := []string{"--bytes", "--records", "-1", "--slow-sink", "200us"}
	tms := []*proc{
		c.startTaskManager(t, "tm-1", 1, bins.testjob, args...),
		c.startTaskManager(t, "tm-2", 1, bins.testjob, args...),
	}
	c.waitTaskManagers(t, 2)
	id := c.submit(t, bins.testjob, args...)
	c.waitJob(t, id, 20*time.Second, "running")

	// What can be in flight between source and sink: the sender's frame,
	// the yamux window, the receiver's credits and a batch in the sink;
	// at most 2 MiB + 6 frames of 256 KiB, some 37,000 100-byte records.
	// Without backpressure the source would run millions of records
	// ahead.
	const maxInFlight = (network.DefaultStreamWindow + 6*256<<10) / 100
	var maxRSS int64
	var sent, received int64
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		d, err := c.client.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range d.Tasks {
			if st.Name == "Records" {
				sent = st.RecordsOut
			} else {
				received = st.RecordsIn
			}
		}
		if sent-received > maxInFlight {
			t.Fatalf("the source is %d records ahead of the slow sink (sent %d, received %d); backpressure does not hold it", sent-received, sent, received)
		}
		for _, p := range tms {
			maxRSS = max(maxRSS, rssBytes(t, p.cmd.Process.Pid))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if received < 1000 {
		t.Fatalf("the sink received only %d records", received)
	}
	if maxRSS > 200<<20 {
		t.Fatalf("a TaskManager grew to %d MiB", maxRSS>>20)
	}
	t.Logf("after 3s: sent %d, received %d, largest TaskManager RSS %d MiB", sent, received, maxRSS>>20)
	// The REST API shows where the pressure is: the source waits most of
	// the time, the sink not at all.
	waitFor(t, 10*time.Second, "the source to show backpressure over 50%", func() bool {
		d, err := c.client.Job(context.Background(), id)
		if err != nil {
			return false
		}
		for _, st := range d.Tasks {
			if st.Name == "Records" && st.Backpressure > 0.5 {
				return true
			}
			if st.Name != "Records" && st.Backpressure > 0.1 {
				t.Fatalf("the slow sink shows backpressure %.2f; it has nothing downstream", st.Backpressure)
			}
		}
		return false
	})
	if out, code := c.jmctl(t, "cancel", id); code != 0 {
		t.Fatalf("jmctl cancel exited %d: %s", code, out)
	}
	c.waitJob(t, id, 20*time.Second, "cancelled")
}
