package stream_test

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/stream"
)

// wrec is a record of the window tests: event time TS (ms), and N = 1, so
// that a reduce that adds records up counts them.
type wrec struct{ I, Key, TS, N int64 }

func wrecTS(r wrec) int64  { return r.TS }
func wrecKey(r wrec) int64 { return r.Key }

// sumRecs adds records up: I is then the sum of the I, N the count.
func sumRecs(a, b wrec) wrec {
	return wrec{I: a.I + b.I, Key: a.Key, TS: max(a.TS, b.TS), N: a.N + b.N}
}

// wCountSum is the count and the sum of I of a key's records.
type wCountSum struct{ Key, Count, Sum int64 }

// wCountSumAgg is an AggregateFunction to wCountSum, with Merge for session
// windows.
type wCountSumAgg struct{}

func (wCountSumAgg) CreateAccumulator() wCountSum { return wCountSum{} }
func (wCountSumAgg) Add(r wrec, a wCountSum) wCountSum {
	return wCountSum{Key: r.Key, Count: a.Count + 1, Sum: a.Sum + r.I}
}
func (wCountSumAgg) GetResult(a wCountSum) wCountSum { return a }
func (wCountSumAgg) Merge(a, b wCountSum) wCountSum {
	return wCountSum{Key: a.Key, Count: a.Count + b.Count, Sum: a.Sum + b.Sum}
}

// wNoMergeAgg has no Merge: it cannot aggregate session windows.
type wNoMergeAgg struct{}

func (wNoMergeAgg) CreateAccumulator() int64     { return 0 }
func (wNoMergeAgg) Add(_ int64, acc int64) int64 { return acc + 1 }
func (wNoMergeAgg) GetResult(acc int64) int64    { return acc }

// winResult is a firing of a window function that knows its window.
type winResult struct {
	Fn         string
	Key        int64
	Start, End int64
	Count, Sum int64
	Watermark  int64
	Elements   []int64 // timestamps, for the lateness test
}

// wKeyWindow is a key's window.
type wKeyWindow struct{ Key, Start, End int64 }

// wFloorMod is the modulo rounded towards minus infinity.
func wFloorMod(t, m int64) int64 { return ((t % m) + m) % m }

// wPlainWindows computes per key and window the count and sum of the
// records, with windows assigned by assign.
func wPlainWindows(recs []wrec, assign func(ts int64) [][2]int64) map[wKeyWindow]wCountSum {
	out := map[wKeyWindow]wCountSum{}
	for _, r := range recs {
		for _, w := range assign(r.TS) {
			k := wKeyWindow{r.Key, w[0], w[1]}
			c := out[k]
			out[k] = wCountSum{Key: r.Key, Count: c.Count + 1, Sum: c.Sum + r.I}
		}
	}
	return out
}

func wPlainTumbling(size int64) func(int64) [][2]int64 {
	return func(ts int64) [][2]int64 {
		start := ts - wFloorMod(ts, size)
		return [][2]int64{{start, start + size}}
	}
}

func wPlainSliding(size, slide int64) func(int64) [][2]int64 {
	return func(ts int64) [][2]int64 {
		var ws [][2]int64
		for start := ts - wFloorMod(ts, slide); start > ts-size; start -= slide {
			ws = append(ws, [2]int64{start, start + size})
		}
		return ws
	}
}

// wPlainSessions computes per key its sessions of gap: its records sorted
// by time, split where two follow each other by more than gap; a session
// is [first, last+gap).
func wPlainSessions(recs []wrec, gap int64) map[wKeyWindow]wCountSum {
	byKey := map[int64][]wrec{}
	for _, r := range recs {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	out := map[wKeyWindow]wCountSum{}
	for key, rs := range byKey {
		slices.SortFunc(rs, func(a, b wrec) int { return cmp.Compare(a.TS, b.TS) })
		start, cs := rs[0].TS, wCountSum{Key: key}
		for i, r := range rs {
			if i > 0 && r.TS-rs[i-1].TS > gap {
				out[wKeyWindow{key, start, rs[i-1].TS + gap}] = cs
				start, cs = r.TS, wCountSum{Key: key}
			}
			cs.Count++
			cs.Sum += r.I
		}
		out[wKeyWindow{key, start, rs[len(rs)-1].TS + gap}] = cs
	}
	return out
}

const (
	wn     = 20_000
	wKeys  = 7
	wBound = 50 // ms out of order
)

// wGen makes record i: 10 ms of event time per record, with a pause of
// 400 ms every 100 records, so that sessions of 255 ms end; up to 40 ms
// out of order; keys in an irregular pattern. Times are multiples of 10
// ms, so no two are a session gap of 255 ms apart, at which a session
// could fire and then grow by a touching window, which plain grouping
// would not show.
func wGen(i int64) wrec {
	base := 10*i + 400*(i/100)
	jitter := 10 * ((i * 7919) % 5)
	return wrec{I: i, Key: (i*i*31 + i*17) % wKeys, TS: epoch + base - jitter, N: 1}
}

func TestWindowsMatchPlainGo(t *testing.T) {
	recs := make([]wrec, wn)
	for i := range recs {
		recs[i] = wGen(int64(i))
	}
	cases := []struct {
		name     string
		assigner stream.WindowAssigner
		want     map[wKeyWindow]wCountSum
	}{
		{"tumbling", stream.TumblingEventTimeWindows(time.Second), wPlainWindows(recs, wPlainTumbling(1000))},
		{"tumbling-offset", stream.TumblingEventTimeWindows(time.Second).WithOffset(-300 * time.Millisecond),
			wPlainWindows(recs, func(ts int64) [][2]int64 {
				w := wPlainTumbling(1000)(ts + 300)[0]
				return [][2]int64{{w[0] - 300, w[1] - 300}}
			})},
		{"sliding", stream.SlidingEventTimeWindows(time.Second, 250*time.Millisecond), wPlainWindows(recs, wPlainSliding(1000, 250))},
		{"session", stream.EventTimeSessionWindows(255 * time.Millisecond), wPlainSessions(recs, 255)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var plainResults []wCountSum
			for _, cs := range c.want {
				plainResults = append(plainResults, cs)
			}
			for _, p := range []int{1, 2} {
				t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
					checkWindowFunctions(t, p, c.assigner, c.want, plainResults)
				})
			}
		})
	}
}

// checkWindowFunctions runs every kind of window function over wGen's
// records with assigner at parallelism p, and compares their results with
// want.
func checkWindowFunctions(t *testing.T, p int, assigner stream.WindowAssigner, want map[wKeyWindow]wCountSum, plainResults []wCountSum) {
	env := stream.NewEnvironment().SetParallelism(p).SetAutoWatermarkInterval(2 * time.Millisecond)
	// Half a second: a few hundred watermarks per source subtask.
	src := stream.FromGeneratorAtRate(env, wn, 2*wn, wGen)
	stamped := stream.AssignTimestampsAndWatermarks(src, stream.ForBoundedOutOfOrderness(wBound*time.Millisecond, wrecTS))
	ks := stream.KeyBy(stamped, wrecKey)
	win := func() *stream.WindowedStream[int64, wrec] { return stream.Window(ks, assigner) }
	result := func(fn string, ctx *stream.WindowContext[int64], count, sum int64) winResult {
		w := ctx.Window()
		return winResult{Fn: fn, Key: ctx.Key(), Start: w.Start, End: w.End, Count: count, Sum: sum, Watermark: ctx.CurrentWatermark()}
	}
	reduced := stream.Collect(stream.WindowReduce(win(), sumRecs).Name("reduce"))
	aggregated := stream.Collect(stream.WindowAggregate(win(), wCountSumAgg{}).Name("aggregate"))
	withWindow := stream.Union(
		stream.WindowReduceProcess(win(), sumRecs, func(ctx *stream.WindowContext[int64], rs []wrec, out stream.Collector[winResult]) error {
			if len(rs) != 1 {
				return fmt.Errorf("reduce, process: %d elements", len(rs))
			}
			out.Collect(result("reduce-process", ctx, rs[0].N, rs[0].I))
			return nil
		}).Name("reduce-process"),
		stream.WindowAggregateProcess(win(), wCountSumAgg{}, func(ctx *stream.WindowContext[int64], as []wCountSum, out stream.Collector[winResult]) error {
			out.Collect(result("aggregate-process", ctx, as[0].Count, as[0].Sum))
			return nil
		}).Name("aggregate-process"),
		stream.WindowProcess(win(), func(ctx *stream.WindowContext[int64], rs []wrec, out stream.Collector[winResult]) error {
			var sum int64
			w := ctx.Window()
			for _, r := range rs {
				if r.Key != ctx.Key() || r.TS < w.Start || r.TS >= w.End {
					return fmt.Errorf("record %+v in window %v of key %d", r, w, ctx.Key())
				}
				sum += r.I
			}
			out.Collect(result("process", ctx, int64(len(rs)), sum))
			return nil
		}).Name("process"),
	)
	fired := stream.Collect(withWindow)
	res, err := env.Execute(testContext(t), "windows")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != jobmanager.StateFinished {
		t.Fatalf("job %s: %v", res.State, res.Exceptions)
	}

	// Without the window: the same multiset of results.
	sortCS := func(cs []wCountSum) []wCountSum {
		return slices.SortedFunc(slices.Values(cs), func(a, b wCountSum) int {
			return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Count, b.Count), cmp.Compare(a.Sum, b.Sum))
		})
	}
	wantPlain := sortCS(plainResults)
	var fromReduce []wCountSum
	for _, r := range reduced.Results() {
		fromReduce = append(fromReduce, wCountSum{Key: r.Key, Count: r.N, Sum: r.I})
	}
	for name, got := range map[string][]wCountSum{"reduce": sortCS(fromReduce), "aggregate": sortCS(aggregated.Results())} {
		if !slices.Equal(got, wantPlain) {
			t.Errorf("%s: %d results differing from plain Go's %d", name, len(got), len(wantPlain))
		}
	}
	// With the window: each window once, on time, with its records.
	got := map[string]map[wKeyWindow]wCountSum{}
	early := 0
	for _, r := range fired.Results() {
		if got[r.Fn] == nil {
			got[r.Fn] = map[wKeyWindow]wCountSum{}
		}
		k := wKeyWindow{r.Key, r.Start, r.End}
		if _, dup := got[r.Fn][k]; dup {
			t.Errorf("%s: key %d window [%d, %d) fired twice", r.Fn, r.Key, r.Start, r.End)
		}
		got[r.Fn][k] = wCountSum{Key: r.Key, Count: r.Count, Sum: r.Sum}
		if r.Watermark < r.End-1 {
			t.Errorf("%s: key %d window [%d, %d) fired at watermark %d", r.Fn, r.Key, r.Start, r.End, r.Watermark)
		}
		if r.Watermark != math.MaxInt64 {
			early++
		}
	}
	for _, fn := range []string{"reduce-process", "aggregate-process", "process"} {
		if !maps.Equal(got[fn], want) {
			n := 0
			for k, w := range want {
				if g, ok := got[fn][k]; !ok || g != w {
					if n++; n <= 5 {
						t.Errorf("%s: key %d window [%d, %d): %+v, want %+v", fn, k.Key, k.Start, k.End, got[fn][k], w)
					}
				}
			}
			t.Fatalf("%s: %d windows fired, want %d", fn, len(got[fn]), len(want))
		}
	}
	// Windows fire as the watermarks pass them, not only at the end.
	if total := len(fired.Results()); early < total/5 {
		t.Fatalf("only %d of %d windows fired before the end of the input", early, total)
	}
	t.Logf("%d windows, %d of %d firings before the end of the input", len(want), early, len(fired.Results()))
}

// wPhasedSource is a bounded source of one subtask that emits its phases
// one Read each; before phase i > 0 it waits for gates[i-1] to close.
type wPhasedSource struct {
	phases [][]wrec
	gates  []chan struct{}
}

func (wPhasedSource) Bounded() bool { return true }

func (s wPhasedSource) Open(subtask, parallelism int) (stream.Reader[wrec], error) {
	if parallelism != 1 {
		return nil, fmt.Errorf("wPhasedSource has %d subtasks, want 1", parallelism)
	}
	return &wPhasedReader{s: s}, nil
}

type wPhasedReader struct {
	s       wPhasedSource
	phase   int
	waiting time.Time
}

func (r *wPhasedReader) Read(out stream.Collector[wrec]) (int, error) {
	if r.phase >= len(r.s.phases) {
		return 0, io.EOF
	}
	if r.phase > 0 {
		if r.waiting.IsZero() {
			r.waiting = time.Now()
		}
		t := time.NewTimer(5 * time.Millisecond) // then return, to let the task fire its timers
		defer t.Stop()
		select {
		case <-r.s.gates[r.phase-1]:
		case <-t.C:
			if time.Since(r.waiting) > 30*time.Second {
				return 0, fmt.Errorf("phase %d: its gate never opened", r.phase)
			}
			return 0, nil
		}
		r.waiting = time.Time{}
	}
	for _, v := range r.s.phases[r.phase] {
		out.Collect(v)
	}
	r.phase++
	return len(r.s.phases[r.phase-1]), nil
}

func (r *wPhasedReader) Close() error { return nil }

// wGateSink gathers records and closes a gate once it has `at` of them.
type wGateSink[T any] struct {
	mu   sync.Mutex
	recs []T
	at   int
	gate chan struct{}
}

func newWGateSink[T any](at int) *wGateSink[T] {
	return &wGateSink[T]{at: at, gate: make(chan struct{})}
}

func (g *wGateSink[T]) writer(int, int) (stream.SinkWriter[T], error) { return g, nil }

func (g *wGateSink[T]) Write(v T) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.recs = append(g.recs, v)
	if len(g.recs) == g.at {
		close(g.gate)
	}
	return nil
}

func (g *wGateSink[T]) Flush() error { return nil }
func (g *wGateSink[T]) Close() error { return nil }

func (g *wGateSink[T]) results() []T {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.recs)
}

func TestWindowLatenessAndLateDataSideOutput(t *testing.T) {
	// Tumbling windows of 1 s with 1.5 s allowed lateness, timestamps in
	// ms after epoch. Phase 1 ends with a record at 3200, so the watermark
	// becomes 3199: windows 0, 1 and 2 fire, window 0 (cleanup at 2499) is
	// purged, windows 1 (3499) and 2 (4499) are kept. The source then
	// waits until the five firings have reached the sink: phase 2 comes
	// after the watermark 3199, deterministically.
	rec := func(i, key, ts int64) wrec { return wrec{I: i, Key: key, TS: epoch + ts, N: 1} }
	phase1 := []wrec{rec(0, 1, 100), rec(1, 1, 200), rec(2, 1, 1100), rec(3, 1, 2100), rec(4, 2, 1500), rec(5, 2, 2500), rec(6, 1, 3200)}
	phase2 := []wrec{
		rec(7, 1, 300),   // window 0 is purged: late
		rec(8, 2, 1600),  // window 1 of key 2 is kept: it fires again
		rec(9, 1, 1900),  // so does window 1 of key 1
		rec(10, 3, 1200), // window 1 of key 3 is new, within lateness: it fires at once
		rec(11, 2, 900),  // late
		rec(12, 1, 3300), // on time
	}
	type firing struct {
		Key, Start int64
		Elements   []int64
	}
	want := []firing{
		{1, 0, []int64{100, 200}},
		{1, 1000, []int64{1100}},
		{2, 1000, []int64{1500}},
		{1, 2000, []int64{2100}},
		{2, 2000, []int64{2500}},
		{2, 1000, []int64{1500, 1600}},
		{1, 1000, []int64{1100, 1900}},
		{3, 1000, []int64{1200}},
		{1, 3000, []int64{3200, 3300}},
	}
	wantLate := []int64{7, 11}
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			processed := newWGateSink[winResult](5)
			src := wPhasedSource{phases: [][]wrec{phase1, phase2}, gates: []chan struct{}{processed.gate}}
			env := stream.NewEnvironment().SetParallelism(p).SetAutoWatermarkInterval(time.Millisecond)
			events := stream.AssignTimestampsAndWatermarks(stream.FromSource(env, "Phased", src).SetParallelism(1),
				stream.ForMonotonousTimestamps(wrecTS))
			lateTag := stream.NewOutputTag[wrec]("late")
			ks := stream.KeyBy(events, wrecKey)
			// A process function that lists its windows' records ...
			listed := stream.WindowProcess(stream.Window(ks, stream.TumblingEventTimeWindows(time.Second)).
				AllowedLateness(1500*time.Millisecond).SideOutputLateData(lateTag),
				func(ctx *stream.WindowContext[int64], rs []wrec, out stream.Collector[winResult]) error {
					w := ctx.Window()
					var ts []int64
					for _, r := range rs {
						ts = append(ts, r.TS-epoch)
					}
					slices.Sort(ts)
					out.Collect(winResult{Key: ctx.Key(), Start: w.Start - epoch, End: w.End - epoch, Count: int64(len(rs)), Watermark: ctx.CurrentWatermark(), Elements: ts})
					return nil
				}).Name("listed")
			stream.AddSink(listed, "Gate", processed.writer).SetParallelism(1)
			lateListed := stream.Collect(stream.SideOutput(listed, lateTag))
			lateListed.SetParallelism(1) // over the network at parallelism 2
			// ... and a reduce, with its own side output: the same late
			// records, chained to it.
			summed := stream.WindowReduce(stream.Window(ks, stream.TumblingEventTimeWindows(time.Second)).
				AllowedLateness(1500*time.Millisecond).SideOutputLateData(lateTag), sumRecs).Name("summed")
			sums := stream.Collect(summed)
			lateSummed := stream.Collect(stream.SideOutput(summed, lateTag))
			res, err := env.Execute(testContext(t), "lateness")
			if err != nil {
				t.Fatal(err)
			}
			if res.State != jobmanager.StateFinished {
				t.Fatalf("job %s: %v", res.State, res.Exceptions)
			}
			var got []firing
			for _, r := range processed.results() {
				got = append(got, firing{r.Key, r.Start, r.Elements})
			}
			// Firings of one key come in order; keys may interleave.
			order := func(fs []firing) []firing {
				return slices.SortedStableFunc(slices.Values(fs), func(a, b firing) int { return cmp.Compare(a.Key, b.Key) })
			}
			if g, w := fmt.Sprint(order(got)), fmt.Sprint(order(want)); g != w {
				t.Fatalf("firings\n got %v\nwant %v", g, w)
			}
			// The watermark of the on-time firings of phase 1 is 3199.
			for _, r := range processed.results()[:5] {
				if r.Watermark != epoch+3199 {
					t.Fatalf("a firing of phase 1 at watermark %d, want %d", r.Watermark-epoch, 3199)
				}
			}
			var wantSums []string
			for _, f := range want {
				var s int64
				for _, ts := range f.Elements {
					for _, r := range slices.Concat(phase1, phase2) {
						if r.Key == f.Key && r.TS == epoch+ts {
							s += r.I
						}
					}
				}
				wantSums = append(wantSums, fmt.Sprintf("key %d: %d records, sum %d", f.Key, len(f.Elements), s))
			}
			var gotSums []string
			for _, r := range sums.Results() {
				gotSums = append(gotSums, fmt.Sprintf("key %d: %d records, sum %d", r.Key, r.N, r.I))
			}
			slices.Sort(wantSums)
			slices.Sort(gotSums)
			if !slices.Equal(gotSums, wantSums) {
				t.Fatalf("reduce firings\n got %v\nwant %v", gotSums, wantSums)
			}
			for name, late := range map[string][]wrec{"process": lateListed.Results(), "reduce": lateSummed.Results()} {
				var ids []int64
				for _, r := range late {
					ids = append(ids, r.I)
				}
				slices.Sort(ids)
				if !slices.Equal(ids, wantLate) {
					t.Fatalf("%s: late records %v, want %v", name, ids, wantLate)
				}
			}
		})
	}
}

func TestSlidingWindowRecordLateForSomeWindowsOnly(t *testing.T) {
	// Windows of 2 s every 1 s, no lateness. Phase 1 ends with a record at
	// 3000: the watermark is 2999, [0, 2000) and [1000, 3000) fire and are
	// purged, [2000, 4000) waits. In phase 2, a record at 2500 belongs to
	// [1000, 3000), purged, and [2000, 4000): it is not late, and counts in
	// the latter only. A record at 1500 is in [0, 2000) and [1000, 3000),
	// both purged: it is late.
	rec := func(i, ts int64) wrec { return wrec{I: i, Key: 0, TS: epoch + ts, N: 1} }
	phase1 := []wrec{rec(0, 1200), rec(1, 2200), rec(2, 3000)}
	phase2 := []wrec{rec(3, 2500), rec(4, 1500)}
	fired := newWGateSink[winResult](2)
	src := wPhasedSource{phases: [][]wrec{phase1, phase2}, gates: []chan struct{}{fired.gate}}
	env := stream.NewEnvironment().SetParallelism(1).SetAutoWatermarkInterval(time.Millisecond)
	events := stream.AssignTimestampsAndWatermarks(stream.FromSource(env, "Phased", src), stream.ForMonotonousTimestamps(wrecTS))
	lateTag := stream.NewOutputTag[wrec]("late")
	counts := stream.WindowReduceProcess(stream.Window(stream.KeyBy(events, wrecKey), stream.SlidingEventTimeWindows(2*time.Second, time.Second)).
		SideOutputLateData(lateTag), sumRecs,
		func(ctx *stream.WindowContext[int64], rs []wrec, out stream.Collector[winResult]) error {
			w := ctx.Window()
			out.Collect(winResult{Start: w.Start - epoch, End: w.End - epoch, Count: rs[0].N, Sum: rs[0].I})
			return nil
		})
	stream.AddSink(counts, "Gate", fired.writer)
	late := stream.Collect(stream.SideOutput(counts, lateTag))
	// A side output can be keyed like any stream (a hash exchange of its
	// records), and late records keep their timestamps.
	keyedLate := stream.Collect(stream.Process(stream.KeyBy(stream.SideOutput(counts, lateTag), wrecKey),
		func() stream.KeyedProcessFunction[int64, wrec, [2]int64] { return lateStamps{} }))
	if _, err := env.Execute(testContext(t), "sliding-lateness"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range fired.results() {
		got = append(got, fmt.Sprintf("[%d, %d): %d records, sum %d", r.Start, r.End, r.Count, r.Sum))
	}
	want := []string{
		"[0, 2000): 1 records, sum 0",    // 1200
		"[1000, 3000): 2 records, sum 1", // 1200, 2200
		"[2000, 4000): 3 records, sum 6", // 2200, 3000, 2500
		"[3000, 5000): 1 records, sum 2", // 3000
	}
	if !slices.Equal(got, want) {
		t.Fatalf("firings\n got %q\nwant %q", got, want)
	}
	if l := late.Results(); len(l) != 1 || l[0].I != 4 {
		t.Fatalf("late records %+v, want record 4 only", l)
	}
	if l := keyedLate.Results(); len(l) != 1 || l[0] != [2]int64{4, epoch + 1500} {
		t.Fatalf("late records keyed: %v, want record 4 at %d", l, epoch+1500)
	}
}

// lateStamps emits each record's I and timestamp.
type lateStamps struct{}

func (lateStamps) Open(*stream.OpenContext[int64]) error { return nil }

func (lateStamps) ProcessElement(ctx *stream.Context[int64], r wrec, out stream.Collector[[2]int64]) error {
	ts, ok := ctx.Timestamp()
	if !ok {
		return errors.New("a late record without its timestamp")
	}
	out.Collect([2]int64{r.I, ts})
	return nil
}

func TestProcessingTimeWindows(t *testing.T) {
	// Phase 2 is emitted only once a tumbling window has fired: proof that
	// processing-time windows fire on the clock, not just at the end.
	const perPhase, keys = 3000, 5
	var phases [2][]wrec
	for i := range int64(2 * perPhase) {
		phases[i/perPhase] = append(phases[i/perPhase], wrec{I: i, Key: i % keys, N: 1})
	}
	tumbled := newWGateSink[winResult](1)
	src := wPhasedSource{phases: phases[:], gates: []chan struct{}{tumbled.gate}}
	env := stream.NewEnvironment().SetParallelism(2)
	ks := stream.KeyBy(stream.FromSource(env, "Phased", src).SetParallelism(1), wrecKey)
	countFn := func(ctx *stream.WindowContext[int64], as []wCountSum, out stream.Collector[winResult]) error {
		w := ctx.Window()
		out.Collect(winResult{Key: ctx.Key(), Start: w.Start, End: w.End, Count: as[0].Count, Sum: as[0].Sum})
		return nil
	}
	tumbling := stream.WindowAggregateProcess(stream.Window(ks, stream.TumblingProcessingTimeWindows(20*time.Millisecond)), wCountSumAgg{}, countFn)
	stream.AddSink(tumbling, "Gate", tumbled.writer).SetParallelism(1)
	sliding := stream.Collect(stream.WindowAggregateProcess(stream.Window(ks, stream.SlidingProcessingTimeWindows(40*time.Millisecond, 20*time.Millisecond)), wCountSumAgg{}, countFn))
	sessions := stream.Collect(stream.WindowAggregateProcess(stream.Window(ks, stream.ProcessingTimeSessionWindows(time.Hour)), wCountSumAgg{}, countFn))
	res, err := env.Execute(testContext(t), "processing-time-windows")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != jobmanager.StateFinished {
		t.Fatalf("job %s: %v", res.State, res.Exceptions)
	}
	wantPerKey := map[int64]int64{}
	for _, ph := range phases {
		for _, r := range ph {
			wantPerKey[r.Key]++
		}
	}
	check := func(name string, rs []winResult, size, slide, copies int64) {
		t.Helper()
		perKey := map[int64]int64{}
		seen := map[wKeyWindow]bool{}
		for _, r := range rs {
			perKey[r.Key] += r.Count
			k := wKeyWindow{r.Key, r.Start, r.End}
			if seen[k] {
				t.Errorf("%s: key %d window [%d, %d) fired twice", name, r.Key, r.Start, r.End)
			}
			seen[k] = true
			if size > 0 && (r.End-r.Start != size || wFloorMod(r.Start, slide) != 0) {
				t.Errorf("%s: window [%d, %d)", name, r.Start, r.End)
			}
		}
		for k, n := range wantPerKey {
			if perKey[k] != n*copies {
				t.Errorf("%s: key %d counted %d records, want %d", name, k, perKey[k], n*copies)
			}
		}
		t.Logf("%s: %d firings", name, len(rs))
	}
	check("tumbling", tumbled.results(), 20, 20, 1)
	check("sliding", sliding.Results(), 40, 20, 2)
	check("sessions", sessions.Results(), 0, 0, 1)
	if n := len(sessions.Results()); n != keys {
		t.Fatalf("%d sessions of an hour's gap, want one per key (%d)", n, keys)
	}
}

func TestWindowsAreExactlyOnceAcrossAFailure(t *testing.T) {
	const n = 30_000
	// Ten records per ms of event time, and a pause of 100 ms every 3,000
	// records: a 200 ms window holds 2,000 records, a session (gap 50 ms)
	// 3,000, so windows span checkpoints and the failure.
	gen := func(i int64) wrec { return wrec{I: i, Key: i % 50, TS: epoch + i/10 + 100*(i/3000), N: 1} }
	var recs []wrec
	for i := range int64(n) {
		recs = append(recs, gen(i))
	}
	wantTumbling := wPlainWindows(recs, wPlainTumbling(200))
	wantSliding := wPlainWindows(recs, wPlainSliding(400, 200))
	wantSessions := wPlainSessions(recs, 50)
	var failed atomic.Bool
	env := stream.NewEnvironment().SetParallelism(2).SetAutoWatermarkInterval(10 * time.Millisecond).
		EnableCheckpointing(50 * time.Millisecond).
		SetRestartStrategy(restart.Config{Kind: restart.FixedDelay, Attempts: 2, Delay: 50 * time.Millisecond})
	// Two source subtasks reading [0, 15000) and [15000, 30000) at 20000
	// records/s in all: record 20000 comes after half a second.
	src := stream.FromGeneratorAtRate(env, n, 20_000, gen)
	fragile := stream.Map(src, func(r wrec) wrec {
		if r.I == 20_000 && !failed.Swap(true) {
			panic("injected failure")
		}
		return r
	}).Name("fragile")
	ks := stream.KeyBy(stream.AssignTimestampsAndWatermarks(fragile, stream.ForMonotonousTimestamps(wrecTS)), wrecKey)
	fn := func(name string) func(*stream.WindowContext[int64], []wCountSum, stream.Collector[winResult]) error {
		return func(ctx *stream.WindowContext[int64], as []wCountSum, out stream.Collector[winResult]) error {
			w := ctx.Window()
			out.Collect(winResult{Fn: name, Key: ctx.Key(), Start: w.Start, End: w.End, Count: as[0].Count, Sum: as[0].Sum})
			return nil
		}
	}
	tumbling := stream.WindowAggregateProcess(stream.Window(ks, stream.TumblingEventTimeWindows(200*time.Millisecond)), wCountSumAgg{}, fn("tumbling"))
	// The records themselves in state, through the checkpoint.
	sliding := stream.WindowProcess(stream.Window(ks, stream.SlidingEventTimeWindows(400*time.Millisecond, 200*time.Millisecond)),
		func(ctx *stream.WindowContext[int64], rs []wrec, out stream.Collector[winResult]) error {
			var sum int64
			for _, r := range rs {
				sum += r.I
			}
			return fn("sliding")(ctx, []wCountSum{{Count: int64(len(rs)), Sum: sum}}, out)
		})
	// Windows with allowed lateness and sessions keep timers, in state too.
	late := stream.WindowAggregateProcess(stream.Window(ks, stream.TumblingEventTimeWindows(200*time.Millisecond)).AllowedLateness(100*time.Millisecond),
		wCountSumAgg{}, fn("tumbling-lateness"))
	sessions := stream.WindowReduceProcess(stream.Window(ks, stream.EventTimeSessionWindows(50*time.Millisecond)), sumRecs,
		func(ctx *stream.WindowContext[int64], rs []wrec, out stream.Collector[winResult]) error {
			return fn("sessions")(ctx, []wCountSum{{Count: rs[0].N, Sum: rs[0].I}}, out)
		})
	out := stream.Collect(stream.Union(tumbling, sliding, late, sessions))
	res, err := env.Execute(testContext(t), "windows-exactly-once")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != jobmanager.StateFinished || res.Restarts != 1 || !strings.Contains(res.Exceptions[0].Error, "injected failure") {
		t.Fatalf("job %s after %d restarts; exceptions %v", res.State, res.Restarts, res.Exceptions)
	}
	// The sink is not transactional: a window that fired after the last
	// checkpoint fires again after the restore. Every firing must have
	// the window's exact count and sum: a window that spans the restore
	// point has them only if its state was restored, not lost or counted
	// twice.
	got := map[string]map[wKeyWindow]wCountSum{"tumbling": {}, "sliding": {}, "tumbling-lateness": {}, "sessions": {}}
	want := map[string]map[wKeyWindow]wCountSum{"tumbling": wantTumbling, "sliding": wantSliding, "tumbling-lateness": wantTumbling, "sessions": wantSessions}
	again := 0
	for _, r := range out.Results() {
		k := wKeyWindow{r.Key, r.Start, r.End}
		cs := wCountSum{Key: r.Key, Count: r.Count, Sum: r.Sum}
		if w := want[r.Fn][k]; cs != w {
			t.Errorf("%s: key %d window [%d, %d): %+v, want %+v", r.Fn, r.Key, r.Start, r.End, cs, w)
		}
		if _, dup := got[r.Fn][k]; dup {
			again++
		}
		got[r.Fn][k] = cs
	}
	for name := range want {
		if len(got[name]) != len(want[name]) {
			t.Fatalf("%s: %d windows fired, want %d", name, len(got[name]), len(want[name]))
		}
	}
	var readAgain int64
	for _, ts := range res.Tasks {
		if strings.HasPrefix(ts.Name, "Generator") {
			readAgain += ts.RecordsIn
		}
	}
	if readAgain == 0 || readAgain >= n {
		t.Fatalf("the restarted sources read %d of %d records; want them resumed from a checkpoint", readAgain, n)
	}
	t.Logf("sources resumed with %d of %d records to go; %d windows fired again after the restore", readAgain, n, again)
}

func TestWindowPlanErrorsNameTheOperator(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	src := stream.FromSequence(env, 0, 10)
	stamped := stream.AssignTimestampsAndWatermarks(src, stream.ForMonotonousTimestamps(func(v int64) int64 { return v }))
	key := func(v int64) int64 { return v % 2 }
	ks := stream.KeyBy(stamped, key)
	unstamped := stream.KeyBy(src, key)
	sum := func(a, b int64) int64 { return a + b }
	reduce := func(name string, ks *stream.KeyedStream[int64, int64], a stream.WindowAssigner, opts ...func(*stream.WindowedStream[int64, int64])) *stream.DataStream[int64] {
		ws := stream.Window(ks, a)
		for _, o := range opts {
			o(ws)
		}
		res := stream.WindowReduce(ws, sum).Name(name)
		stream.Collect(res)
		return res
	}
	reduce("size-zero", ks, stream.TumblingEventTimeWindows(0))
	reduce("size-fraction", ks, stream.TumblingProcessingTimeWindows(1500*time.Microsecond))
	reduce("slide-too-big", ks, stream.SlidingEventTimeWindows(time.Second, 2*time.Second))
	reduce("slide-zero", ks, stream.SlidingProcessingTimeWindows(time.Second, 0))
	reduce("gap-zero", ks, stream.EventTimeSessionWindows(0))
	reduce("offset-too-big", ks, stream.TumblingEventTimeWindows(time.Second).WithOffset(-time.Second))
	reduce("no-timestamps", unstamped, stream.TumblingEventTimeWindows(time.Second))
	reduce("no-assigner", ks, nil)
	reduce("negative-lateness", ks, stream.TumblingEventTimeWindows(time.Second), func(ws *stream.WindowedStream[int64, int64]) { ws.AllowedLateness(-time.Second) })
	reduce("processing-lateness", unstamped, stream.TumblingProcessingTimeWindows(time.Second), func(ws *stream.WindowedStream[int64, int64]) { ws.AllowedLateness(time.Second) })
	noTag := reduce("no-side-output", ks, stream.TumblingEventTimeWindows(time.Second))
	stream.Collect(stream.SideOutput(noTag, stream.NewOutputTag[int64]("late")))
	withTag := reduce("other-type", ks, stream.TumblingEventTimeWindows(time.Second), func(ws *stream.WindowedStream[int64, int64]) {
		ws.SideOutputLateData(stream.NewOutputTag[int64]("late"))
	})
	stream.Collect(stream.SideOutput(withTag, stream.NewOutputTag[string]("late")))
	stream.SideOutput(withTag, stream.NewOutputTag[int64]("late")).Name("renamed")
	stream.Collect(stream.WindowAggregate(stream.Window(ks, stream.EventTimeSessionWindows(time.Second)), wNoMergeAgg{}).Name("session-without-merge"))
	// Processing-time windows need no timestamps; this one is fine.
	reduce("fine", unstamped, stream.TumblingProcessingTimeWindows(time.Second))
	_, err := env.Plan("bad-windows")
	if !errors.Is(err, stream.ErrInvalidJob) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		`operator "size-zero": window size 0s must be positive`,
		`operator "size-fraction": window size 1.5ms must be a whole number of milliseconds`,
		`operator "slide-too-big": window slide 2s is larger than the window size 1s`,
		`operator "slide-zero": window slide 0s must be positive`,
		`operator "gap-zero": session gap 0s must be positive`,
		`operator "offset-too-big": window offset -1s must be smaller than the size 1s in absolute value`,
		`operator "no-timestamps": records without a timestamp where one is required`,
		`operator "no-assigner": no window assigner`,
		`operator "negative-lateness": allowed lateness -1s must not be negative`,
		`operator "processing-lateness": allowed lateness is for event-time windows`,
		`operator "no-side-output" has no side output "late"`,
		`operator "other-type": side output "late" has int64 records, not string`,
		"Name was called on a union, repartitioned or side-output stream",
		`operator "session-without-merge": session windows merge, and so must their accumulators`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"fine"`) {
		t.Errorf("the processing-time window without timestamps was refused:\n%v", err)
	}
}
