package metrics_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/metricsrv"
	"github.com/sluicehq/sluice/internal/metricstest"
	"github.com/sluicehq/sluice/internal/poll"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/metrics"
	"github.com/sluicehq/sluice/taskmanager/network"
)

type event struct {
	Key, Value, At int64 // At: wall clock in ms when generated
}

// slowSink takes 200 µs a record: 5000 records/s, slower than the source.
type slowSink[T any] struct{}

func (slowSink[T]) Write(T) error { time.Sleep(200 * time.Microsecond); return nil }
func (slowSink[T]) Flush() error  { return nil }
func (slowSink[T]) Close() error  { return nil }

// waitFor waits for cond (see poll.Until).
var waitFor = poll.Until

// TestRealTaskManager runs an unbounded event-time job with keyed state and
// a slow sink on an in-process TaskManager and reads it through the
// collector.
func TestRealTaskManager(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1).SetAutoWatermarkInterval(20 * time.Millisecond)
	src := stream.FromGeneratorAtRate(env, -1, 20000, func(i int64) event {
		return event{Key: i % 50, Value: 1, At: time.Now().UnixMilli()}
	})
	timed := stream.AssignTimestampsAndWatermarks(src, stream.ForBoundedOutOfOrderness(100*time.Millisecond, func(e event) int64 { return e.At }))
	sums := stream.Reduce(stream.KeyBy(timed, func(e event) int64 { return e.Key }), func(a, b event) event {
		return event{Key: a.Key, Value: a.Value + b.Value, At: max(a.At, b.At)}
	}).Name("Sum").UID("sum")
	stream.AddSink(sums, "Slow", func(int, int) (stream.SinkWriter[event], error) { return slowSink[event]{}, nil })
	g, err := env.Plan("metrics")
	if err != nil {
		t.Fatal(err)
	}

	jm := jobmanager.New(jobmanager.Config{})
	defer jm.Close()
	tm, err := taskmanager.New(taskmanager.Config{ID: "tm-1", Slots: 2, Exchange: network.NewExchange()}, jm)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if err := jm.RegisterTaskManager(tm); err != nil {
		t.Fatal(err)
	}
	reg := metricsrv.NewRegistry()
	reg.MustRegister(metrics.NewCollector(tm))
	srv := httptest.NewServer(metricsrv.Handler(reg, nil))
	defer srv.Close()
	scrape := func() metricstest.Families {
		t.Helper()
		fams, err := metricstest.Scrape(t.Context(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}

	id, err := jm.Submit(context.Background(), jobmanager.Submission{Graph: g, Program: env})
	if err != nil {
		t.Fatal(err)
	}
	job := map[string]string{"job_id": id, "job_name": "metrics"}
	sumTask := map[string]string{"job_id": id, "task_name": "Sum -> Slow"}
	var first float64
	waitFor(t, 20*time.Second, "records, keyed state and watermarks to show", func() bool {
		fams := scrape()
		in, ok := fams.Sum("sluice_task_records_in_total", sumTask)
		state, _ := fams.Sum("sluice_task_state_bytes", map[string]string{"job_id": id, "operator": "sum", "operator_name": "Sum"})
		lags := fams.Find("sluice_task_watermark_lag_seconds", job)
		first = in
		return ok && in > 0 && state > 0 && len(lags) == 2
	})
	fams := scrape()
	for _, m := range fams.Find("sluice_task_watermark_lag_seconds", job) {
		// The bound (0.1 s) plus the interval plus scheduling: far less
		// than 30 s on any machine.
		if lag := metricstest.Value(m); lag < 0 || lag > 30 {
			t.Errorf("watermark lag of %s is %v s", metricstest.Label(m, "task_name"), lag)
		}
	}
	if n, _ := fams.Sum("sluice_taskmanager_network_buffers", nil); n <= 0 {
		t.Errorf("no network buffers while a task has an input")
	}
	if n, _ := fams.Sum("sluice_taskmanager_slots_used", nil); n != 1 {
		t.Errorf("%v slots used, want 1 (the two tasks share a slot)", n)
	}
	waitFor(t, 20*time.Second, "the records counter to grow", func() bool {
		in, _ := scrape().Sum("sluice_task_records_in_total", sumTask)
		return in > first
	})
	// The slow sink holds the credits of the sum's input: the source
	// waits for them.
	waitFor(t, 20*time.Second, "the source to be backpressured", func() bool {
		fams := scrape()
		total, _ := fams.Sum("sluice_task_backpressure_seconds_total", job)
		sum, _ := fams.Sum("sluice_task_backpressure_seconds_total", sumTask)
		return total-sum > 0.05
	})

	if err := jm.Cancel(id); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if st, err := jm.Wait(ctx, id); err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("job %s: %v", st.State, err)
	}
	for _, name := range []string{"sluice_task_records_in_total", "sluice_task_state_bytes", "sluice_task_watermark_lag_seconds"} {
		if ms := scrape().Find(name, nil); len(ms) != 0 {
			t.Errorf("%d %s series after the job ended", len(ms), name)
		}
	}
}
