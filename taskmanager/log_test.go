package taskmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/network"
)

// lockedBuffer collects the log lines of every goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failOnce fails the first record it sees once armed; it logs from Open
// with the logger the subtask gives it.
type failOnce struct {
	armed *atomic.Bool
	count stream.ValueState[int64]
}

func (f *failOnce) Open(ctx *stream.OpenContext[int64]) (err error) {
	ctx.Logger().Info("opened")
	f.count, err = stream.NewValueState[int64](ctx, "count")
	return err
}

func (f *failOnce) ProcessElement(ctx *stream.Context[int64], v int64, out stream.Collector[int64]) error {
	if f.armed.CompareAndSwap(true, false) {
		return errors.New("injected failure")
	}
	n, _ := f.count.Get()
	f.count.Set(n + 1)
	out.Collect(n + 1)
	return nil
}

type discard struct{}

func (discard) Write(int64) error { return nil }
func (discard) Flush() error      { return nil }
func (discard) Close() error      { return nil }

// TestTaskLogLinesNameTheirSubtask runs a checkpointed job on two
// TaskManagers that exchange records over their data planes, fails it
// once so that it restarts from a checkpoint, and checks that every line
// logged on behalf of a subtask (by the TaskManager, the task loop, the
// operators, the user's function and the data-plane channels) carries the
// job, task, subtask and attempt.
func TestTaskLogLinesNameTheirSubtask(t *testing.T) {
	var out lockedBuffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{AddSource: true, Level: slog.LevelDebug}))
	defer func() {
		if t.Failed() {
			t.Logf("the log:\n%s", out.String())
		}
	}()

	armed := new(atomic.Bool)
	env := stream.NewEnvironment().SetParallelism(2).EnableCheckpointing(20 * time.Millisecond)
	src := stream.FromGeneratorAtRate(env, -1, 2000, func(i int64) int64 { return i }).Name("Numbers")
	counts := stream.Process(stream.KeyBy(src, func(v int64) int64 { return v % 16 }), func() stream.KeyedProcessFunction[int64, int64, int64] {
		return &failOnce{armed: armed}
	}).Name("Count")
	stream.AddSink(counts, "Discard", func(int, int) (stream.SinkWriter[int64], error) { return discard{}, nil })
	g, err := env.Plan("logs")
	if err != nil {
		t.Fatal(err)
	}

	// The first completed checkpoint of attempt 0 arms the failure; the
	// first of attempt 1 (after the restore) ends the test.
	restored := make(chan struct{})
	var step atomic.Int32
	snapshots := memstore.New()
	jm := jobmanager.New(jobmanager.Config{Logger: log, Snapshots: snapshots,
		CheckpointEnded: func(_, _ string, cp *checkpoint.Checkpoint) {
			if cp.Status != checkpoint.Completed {
				return
			}
			switch {
			case cp.Attempt == 0 && step.CompareAndSwap(0, 1):
				armed.Store(true)
			case cp.Attempt == 1 && step.CompareAndSwap(1, 2):
				close(restored)
			}
		}})
	closeJM := sync.OnceFunc(func() { jm.Close() })
	defer closeJM()

	ctx, stop := context.WithCancel(context.Background())
	var planes sync.WaitGroup
	defer planes.Wait()
	defer stop()
	var tms []*taskmanager.TaskManager
	for i := range 2 {
		id := fmt.Sprintf("tm-%d", i+1)
		x := network.NewExchange()
		dp, err := network.NewDataPlane(network.DataPlaneConfig{ID: id, Exchange: x, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		planes.Add(1)
		go func() {
			defer planes.Done()
			if err := dp.Run(ctx); err != nil {
				t.Errorf("data plane %s: %v", id, err)
			}
			dp.Close()
		}()
		tm, err := taskmanager.New(taskmanager.Config{ID: id, Slots: 1, Exchange: x, Logger: log, DataPlane: dp, Snapshots: snapshots}, jm)
		if err != nil {
			t.Fatal(err)
		}
		defer tm.Close()
		tms = append(tms, tm)
		if err := jm.RegisterTaskManager(tm); err != nil {
			t.Fatal(err)
		}
	}

	strategy, err := restart.New(restart.Config{Kind: restart.FixedDelay, Attempts: 1, Delay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	id, err := jm.Submit(context.Background(), jobmanager.Submission{Graph: g, Program: env, Checkpoints: *g.Checkpoints, Restart: strategy})
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	select {
	case <-restored:
	case <-wait.Done():
		st, _ := jm.Status(id)
		t.Fatalf("no checkpoint completed after the restart: job %s, attempt %d, error %v", st.State, st.Attempt, st.Err())
	}
	if err := jm.Cancel(id); err != nil {
		t.Fatal(err)
	}
	if st, err := jm.Wait(wait, id); err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("job %s: %v", st.State, err)
	}
	// Stop everything that logs before reading the log.
	closeJM()
	for _, tm := range tms {
		tm.Close() // waits for the snapshots being written
	}
	stop()
	planes.Wait()

	// Every line from these files is about one subtask.
	subtaskFiles := []string{"/taskmanager/taskmanager.go", "/taskmanager/task/", "/stream/", "/taskmanager/network/remote.go", "/taskmanager/network/inbound.go", "/taskmanager/log_test.go"}
	seen := map[string]int{}
	subtasks := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec struct {
			Msg      string
			Job      string
			Task     string
			TaskName string `json:"task_name"`
			Subtask  *int
			Attempt  *int
			Operator string
			Source   struct{ File string }
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %v: %s", err, line)
		}
		about := false
		for _, f := range subtaskFiles {
			about = about || strings.Contains(rec.Source.File, f) && !strings.HasSuffix(rec.Source.File, "_test.go") ||
				strings.HasSuffix(rec.Source.File, "/taskmanager/log_test.go")
		}
		if !about {
			continue
		}
		if rec.Job != id || rec.Task == "" || rec.Subtask == nil || rec.Attempt == nil {
			t.Errorf("a line about a subtask lacks job, task, subtask or attempt: %s", line)
			continue
		}
		if *rec.Attempt < 0 || *rec.Attempt > 1 || *rec.Subtask < 0 || *rec.Subtask > 1 {
			t.Errorf("attempt %d, subtask %d: %s", *rec.Attempt, *rec.Subtask, line)
		}
		if rec.Msg == "opened" && rec.Operator != "Count" {
			t.Errorf("the function's line lacks operator=Count: %s", line)
		}
		seen[rec.Msg]++
		subtasks[fmt.Sprintf("%s/%d/%d", rec.Task, *rec.Subtask, *rec.Attempt)] = true
	}
	// Lines of each kind: the TaskManager's, the task loop's, the
	// function's and the channels'.
	for msg, least := range map[string]int{
		"task running": 8, "task ended": 8, "task failed": 1, "opened": 4, "state restored": 4,
		"snapshot taken": 4, "snapshot written": 4, "remote channel finished": 1,
	} {
		if seen[msg] < least {
			t.Errorf("%d lines %q, want at least %d (lines about subtasks: %v)", seen[msg], msg, least, seen)
		}
	}
	if len(subtasks) != 8 {
		t.Errorf("lines about %d subtask attempts, want 8 (2 tasks × 2 subtasks × 2 attempts): %v", len(subtasks), subtasks)
	}
}
