package metrics_test

import (
	"bytes"
	"math"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluicehq/sluice/internal/metricsrv"
	"github.com/sluicehq/sluice/internal/metricstest"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/metrics"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// fakeTM is a TaskManager as the collector sees it.
type fakeTM struct {
	mu       sync.Mutex
	subtasks []taskmanager.SubtaskMetrics
}

func (f *fakeTM) Info() jobmanager.TaskManagerInfo {
	return jobmanager.TaskManagerInfo{ID: "tm-1", Slots: 4, ManagedMemory: 1 << 30}
}

func (f *fakeTM) Subtasks() []taskmanager.SubtaskMetrics {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.subtasks)
}

func (f *fakeTM) NetworkBuffers() (used, total int) { return 3, 16 }
func (f *fakeTM) SlotsUsed() int                    { return 2 }

func (f *fakeTM) DataPlaneStats() (sent, received int64, sessions int, ok bool) {
	return 1000, 2000, 1, true
}

func (f *fakeTM) set(s ...taskmanager.SubtaskMetrics) {
	f.mu.Lock()
	f.subtasks = s
	f.mu.Unlock()
}

// scrape serves the collector as the TaskManager does and parses a scrape.
func scrape(t *testing.T, c prometheus.Collector) metricstest.Families {
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

func TestCollectorReadsSubtaskStats(t *testing.T) {
	src := &fakeTM{}
	source, sum := new(task.Stats), new(task.Stats)
	source.RecordsIn.Store(1000)
	source.RecordsOut.Store(990)
	source.BytesOut.Store(64 << 10)
	source.BackpressureNanos.Add(int64(1500 * time.Millisecond))
	sum.RecordsIn.Store(990)
	sum.BytesIn.Store(64 << 10)
	wm := time.Now().Add(-3 * time.Second).UnixMilli()
	sum.SetWatermark(wm)
	src.set(
		taskmanager.SubtaskMetrics{JobID: "j1", JobName: "sums", Task: "t-src", TaskName: "Source -> Map", Subtask: 0, Stats: source},
		taskmanager.SubtaskMetrics{JobID: "j1", JobName: "sums", Task: "t-sum", TaskName: "Sum", Subtask: 1, Stats: sum,
			States: []taskmanager.OperatorState{{UID: "u-sum", Name: "Sum", Bytes: 4096}}},
	)
	fams := scrape(t, metrics.NewCollector(src))

	srcL := map[string]string{"job_id": "j1", "job_name": "sums", "task": "t-src", "task_name": "Source -> Map", "subtask": "0", "taskmanager": "tm-1"}
	sumL := map[string]string{"job_id": "j1", "task": "t-sum", "subtask": "1"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_task_records_in_total", srcL, 1000},
		{"sluice_task_records_out_total", srcL, 990},
		{"sluice_task_bytes_out_total", srcL, 64 << 10},
		{"sluice_task_bytes_in_total", srcL, 0},
		{"sluice_task_backpressure_seconds_total", srcL, 1.5},
		{"sluice_task_records_in_total", sumL, 990},
		{"sluice_task_bytes_in_total", sumL, 64 << 10},
		{"sluice_task_state_bytes", map[string]string{"task": "t-sum", "operator": "u-sum", "operator_name": "Sum"}, 4096},
		{"sluice_taskmanager_slots", map[string]string{"taskmanager": "tm-1"}, 4},
		{"sluice_taskmanager_slots_used", nil, 2},
		{"sluice_taskmanager_network_buffers", nil, 16},
		{"sluice_taskmanager_network_buffers_used", nil, 3},
		{"sluice_taskmanager_managed_memory_bytes", nil, 1 << 30},
		{"sluice_taskmanager_data_plane_sent_bytes_total", nil, 1000},
		{"sluice_taskmanager_data_plane_received_bytes_total", nil, 2000},
		{"sluice_taskmanager_data_plane_sessions", nil, 1},
	} {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Watermark lag only where there is a watermark: about 3 s here.
	if lag := value(t, fams, "sluice_task_watermark_lag_seconds", sumL); lag < 3 || lag > 60 {
		t.Errorf("watermark lag %v s, want about 3", lag)
	}
	if ms := fams.Find("sluice_task_watermark_lag_seconds", srcL); len(ms) != 0 {
		t.Errorf("a subtask without a watermark has a lag series")
	}
	if got := fams["sluice_task_records_in_total"].GetType().String(); got != "COUNTER" {
		t.Errorf("records are a %s", got)
	}

	// The end of event time has no lag; a finished subtask has no series.
	sum.SetWatermark(math.MaxInt64)
	src.set(taskmanager.SubtaskMetrics{JobID: "j1", JobName: "sums", Task: "t-sum", TaskName: "Sum", Subtask: 1, Stats: sum})
	fams = scrape(t, metrics.NewCollector(src))
	if ms := fams.Find("sluice_task_records_in_total", map[string]string{"task": "t-src"}); len(ms) != 0 {
		t.Errorf("the finished subtask still has %d series", len(ms))
	}
	if ms := fams.Find("sluice_task_watermark_lag_seconds", nil); len(ms) != 0 {
		t.Errorf("a watermark at the end of time has a lag series")
	}
	if ms := fams.Find("sluice_task_state_bytes", nil); len(ms) != 0 {
		t.Errorf("state series of operators no longer running: %d", len(ms))
	}
}

func TestCollectorDropsEndedSubtasks(t *testing.T) {
	src := &fakeTM{}
	c := metrics.NewCollector(src)
	a, b := new(task.Stats), new(task.Stats)
	src.set(
		taskmanager.SubtaskMetrics{JobID: "j", Task: "t", Subtask: 0, Stats: a},
		taskmanager.SubtaskMetrics{JobID: "j", Task: "t", Subtask: 1, Stats: b},
	)
	if n := testutil.CollectAndCount(c, "sluice_task_records_in_total"); n != 2 {
		t.Fatalf("%d records series for 2 subtasks", n)
	}
	src.set(taskmanager.SubtaskMetrics{JobID: "j", Task: "t", Subtask: 1, Stats: b})
	if n := testutil.CollectAndCount(c, "sluice_task_records_in_total"); n != 1 {
		t.Fatalf("%d records series after subtask 0 ended", n)
	}
	src.set()
	if n := testutil.CollectAndCount(c, "sluice_task_records_in_total", "sluice_task_backpressure_seconds_total"); n != 0 {
		t.Fatalf("%d series with no subtask running", n)
	}
}

func TestCollectorReportsTheNewerOfOverlappingAttempts(t *testing.T) {
	src := &fakeTM{}
	old, cur := new(task.Stats), new(task.Stats)
	old.RecordsIn.Store(500)
	cur.RecordsIn.Store(7)
	src.set(
		taskmanager.SubtaskMetrics{JobID: "j", Task: "t", Subtask: 0, Attempt: 2, Stats: cur},
		taskmanager.SubtaskMetrics{JobID: "j", Task: "t", Subtask: 0, Attempt: 1, Stats: old},
	)
	want := `# HELP sluice_task_records_in_total Records a subtask received from other tasks, or read from its source.
# TYPE sluice_task_records_in_total counter
sluice_task_records_in_total{job_id="j",job_name="",subtask="0",task="t",task_name="",taskmanager="tm-1"} 7
`
	if err := testutil.CollectAndCompare(metrics.NewCollector(src), bytes.NewBufferString(want), "sluice_task_records_in_total"); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorIsConsistent(t *testing.T) {
	src := &fakeTM{}
	st := new(task.Stats)
	st.SetWatermark(time.Now().UnixMilli())
	src.set(taskmanager.SubtaskMetrics{JobID: "j", Task: "t", Stats: st, States: []taskmanager.OperatorState{{UID: "u", Name: "n", Bytes: 1}}})
	if problems, err := testutil.CollectAndLint(metrics.NewCollector(src)); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}
