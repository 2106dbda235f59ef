package stream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/network"
)

func TestWatermarkGenerator(t *testing.T) {
	// A step is "batch TS" (a batch whose highest timestamp is TS) or "tick
	// NOW" (the periodic check at NOW nanoseconds); want is what the
	// generator asks for: "" (nothing), "wm V", "idle" or "active".
	type step struct{ in, want string }
	cases := []struct {
		name        string
		bound, idle int64 // ms, ns
		steps       []step
	}{
		{"monotonous", 0, 0, []step{
			{"tick 0", ""}, // no record yet: nothing to say
			{"batch 100", ""},
			{"tick 1", "wm 99"},
			{"tick 2", ""}, // not advanced
			{"batch 50", ""},
			{"tick 3", ""}, // an older record does not move it back
			{"batch 150", ""},
			{"batch 120", ""},
			{"tick 4", "wm 149"},
		}},
		{"bounded out of orderness", 1000, 0, []step{
			{"batch 5000", ""},
			{"tick 1", "wm 3999"},
			{"batch 4500", ""},
			{"tick 2", ""},
			{"batch 6000", ""},
			{"tick 3", "wm 4999"},
			{"tick 1000000000000", ""}, // without idleness, quiet is not idle
		}},
		{"no overflow at the ends of time", math.MaxInt64 / 2, 0, []step{
			{"batch -9223372036854775800", ""},
			{"tick 1", ""}, // would be below MinInt64: stays there
			{"batch 9223372036854775807", ""},
			{"tick 2", fmt.Sprint("wm ", int64(math.MaxInt64)-math.MaxInt64/2-1)},
		}},
		{"idleness", 0, 100, []step{
			{"tick 0", ""}, // the quiet period starts at the first check
			{"tick 50", ""},
			{"tick 100", "idle"},
			{"tick 150", ""}, // idle once
			{"batch 10", "active"},
			{"tick 160", "wm 9"}, // records came: quiet again from 160
			{"tick 200", ""},
			{"batch 20", ""},
			{"tick 259", "wm 19"},
			{"tick 300", ""},
			{"tick 358", ""},
			{"tick 359", "idle"},
			{"batch 5", "active"},
			{"tick 400", ""}, // active again, but 5 does not advance it
		}},
		{"steady records are never idle", 0, 100, []step{
			{"batch 1", ""}, {"tick 0", "wm 0"},
			{"batch 2", ""}, {"tick 99", "wm 1"},
			{"batch 3", ""}, {"tick 198", "wm 2"},
			{"batch 4", ""}, {"tick 297", "wm 3"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newWatermarkGenerator(tc.bound, tc.idle)
			for i, s := range tc.steps {
				var op string
				var v int64
				if _, err := fmt.Sscan(s.in, &op, &v); err != nil {
					t.Fatal(err)
				}
				got := ""
				switch op {
				case "batch":
					if g.observe(v) {
						got = "active"
					}
				case "tick":
					wm, emit, idle := g.periodic(v)
					switch {
					case emit && idle:
						t.Fatalf("step %d: both a watermark and idleness", i)
					case emit:
						got = fmt.Sprint("wm ", wm)
					case idle:
						got = "idle"
					}
				}
				if got != s.want {
					t.Fatalf("step %d (%s): %q, want %q", i, s.in, got, s.want)
				}
			}
		})
	}
}

func TestTimestampsFollowTheStream(t *testing.T) {
	env := NewEnvironment()
	src := FromSlice(env, []int64{1, 2, 3})
	other := FromSlice(env, []int64{4, 5})
	byTen := ForMonotonousTimestamps(func(v int64) int64 { return v * 10 })
	stamped := AssignTimestampsAndWatermarks(src, byTen)
	mapped := Map(stamped, func(v int64) int64 { return v })
	keyed := KeyBy(stamped, func(v int64) int64 { return v % 2 })
	for _, c := range []struct {
		name string
		ds   *DataStream[int64]
		want bool
	}{
		{"a source", src, false},
		{"a watermark strategy's output", stamped, true},
		{"renamed", stamped.Name("stamps"), true},
		{"Filter", Filter(stamped, func(int64) bool { return true }), true},
		{"Rebalance", stamped.Rebalance(), true},
		{"Broadcast", stamped.Broadcast(), true},
		{"Forward", stamped.Forward(), true},
		{"KeyBy", keyed.s, true},
		{"Map", mapped, false},
		{"FlatMap", FlatMap(stamped, func(v int64, out Collector[int64]) { out.Collect(v) }), false},
		{"Reduce", Reduce(keyed, func(a, b int64) int64 { return a + b }), false},
		{"WithTimestamps", WithTimestamps(mapped, func(v int64) int64 { return v * 10 }), true},
		{"a union with one function", Union(stamped, Filter(stamped, func(int64) bool { return true }), AssignTimestampsAndWatermarks(other, byTen)), true},
		{"a union with two", Union(stamped, AssignTimestampsAndWatermarks(other, ForMonotonousTimestamps(func(v int64) int64 { return v * 10 }))), false},
		{"a union with a stream without", Union(stamped, other), false},
		{"a union given one", WithTimestamps(Union(stamped, other), func(v int64) int64 { return v * 10 }), true},
	} {
		fn, ok := timestampsOf(c.ds)
		if ok != c.want {
			t.Errorf("%s: has timestamps %v, want %v", c.name, ok, c.want)
		}
		if ok && fn(7) != 70 {
			t.Errorf("%s: the timestamp of 7 is %d", c.name, fn(7))
		}
	}
	// WithTimestamps adds no operator and leaves its input as it was.
	before := len(env.nodes)
	WithTimestamps(mapped, func(v int64) int64 { return v })
	if _, ok := timestampsOf(mapped); ok || len(env.nodes) != before {
		t.Fatalf("WithTimestamps changed its input or added an operator")
	}
}

func TestRequireTimestampsNamesTheOperatorAtPlan(t *testing.T) {
	// What an event-time operator (a window) does when it is added.
	addWindow := func(ds *DataStream[int64]) (*node, func(int64) int64) {
		n := newNode[struct{}](ds.env, "sink", "Window", ds.edges())
		return n, requireTimestamps(n, ds)
	}
	env := NewEnvironment().SetParallelism(1)
	n, fn := addWindow(Map(FromSequence(env, 1, 3), func(v int64) int64 { return v }))
	n.name = "my-window" // named after it was added: the error has the final name
	_, err := env.Plan("no-timestamps")
	if fn != nil || err == nil || !strings.Contains(err.Error(), `operator "my-window": records without a timestamp where one is required`) {
		t.Fatalf("fn %v, err = %v", fn != nil, err)
	}

	env = NewEnvironment().SetParallelism(1)
	_, fn = addWindow(AssignTimestampsAndWatermarks(FromSequence(env, 1, 3), ForMonotonousTimestamps(func(v int64) int64 { return -v })))
	if _, err := env.Plan("timestamps"); err != nil || fn == nil || fn(4) != -4 {
		t.Fatalf("with timestamps: fn %v, err %v", fn != nil, err)
	}
}

func TestAssignTimestampsTakesItsInputsParallelismAndChains(t *testing.T) {
	env := NewEnvironment().SetParallelism(4)
	src := FromSequence(env, 1, 10).SetParallelism(2)
	Collect(AssignTimestampsAndWatermarks(src, ForMonotonousTimestamps(func(v int64) int64 { return v })).Name("stamps"))
	g, err := env.Plan("parallelism")
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := g.Tasks()
	for _, tk := range tasks {
		if strings.HasPrefix(tk.Name, "Sequence") {
			if tk.Parallelism != 2 || len(tk.Operators) != 2 {
				t.Fatalf("source task %+v: want the watermark generator chained at parallelism 2", tk)
			}
			return
		}
	}
	t.Fatalf("no source task in %+v", tasks)
}

// eventLog reads an inbox and describes what came: records, watermarks and
// statuses, in order, until the end of stream.
func eventLog(t *testing.T, in *network.Inbox, decode func(*network.Buffer) string) string {
	t.Helper()
	var log []string
	timeout := time.After(10 * time.Second)
	for {
		var b network.Buffer
		select {
		case b = <-in.Queue():
		case <-timeout:
			t.Fatalf("timed out after %v", log)
		}
		switch b.Event {
		case network.EventNone:
			log = append(log, decode(&b))
		case network.EventWatermark:
			log = append(log, fmt.Sprint("wm ", b.Watermark))
		case network.EventIdle:
			log = append(log, "idle")
		case network.EventActive:
			log = append(log, "active")
		case network.EventEndOfStream:
			in.Recycle(b)
			return strings.Join(log, " ")
		default:
			log = append(log, fmt.Sprint("event ", b.Event))
		}
		in.Recycle(b)
	}
}

// writeEvents adds records and events to a writer of one channel, then
// ends it.
func writeEvents(w sender[int64]) {
	w.add(1)
	w.add(2)
	w.watermark(5)
	w.status(true)
	w.status(false)
	w.addAll([]int64{3, 4})
	w.watermark(math.MaxInt64)
	w.end()
}

const wantEvents = "[1 2] wm 5 idle active [3 4] wm 9223372036854775807"

func TestLocalWriterSendsWatermarksAfterItsRecords(t *testing.T) {
	in := network.NewInbox(1, 2) // fewer credits than events: the reader must recycle
	var sent atomic.Int64
	done := make(chan struct{})
	go writeEvents(&chanWriter[int64]{ch: in.Channel(0), size: 512, done: done, sent: &sent})
	got := eventLog(t, in, func(b *network.Buffer) string { return fmt.Sprint(*b.Batch.(*[]int64)) })
	close(done)
	if got != wantEvents {
		t.Fatalf("got  %s\nwant %s", got, wantEvents)
	}
}

// runPlane runs a DataPlane on the loopback interface until the test ends.
func runPlane(t *testing.T, id string, x *network.Exchange) *network.DataPlane {
	t.Helper()
	d, err := network.NewDataPlane(network.DataPlaneConfig{ID: id, Exchange: x, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run of %s: %v", id, err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("Close of %s: %v", id, err)
		}
	})
	return d
}

func TestRemoteWriterSendsWatermarksAfterItsRecords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	producer := runPlane(t, "tm-a", network.NewExchange())
	consumerExchange := network.NewExchange()
	consumer := runPlane(t, "tm-b", consumerExchange)
	id := network.InboxID{Job: "job", Task: "sink"}
	in, err := consumerExchange.Inbox(id, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := producer.Open(ctx, "tm-b", consumer.Addr(), network.StreamHeader{Inbox: id, Channels: 1, Channel: 0, Credits: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	c := codec.MustFor[int64]()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		writeEvents(newFrameWriter[int64](rc, &sent))
	}()
	got := eventLog(t, in, func(b *network.Buffer) string {
		return fmt.Sprint(decodeFrame(c, b.Batch.(*network.Frame).Data, nil, "test"))
	})
	<-wrote
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if got != wantEvents {
		t.Fatalf("got  %s\nwant %s", got, wantEvents)
	}
}

func TestEventTimeTimersFireUpToTheWatermarkAndRestore(t *testing.T) {
	r := newTimerRig(t, 1, 0)
	for k := range int64(3) {
		r.b.setKey(k)
		r.count.Set(k)
		r.s.register(EventTime, 1000+k)
		r.s.register(EventTime, 5000)
		r.s.register(ProcessingTime, 1000+k) // same numbers, another clock
	}
	r.b.setKey(2)
	r.s.delete(EventTime, 5000)
	data, err := r.b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := newTimerRig(t, 1, 0)
	if err := restored.s.restore([][]byte{data}); err != nil {
		t.Fatal(err)
	}
	for _, rig := range []*timerRig{r, restored} {
		var fired []string
		onTimer := func(at int64) error {
			k := rig.b.CurrentKey()
			fired = append(fired, fmt.Sprintf("%d@%d", k, at))
			// A timer the watermark has reached, registered while firing,
			// fires in the same call: there may be no later watermark.
			if at == 1000+k && k == 0 {
				rig.s.register(EventTime, 1500)
			}
			return nil
		}
		if err := rig.s.fire(EventTime, 1999, onTimer); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(fired, " "); got != "0@1000 1@1001 2@1002 0@1500" {
			t.Fatalf("fired %s", got)
		}
		fired = nil
		if err := rig.s.fire(EventTime, math.MaxInt64, onTimer); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(fired, " "); got != "0@5000 1@5000" {
			t.Fatalf("at the end of time fired %s", got)
		}
		if next, ok := rig.s.next(ProcessingTime); !ok || next != 1000 {
			t.Fatalf("the processing-time timers went too: %d, %v", next, ok)
		}
	}
}
