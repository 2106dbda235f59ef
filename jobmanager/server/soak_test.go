package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/metricstest"
	"github.com/sluicehq/sluice/jobmanager/api"
)

// soakResult is what a soak run measured.
type soakResult struct {
	duration                 time.Duration
	submitted, cancelled     int64
	requests                 int64
	goroutines0, goroutines1 float64
	rss0, rss1               float64
	checkpoints              int
}

// plan returns the job graph testjob builds with args, as jmctl gets it.
func plan(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bins.testjob, args...)
	cmd.Env = append(os.Environ(), "SLUICE_MODE=plan")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("plan mode: %v", err)
	}
	return out
}

// soak runs a JobManager (local provider, tokens on) under load for d: a
// job with checkpoints every 200 ms runs throughout, while four clients
// list jobs and the overview, submit short jobs (each gets TaskManager
// processes of its own) and cancel every third one while it runs. It
// measures the JobManager's goroutines and resident memory after a warm-up
// and again once the load has drained, through its /metrics.
func soak(t testing.TB, d time.Duration) soakResult {
	c := startJobManager(t, "--slots", "1", "--taskmanager-memory", strconv.Itoa(32<<20), "--token", mgmtToken, "--max-ended-jobs", "100",
		"--heartbeat-interval", "200ms", "--restart-strategy", "none")
	ctx := context.Background()
	artifact, err := c.client.UploadArtifact(ctx, bins.testjob)
	if err != nil {
		t.Fatal(err)
	}
	longArgs := []string{"--records", "-1", "--rate", "2000", "--parallelism", "1", "--output", t.TempDir(), "--checkpoint-interval", "200ms", "--append"}
	long, err := c.client.Submit(ctx, api.SubmitRequest{Graph: plan(t, longArgs...), Artifact: artifact, Args: longArgs})
	if err != nil {
		t.Fatal(err)
	}
	c.waitJob(t, long, time.Minute, "running")
	// Each job writes to a directory of its own (the output directory is
	// no part of the graph, so one plan serves every submission).
	outputs := t.TempDir()
	var seq atomic.Int64
	withOutput := func(args []string) []string {
		return append(append([]string(nil), args...), "--output", filepath.Join(outputs, strconv.FormatInt(seq.Add(1), 10)))
	}
	shortArgs := []string{"--records", "3000", "--parallelism", "1"}
	endlessArgs := []string{"--records", "-1", "--rate", "1000", "--parallelism", "1"}
	shortGraph, endlessGraph := plan(t, withOutput(shortArgs)...), plan(t, withOutput(endlessArgs)...)

	scrape := func() (goroutines, rss float64) {
		f, err := metricstest.Scrape(ctx, "http://"+c.rest+"/metrics", metricstest.WithToken(mgmtToken))
		if err != nil {
			t.Fatalf("scraping the JobManager: %v", err)
		}
		g, _ := f.Sum("go_goroutines", nil)
		m, _ := f.Sum("process_resident_memory_bytes", nil)
		return g, m
	}
	var res soakResult
	var errs sync.Map
	fail := func(what string, err error) { errs.LoadOrStore(what, err) }
	run := func(until time.Time) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := 0; time.Now().Before(until); i++ {
					if _, err := c.client.Jobs(ctx); err != nil {
						fail("list", err)
					}
					if _, err := c.client.Overview(ctx); err != nil {
						fail("overview", err)
					}
					atomic.AddInt64(&res.requests, 2)
					graph, args := shortGraph, shortArgs
					endless := (w+i)%3 == 0
					if endless {
						graph, args = endlessGraph, endlessArgs
					}
					id, err := c.client.Submit(ctx, api.SubmitRequest{Graph: graph, Artifact: artifact, Args: withOutput(args)})
					atomic.AddInt64(&res.requests, 1)
					if err != nil {
						fail("submit", err)
						continue
					}
					atomic.AddInt64(&res.submitted, 1)
					if !endless {
						continue
					}
					for {
						d, err := c.client.Job(ctx, id)
						atomic.AddInt64(&res.requests, 1)
						if err != nil {
							fail("job", err)
							break
						}
						if d.State == "running" {
							break
						}
						if d.State == "failed" {
							fail("endless job", errors.New(d.Error))
							break
						}
						time.Sleep(20 * time.Millisecond)
					}
					if _, err := c.client.Cancel(ctx, id); err != nil {
						fail("cancel", err)
					}
					atomic.AddInt64(&res.requests, 1)
					atomic.AddInt64(&res.cancelled, 1)
				}
			})
		}
		wg.Wait()
	}
	drain := func() {
		var last, lastJob string
		defer func() {
			if t.Failed() {
				t.Logf("last seen while draining: %s", last)
				dumpTaskManagers(t, c, lastJob)
			}
		}()
		waitFor(t, 2*time.Minute, "every short job to end and its TaskManagers to go", func() bool {
			jobs, err := c.client.Jobs(ctx)
			if err != nil {
				return false
			}
			for _, j := range jobs {
				if j.ID != long && j.State != "finished" && j.State != "cancelled" {
					if j.State == "failed" {
						t.Fatalf("job %s failed: %s", j.ID, j.Error)
					}
					last, lastJob = fmt.Sprintf("job %s is %s", j.ID, j.State), j.ID
					return false
				}
			}
			tms, err := c.client.TaskManagers(ctx)
			if err == nil && len(tms) != 1 {
				last = fmt.Sprintf("%d TaskManagers: %+v", len(tms), tms)
			}
			return err == nil && len(tms) == 1 // the long job's
		})
	}
	// Warm up for a fifth of the time, then measure from a drained state
	// to a drained state, so that only what the load leaves behind counts.
	run(time.Now().Add(d / 5))
	drain()
	res.goroutines0, res.rss0 = scrape()
	start := time.Now()
	run(start.Add(d))
	drain()
	res.duration = time.Since(start)
	res.goroutines1, res.rss1 = scrape()
	errs.Range(func(k, v any) bool {
		t.Errorf("%s: %v", k, v)
		return true
	})
	dl, err := c.client.Job(ctx, long)
	if err != nil || dl.State != "running" || dl.Restarts != 0 {
		t.Fatalf("the long job: %+v (%v), want running without restarts", dl, err)
	}
	cps, err := c.client.Checkpoints(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range cps {
		if cp.Status == "completed" || cp.Status == "discarded" {
			res.checkpoints = int(cp.ID)
		}
	}
	return res
}

func (r soakResult) String() string {
	return fmt.Sprintf("%v: %d jobs submitted (%d cancelled while running), %d REST requests (%.0f/s); JobManager goroutines %.0f -> %.0f, RSS %.1f -> %.1f MiB; the long job completed %d checkpoints",
		r.duration.Round(time.Second), r.submitted, r.cancelled, r.requests, float64(r.requests)/r.duration.Seconds(),
		r.goroutines0, r.goroutines1, r.rss0/(1<<20), r.rss1/(1<<20), r.checkpoints)
}

// TestSoak is a bounded load test (15 s; SLUICE_SOAK sets another
// duration): under concurrent REST clients and job churn next to a
// checkpointing job, no request fails and the JobManager's goroutines and
// memory come back to where they were.
func TestSoak(t *testing.T) {
	d := 15 * time.Second
	if s := os.Getenv("SLUICE_SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("SLUICE_SOAK=%q: %v", s, err)
		}
	}
	r := soak(t, d)
	t.Log(r)
	if r.submitted < 10 {
		t.Fatalf("only %d jobs submitted in %v", r.submitted, d)
	}
	if r.goroutines1 > r.goroutines0+10 {
		t.Errorf("the JobManager's goroutines grew from %.0f to %.0f", r.goroutines0, r.goroutines1)
	}
	if r.rss1 > r.rss0*1.25+16<<20 {
		t.Errorf("the JobManager's memory grew from %.1f to %.1f MiB", r.rss0/(1<<20), r.rss1/(1<<20))
	}
}

// BenchmarkSoak runs the soak for a minute (SLUICE_SOAK overrides) and
// reports its figures.
func BenchmarkSoak(b *testing.B) {
	d := time.Minute
	if s := os.Getenv("SLUICE_SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			b.Fatalf("SLUICE_SOAK=%q: %v", s, err)
		}
	}
	r := soak(b, d)
	b.Log(r)
	b.ReportMetric(float64(r.submitted), "jobs")
	b.ReportMetric(float64(r.requests)/r.duration.Seconds(), "requests/s")
	b.ReportMetric(r.goroutines1-r.goroutines0, "goroutine-growth")
	b.ReportMetric((r.rss1-r.rss0)/(1<<20), "rss-growth-MiB")
	b.ReportMetric(0, "ns/op")
}

// dumpTaskManagers logs the goroutines and log of the TaskManagers the
// local provider started for job, for a test that found it stuck: SIGQUIT
// makes a Go process print its goroutines to stderr, which the provider
// appends to the TaskManager's log file.
func dumpTaskManagers(t testing.TB, c *cluster, job string) {
	if job == "" {
		return
	}
	re := regexp.MustCompile(`taskmanager started.*job=` + job + ` pid=(\d+) log=(\S+)`)
	for _, m := range re.FindAllStringSubmatch(c.jm.out.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		_ = syscall.Kill(pid, syscall.SIGQUIT)
		deadline := time.Now().Add(5 * time.Second)
		var b []byte
		for time.Now().Before(deadline) {
			if b, _ = os.ReadFile(m[2]); bytes.Contains(b, []byte("goroutine ")) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("TaskManager %d of the stuck job (%s):\n%s", pid, m[2], b)
	}
}
