package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// planJob builds testdata/planjob once and returns the binary's path.
func planJob(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the test job binary:", err)
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "jmctl-planjob")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "planjob")
		out, err := exec.Command(goBin, "build", "-o", buildPath, "./testdata/planjob").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal("build testdata/planjob:", buildErr)
	}
	return buildPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func cleanupBinaries() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// fakeJM is a JobManager that stores artifacts, accepts one job, job-1,
// and answers its polls with the states of script in turn (the last one
// repeating).
type fakeJM struct {
	t      *testing.T
	script []string
	err    string        // the job's error once it failed
	onPoll func(n int)   // called at the start of poll n (from 1)
	start  time.Time     // the job's start
	took   time.Duration // from start to a terminal state
	vanish bool          // answer polls with 404

	mu        sync.Mutex
	artifacts map[string][]byte
	calls     []string
	submitted []api.SubmitRequest
	polls     int
}

func newFakeJM(t *testing.T, script ...string) *fakeJM {
	return &fakeJM{t: t, script: script, artifacts: map[string][]byte{}, start: testNow, took: 4500 * time.Millisecond}
}

func (f *fakeJM) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeJM) serve() string {
	mux := http.NewServeMux()
	mux.HandleFunc("HEAD /v1/artifacts/{sha}", func(w http.ResponseWriter, r *http.Request) {
		f.record("HEAD")
		f.mu.Lock()
		_, ok := f.artifacts[r.PathValue("sha")]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	mux.HandleFunc("PUT /v1/artifacts/{sha}", func(w http.ResponseWriter, r *http.Request) {
		f.record("PUT")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			f.t.Error(err)
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != r.PathValue("sha") {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(api.Error{Error: "digest mismatch"})
			return
		}
		f.mu.Lock()
		f.artifacts[r.PathValue("sha")] = body
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		f.record("POST")
		var req api.SubmitRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			f.t.Error(err)
		}
		f.mu.Lock()
		f.submitted = append(f.submitted, req)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(api.SubmitResponse{ID: "job-1"})
	})
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		f.record("CANCEL")
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "job-1" || f.vanish {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(api.Error{Error: "unknown job"})
			return
		}
		f.mu.Lock()
		f.polls++
		n := f.polls
		f.mu.Unlock()
		if f.onPoll != nil {
			f.onPoll(n)
		}
		state := f.script[min(n, len(f.script))-1]
		d := api.JobDetail{JobSummary: api.JobSummary{ID: "job-1", Name: "planjob", State: state, Start: f.start, Subtasks: 2}}
		if terminal(state) {
			d.End = f.start.Add(f.took)
			if state != stateFinished {
				d.Error = f.err
			}
		}
		for i := range 2 {
			d.Tasks = append(d.Tasks, api.Subtask{Task: "t", Name: "Sequence -> Square -> Print", Subtask: i, Parallelism: 2,
				State: state, RecordsIn: int64(100 * n), RecordsOut: int64(50 * n)})
		}
		_ = json.NewEncoder(w).Encode(d)
	})
	return newAPI(f.t, mux)
}

func (f *fakeJM) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestSubmitDetached(t *testing.T) {
	bin := planJob(t)
	jm := newFakeJM(t, "running")
	addr := jm.serve()
	t.Setenv(parallelismEnv, "7") // jmctl's own must not reach the plan

	e := newTestEnv(map[string]string{jobManagerEnv: addr})
	code := e.run("submit", "-detached", "-parallelism", "3", bin, "--", "-name", "squares", "-n", "10")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if e.out.String() != "job-1\n" || e.err.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want the job id alone", e.out.String(), e.err.String())
	}
	if got, want := jm.callList(), []string{"HEAD", "PUT", "POST"}; !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	req := jm.submitted[0]
	digest := fileDigest(t, bin)
	if req.Artifact != digest {
		t.Errorf("artifact %s, want the binary's sha256 %s", req.Artifact, digest)
	}
	if _, ok := jm.artifacts[digest]; !ok {
		t.Errorf("the binary was not uploaded under its digest")
	}
	if want := []string{"-name", "squares", "-n", "10"}; !slices.Equal(req.Args, want) {
		t.Errorf("args %q, want %q", req.Args, want)
	}
	if req.Parallelism != 3 {
		t.Errorf("parallelism %d, want 3", req.Parallelism)
	}
	g, err := jobgraph.Parse(req.Graph)
	if err != nil {
		t.Fatalf("the submitted graph does not parse: %v", err)
	}
	if g.Name != "squares" {
		t.Errorf("graph name %q, want the -name the binary was planned with", g.Name)
	}
	for _, op := range g.Operators {
		if op.Parallelism != 3 {
			t.Errorf("operator %s has parallelism %d, want 3 (SLUICE_PARALLELISM)", op.Name, op.Parallelism)
		}
	}
	if len(req.Graph) == 0 || req.Graph[len(req.Graph)-1] != '}' {
		t.Errorf("the graph was not trimmed")
	}

	// Again, without --parallelism: the artifact is there already, and
	// the plan ignores jmctl's SLUICE_PARALLELISM.
	e = newTestEnv(map[string]string{jobManagerEnv: addr})
	if code := e.run("submit", "--detached", "--json", bin); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if want := "{\n  \"id\": \"job-1\"\n}\n"; e.out.String() != want {
		t.Errorf("--json printed %q, want %q", e.out.String(), want)
	}
	if got, want := jm.callList(), []string{"HEAD", "PUT", "POST", "HEAD", "POST"}; !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	req = jm.submitted[1]
	if req.Parallelism != 0 || len(req.Args) != 0 {
		t.Errorf("second request %+v", req)
	}
	if g, err = jobgraph.Parse(req.Graph); err != nil || g.Operators[0].Parallelism != 1 {
		t.Errorf("graph without --parallelism: %v, parallelism %d, want the binary's 1", err, g.Operators[0].Parallelism)
	}
}

func TestSubmitFollow(t *testing.T) {
	bin := planJob(t)
	for _, tc := range []struct {
		name   string
		script []string
		code   int
		stdout []string
		stderr string
	}{
		{"finished", []string{"running", "running", "finished"}, exitOK,
			[]string{"job job-1 submitted\n", "state: running\n", "job job-1 finished in 4.5s\n"}, ""},
		{"failed", []string{"running", "failing", "failed"}, exitFailed,
			[]string{"state: running\n", "state: failing\n", "job job-1 failed after 4.5s\n", "error: Square (1/2): boom\n"},
			"jmctl: job job-1 failed; see its exceptions with `jmctl info job-1`\n"},
		{"cancelled", []string{"running", "cancelling", "cancelled"}, exitFailed,
			[]string{"state: cancelling\n", "job job-1 cancelled after 4.5s\n"},
			"jmctl: job job-1 cancelled; see its exceptions with `jmctl info job-1`\n"},
		{"finished at once", []string{"finished"}, exitOK,
			[]string{"job job-1 submitted\njob job-1 finished in 4.5s\n"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jm := newFakeJM(t, tc.script...)
			jm.err = "Square (1/2): boom"
			e := newTestEnv(map[string]string{jobManagerEnv: jm.serve()})
			code := e.run("submit", "--interval", "1ms", bin)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, e.err.String())
			}
			for _, want := range tc.stdout {
				if !strings.Contains(e.out.String(), want) {
					t.Errorf("stdout %q does not contain %q", e.out.String(), want)
				}
			}
			if e.err.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", e.err.String(), tc.stderr)
			}
			if strings.Count(e.out.String(), "state: running") > 1 {
				t.Errorf("a state printed twice:\n%s", e.out.String())
			}
			if slices.Contains(jm.callList(), "CANCEL") {
				t.Errorf("following a job cancelled it")
			}
		})
	}
}

// tickingClock returns a now that advances a second per call.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	t := testNow
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func TestSubmitProgress(t *testing.T) {
	bin := planJob(t)
	script := []string{"running", "running", "running", "finished"}

	// Not a terminal: plain progress lines, here at every poll.
	jm := newFakeJM(t, script...)
	e := newTestEnv(map[string]string{jobManagerEnv: jm.serve()})
	e.now = tickingClock()
	e.progressEvery = time.Second
	if code := e.run("submit", "--interval", "1ms", bin); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	// Each poll adds 200 records in and 100 out over 2 subtasks, and the
	// clock advances a second between polls.
	want := "running: 2/2 subtasks running, 200 records/s in, 100 records/s out\n"
	if strings.Count(e.out.String(), want) != 2 || strings.Contains(e.out.String(), "\r") {
		t.Errorf("stdout %q: want two plain lines %q", e.out.String(), want)
	}

	// A terminal: one line refreshed in place, erased at the end.
	jm = newFakeJM(t, script...)
	e = newTestEnv(map[string]string{jobManagerEnv: jm.serve()})
	e.now = tickingClock()
	e.tty = true
	if code := e.run("submit", "--interval", "1ms", bin); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	out := e.out.String()
	if !strings.Contains(out, "\r"+strings.TrimSuffix(want, "\n")+clearLine) {
		t.Errorf("stdout %q does not refresh %q in place", out, want)
	}
	if !strings.HasSuffix(out, "\r"+clearLine+"job job-1 finished in 4.5s\n") {
		t.Errorf("stdout %q does not erase the progress line before the end", out)
	}
}

func TestSubmitInterruptDetaches(t *testing.T) {
	bin := planJob(t)
	jm := newFakeJM(t, "running")
	e := newTestEnv(nil)
	jm.onPoll = func(n int) {
		if n == 2 {
			e.interrupt <- os.Interrupt // Ctrl-C while jmctl waits for an answer
		}
	}
	e.getenv = func(k string) string { return map[string]string{jobManagerEnv: jm.serve()}[k] }
	if code := e.run("submit", "--interval", "1ms", bin); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if !strings.HasSuffix(e.out.String(), "detached; job job-1 keeps running (jmctl info job-1)\n") {
		t.Errorf("stdout %q", e.out.String())
	}
	if slices.Contains(jm.callList(), "CANCEL") {
		t.Errorf("Ctrl-C cancelled the job")
	}
}

func TestSubmitJobVanishes(t *testing.T) {
	bin := planJob(t)
	jm := newFakeJM(t, "running")
	jm.vanish = true
	e := newTestEnv(map[string]string{jobManagerEnv: jm.serve()})
	if code := e.run("submit", "--interval", "1ms", bin); code != exitAPI {
		t.Errorf("exit %d, want %d", code, exitAPI)
	}
	checkError(t, e, "job job-1 vanished")
}

func TestSubmitRejected(t *testing.T) {
	bin := planJob(t)
	mux := http.NewServeMux()
	mux.HandleFunc("HEAD /v1/artifacts/{sha}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(api.Error{Error: "no TaskManager has 2 free slots"})
	})
	e := newTestEnv(map[string]string{jobManagerEnv: newAPI(t, mux)})
	if code := e.run("submit", bin); code != exitAPI {
		t.Errorf("exit %d, want %d", code, exitAPI)
	}
	checkError(t, e, "400 Bad Request", "no TaskManager has 2 free slots")

	e = newTestEnv(map[string]string{jobManagerEnv: deadAddr(t)})
	if code := e.run("submit", bin); code != exitUnreachable {
		t.Errorf("exit %d, want %d", code, exitUnreachable)
	}
	checkError(t, e, "unreachable")
}

// script writes an executable shell script.
func script(t *testing.T, body string) string {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	path := filepath.Join(t.TempDir(), "job.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSubmitBadBinaries(t *testing.T) {
	jm := newFakeJM(t, "running")
	addr := jm.serve()
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("\x00\x01 not a program"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		bin     string
		timeout time.Duration
		want    []string
	}{
		{"plan fails", script(t, `[ "$SLUICE_MODE" = plan ] || exit 9
echo "starting" >&2
echo "reading input" >&2
echo "loading config" >&2
echo "open /data/in.txt: no such file or directory" >&2
exit 3
`), time.Minute, []string{"plan mode of ", "failed (exit status 3): reading input | loading config | open /data/in.txt: no such file or directory"}},
		{"prints garbage", script(t, "echo 'hello, world'\n"), time.Minute,
			[]string{"printed no valid job graph in plan mode: jobgraph: parse plan: not a JSON plan object", "env.Execute", "package stream"}},
		{"prints an invalid graph", script(t, `echo '{"version": 1, "name": "x", "operators": [], "edges": []}'`+"\n"), time.Minute,
			[]string{"printed no valid job graph in plan mode: jobgraph: parse plan", "env.Execute"}},
		{"prints nothing", script(t, "exit 0\n"), time.Minute, []string{"printed no valid job graph in plan mode: its output was empty"}},
		{"hangs", script(t, "exec sleep 30\n"), 50 * time.Millisecond, []string{"did not finish within 50ms", "env.Execute"}},
		{"not a program", garbage, time.Minute, []string{"cannot run", "exec format error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(map[string]string{jobManagerEnv: addr})
			e.planTimeout = tc.timeout
			if code := e.run("submit", tc.bin); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			checkError(t, e, tc.want...)
		})
	}
	if calls := jm.callList(); len(calls) > 0 {
		t.Errorf("bad binaries reached the JobManager: %v", calls)
	}
}
