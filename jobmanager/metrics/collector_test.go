package metrics_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/internal/metricsrv"
	"github.com/sluicehq/sluice/internal/metricstest"
	"github.com/sluicehq/sluice/internal/poll"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/metrics"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/network"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeJM struct {
	mu   sync.Mutex
	jobs []jobmanager.JobStatus
	tms  []jobmanager.TaskManagerStatus
}

func (f *fakeJM) List() []jobmanager.JobStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]jobmanager.JobStatus(nil), f.jobs...)
}

func (f *fakeJM) TaskManagers() []jobmanager.TaskManagerStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]jobmanager.TaskManagerStatus(nil), f.tms...)
}

func scrape(t *testing.T, c *metrics.Collector) metricstest.Families {
	t.Helper()
	reg := metricsrv.NewRegistry()
	reg.MustRegister(c)
	srv := httptest.NewServer(metricsrv.Handler(reg, nil))
	defer srv.Close()
	fams, err := metricstest.Scrape(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func value(t *testing.T, fams metricstest.Families, name string, labels map[string]string) float64 {
	t.Helper()
	ms := fams.Find(name, labels)
	if len(ms) != 1 {
		t.Fatalf("%s%v: %d series, want 1", name, labels, len(ms))
	}
	return metricstest.Value(ms[0])
}

func completed(id int64, d time.Duration, sizes []int64, alignments []time.Duration) *checkpoint.Checkpoint {
	start := time.Unix(1_700_000_000, 0)
	cp := &checkpoint.Checkpoint{ID: id, Status: checkpoint.Completed, Triggered: start, Ended: start.Add(d), Acks: map[checkpoint.Subtask]checkpoint.Ack{}}
	for i, s := range sizes {
		a := checkpoint.Ack{Subtask: checkpoint.Subtask{Task: "t", Index: i}, Size: s, Alignment: alignments[i]}
		cp.Acks[a.Subtask] = a
		cp.AckList = append(cp.AckList, a)
	}
	return cp
}

func TestCollector(t *testing.T) {
	src := &fakeJM{
		jobs: []jobmanager.JobStatus{
			{ID: "j1", Name: "sums", State: jobmanager.StateRunning, Restarts: 2},
			{ID: "j2", Name: "words", State: jobmanager.StateRestarting, Restarts: 1},
			{ID: "j0", Name: "old", State: jobmanager.StateFinished, Restarts: 5},
		},
		tms: []jobmanager.TaskManagerStatus{
			{Info: jobmanager.TaskManagerInfo{ID: "tm-1", Slots: 4}, SlotJobs: map[int]string{0: "j1", 1: "j1"}},
			{Info: jobmanager.TaskManagerInfo{ID: "tm-2", Slots: 2}, SlotJobs: map[int]string{}},
		},
	}
	c := metrics.NewCollector(nil)
	c.SetSource(src)
	c.CheckpointEnded("j1", "sums", completed(1, 30*time.Millisecond, []int64{100, 200}, []time.Duration{0, 5 * time.Millisecond}))
	c.CheckpointEnded("j1", "sums", completed(2, 3*time.Second, []int64{1000, 2000}, []time.Duration{20 * time.Millisecond, 7 * time.Millisecond}))
	c.CheckpointEnded("j1", "sums", &checkpoint.Checkpoint{ID: 3, Status: checkpoint.Aborted})
	c.CheckpointEnded("j1", "sums", &checkpoint.Checkpoint{ID: 4, Status: checkpoint.Aborted, Savepoint: true}) // not counted
	c.CheckpointEnded("j0", "old", completed(9, time.Second, []int64{1}, []time.Duration{0}))

	fams := scrape(t, c)
	j1 := map[string]string{"job_id": "j1", "job_name": "sums"}
	for _, x := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_jobmanager_jobs", map[string]string{"state": "running"}, 1},
		{"sluice_jobmanager_jobs", map[string]string{"state": "restarting"}, 1},
		{"sluice_jobmanager_jobs", map[string]string{"state": "finished"}, 1},
		{"sluice_jobmanager_jobs", map[string]string{"state": "failed"}, 0},
		{"sluice_jobmanager_taskmanagers", nil, 2},
		{"sluice_jobmanager_slots", nil, 6},
		{"sluice_jobmanager_slots_used", nil, 2},
		{"sluice_jobmanager_slots_free", nil, 4},
		{"sluice_job_restarts_total", j1, 2},
		{"sluice_job_restarts_total", map[string]string{"job_id": "j2"}, 1},
		{"sluice_job_checkpoints_completed_total", j1, 2},
		{"sluice_job_checkpoints_failed_total", j1, 1},
		{"sluice_job_checkpoint_duration_seconds", j1, 2}, // sample count
		{"sluice_job_checkpoint_size_bytes", j1, 3000},
		{"sluice_job_checkpoint_alignment_seconds", j1, 0.02},
		{"sluice_job_checkpoint_last_completed_timestamp_seconds", j1, 1_700_000_003},
	} {
		if got := value(t, fams, x.name, x.labels); got != x.want {
			t.Errorf("%s%v = %v, want %v", x.name, x.labels, got, x.want)
		}
	}
	h := fams.Find("sluice_job_checkpoint_duration_seconds", j1)[0].GetHistogram()
	if h.GetSampleSum() != 3.03 {
		t.Errorf("duration sum %v, want 3.03", h.GetSampleSum())
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		switch {
		case b.GetUpperBound() >= 5:
			want = 2
		case b.GetUpperBound() >= 0.05:
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	// A job that ended has no series of its own.
	if ms := fams.Find("sluice_job_checkpoints_completed_total", map[string]string{"job_id": "j0"}); len(ms) != 0 {
		t.Errorf("the finished job has checkpoint series")
	}
	if ms := fams.Find("sluice_job_restarts_total", map[string]string{"job_id": "j0"}); len(ms) != 0 {
		t.Errorf("the finished job has a restarts series")
	}

	// Once j1 ends, its series go, and stay gone.
	src.mu.Lock()
	src.jobs[0].State = jobmanager.StateCancelled
	src.mu.Unlock()
	if n := testutil.CollectAndCount(c, "sluice_job_checkpoints_completed_total", "sluice_job_restarts_total"); n != 1 {
		t.Errorf("%d per-job series after j1 ended, want 1 (j2's restarts)", n)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

func TestCollectorWithoutSource(t *testing.T) {
	if n := testutil.CollectAndCount(metrics.NewCollector(nil)); n != 0 {
		t.Fatalf("%d series without a JobManager", n)
	}
}

type discard[T any] struct{}

func (discard[T]) Write(T) error { return nil }
func (discard[T]) Flush() error  { return nil }
func (discard[T]) Close() error  { return nil }

// waitFor waits for cond (see poll.Until).
var waitFor = poll.Until

// TestRealJobManager runs a checkpointed job on an in-process JobManager
// whose CheckpointEnded is the collector's.
func TestRealJobManager(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2).EnableCheckpointing(50 * time.Millisecond)
	src := stream.FromGeneratorAtRate(env, -1, 20000, func(i int64) int64 { return i })
	sums := stream.Reduce(stream.KeyBy(src, func(v int64) int64 { return v % 10 }), func(a, b int64) int64 { return a + b }).Name("Sum").UID("sum")
	stream.AddSink(sums, "Discard", func(int, int) (stream.SinkWriter[int64], error) { return discard[int64]{}, nil })
	g, err := env.Plan("checkpointed")
	if err != nil {
		t.Fatal(err)
	}
	c := metrics.NewCollector(nil)
	snapshots := memstore.New()
	jm := jobmanager.New(jobmanager.Config{Snapshots: snapshots, CheckpointEnded: c.CheckpointEnded})
	defer jm.Close()
	c.SetSource(jm)
	tm, err := taskmanager.New(taskmanager.Config{ID: "tm-1", Slots: 3, Exchange: network.NewExchange(), Snapshots: snapshots}, jm)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if err := jm.RegisterTaskManager(tm); err != nil {
		t.Fatal(err)
	}
	id, err := jm.Submit(context.Background(), jobmanager.Submission{Graph: g, Program: env, Checkpoints: *g.Checkpoints})
	if err != nil {
		t.Fatal(err)
	}
	job := map[string]string{"job_id": id, "job_name": "checkpointed"}
	waitFor(t, 30*time.Second, "two completed checkpoints", func() bool {
		n, ok := scrape(t, c).Sum("sluice_job_checkpoints_completed_total", job)
		return ok && n >= 2
	})
	fams := scrape(t, c)
	if n := value(t, fams, "sluice_job_checkpoint_duration_seconds", job); n < 2 {
		t.Errorf("%v durations observed", n)
	}
	if size := value(t, fams, "sluice_job_checkpoint_size_bytes", job); size <= 0 {
		t.Errorf("checkpoint size %v", size)
	}
	if n := value(t, fams, "sluice_jobmanager_jobs", map[string]string{"state": "running"}); n != 1 {
		t.Errorf("%v running jobs", n)
	}
	if used, free := value(t, fams, "sluice_jobmanager_slots_used", nil), value(t, fams, "sluice_jobmanager_slots_free", nil); used != 2 || free != 1 {
		t.Errorf("slots used %v, free %v; want 2 and 1", used, free)
	}
	if err := jm.Cancel(id); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := jm.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, c)
	if n := value(t, fams, "sluice_jobmanager_jobs", map[string]string{"state": "cancelled"}); n != 1 {
		t.Errorf("%v cancelled jobs", n)
	}
	if ms := fams.Find("sluice_job_checkpoints_completed_total", nil); len(ms) != 0 {
		t.Errorf("checkpoint series of the cancelled job remain")
	}
}
