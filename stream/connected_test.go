package stream_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/stream"
)

// coA and coB are the records of the two inputs of the co-process tests:
// different types with a key each.
type coA struct{ I, Key, TS int64 }

type coB struct {
	I, Key, W int64
	Tag       string
}

func genCoA(i int64) coA { return coA{I: i, Key: (i * 31) % 53, TS: epoch + i} }
func genCoB(i int64) coB { return coB{I: i, Key: (i * 17) % 71, W: i%9 + 1, Tag: fmt.Sprint("b", i%5)} }

// coTotal is what coCountFn emits for a key at the end of the input (Kind
// "end"), or when its processing-time timer fires ("proc").
type coTotal struct {
	Kind           string
	Key            int64
	CountA, SumB   int64
	Watermark      int64
	RegisteredBy   int64 // the instance that registered the end timer
	FiredBy        int64
	FirstBTimerSet bool
}

// coCountFn counts, per key, the records of input 1 and sums the weights of
// input 2, in keyed state that both inputs share; both register one
// event-time timer per key at the end of time, which emits the totals. The
// first record of input 2 of a key also registers a processing-time timer
// in the past, which fires right after its batch.
type coCountFn struct {
	inst   int64
	count  stream.ValueState[int64]
	sum    stream.ValueState[int64]
	regBy  stream.ValueState[int64]
	seenTS bool // input 1 has timestamps
}

func (f *coCountFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	if f.count, err = stream.NewValueState[int64](ctx, "count-a"); err != nil {
		return err
	}
	if f.sum, err = stream.NewValueState[int64](ctx, "sum-b"); err != nil {
		return err
	}
	f.regBy, err = stream.NewValueState[int64](ctx, "registered-by")
	return err
}

func (f *coCountFn) end(ctx *stream.Context[int64]) {
	if _, ok := f.regBy.Get(); !ok {
		f.regBy.Set(f.inst)
		ctx.RegisterEventTimeTimer(math.MaxInt64)
	}
}

func (f *coCountFn) ProcessElement1(ctx *stream.Context[int64], a coA, out stream.Collector[coTotal]) error {
	if ctx.Key() != a.Key {
		return fmt.Errorf("record %d of input 1 with key %d under key %d", a.I, a.Key, ctx.Key())
	}
	if ts, ok := ctx.Timestamp(); f.seenTS && (!ok || ts != a.TS) {
		return fmt.Errorf("record %d of input 1: Timestamp() = %d, %v; want %d", a.I, ts, ok, a.TS)
	}
	n, _ := f.count.Get()
	f.count.Set(n + 1)
	f.end(ctx)
	return nil
}

func (f *coCountFn) ProcessElement2(ctx *stream.Context[int64], b coB, out stream.Collector[coTotal]) error {
	if ctx.Key() != b.Key {
		return fmt.Errorf("record %d of input 2 with key %d under key %d", b.I, b.Key, ctx.Key())
	}
	if ts, ok := ctx.Timestamp(); ok {
		return fmt.Errorf("record %d of input 2, which has no timestamps: Timestamp() = %d", b.I, ts)
	}
	s, ok := f.sum.Get()
	if !ok {
		ctx.RegisterProcessingTimeTimer(time.UnixMilli(1))
	}
	f.sum.Set(s + b.W)
	f.end(ctx)
	return nil
}

func (f *coCountFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[coTotal]) error {
	n, _ := f.count.Get()
	s, _ := f.sum.Get()
	by, _ := f.regBy.Get()
	kind := "end"
	if ctx.TimeDomain() == stream.ProcessingTime {
		kind = "proc"
	}
	out.Collect(coTotal{Kind: kind, Key: ctx.Key(), CountA: n, SumB: s, Watermark: ctx.CurrentWatermark(), RegisteredBy: by, FiredBy: f.inst})
	return nil
}

type coCounts struct{ countA, sumB int64 }

// wantCoCounts is coCountFn's result in plain Go.
func wantCoCounts(nA, nB int64) map[int64]coCounts {
	want := map[int64]coCounts{}
	for i := range nA {
		a := genCoA(i)
		c := want[a.Key]
		c.countA++
		want[a.Key] = c
	}
	for i := range nB {
		b := genCoB(i)
		c := want[b.Key]
		c.sumB += b.W
		want[b.Key] = c
	}
	return want
}

func TestCoProcessSharesKeyedStateBetweenItsInputs(t *testing.T) {
	const nA, nB = 20_000, 15_000
	want := wantCoCounts(nA, nB)
	bKeys := map[int64]bool{}
	for i := range int64(nB) {
		bKeys[genCoB(i).Key] = true
	}
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			// Input 1 has timestamps and watermarks, input 2 neither: its
			// watermark is the minimum, held back by input 2 until it ends.
			as := stream.AssignTimestampsAndWatermarks(stream.FromGenerator(env, nA, genCoA),
				stream.ForMonotonousTimestamps(func(a coA) int64 { return a.TS }))
			bs := stream.FromGenerator(env, nB, genCoB)
			cs := stream.ConnectKeyed(stream.KeyBy(as, func(a coA) int64 { return a.Key }), stream.KeyBy(bs, func(b coB) int64 { return b.Key }))
			out := stream.Collect(stream.CoProcess(cs, func() stream.KeyedCoProcessFunction[int64, coA, coB, coTotal] {
				return &coCountFn{seenTS: true}
			}).Name("co-count"))
			res, err := env.Execute(testContext(t), "co-process")
			if err != nil {
				t.Fatal(err)
			}
			if res.State != jobmanager.StateFinished {
				t.Fatalf("job %s", res.State)
			}
			got := map[int64]coCounts{}
			procs := map[int64]int{}
			for _, r := range out.Results() {
				switch r.Kind {
				case "end":
					if _, dup := got[r.Key]; dup {
						t.Fatalf("key %d: its end-of-time timer fired twice", r.Key)
					}
					if r.Watermark != math.MaxInt64 {
						t.Fatalf("key %d: the end-of-time timer fired at watermark %d", r.Key, r.Watermark)
					}
					got[r.Key] = coCounts{r.CountA, r.SumB}
				case "proc":
					procs[r.Key]++
				}
			}
			if !maps.Equal(got, want) {
				for k, w := range want {
					if got[k] != w {
						t.Errorf("key %d: %+v, want %+v", k, got[k], w)
					}
				}
				t.Fatalf("%d keys, want %d", len(got), len(want))
			}
			// Each key of input 2 registered one processing-time timer,
			// which fired before the input ended.
			if len(procs) != len(bKeys) {
				t.Fatalf("processing-time timers fired for %d keys, want %d", len(procs), len(bKeys))
			}
			for k, n := range procs {
				if n != 1 || !bKeys[k] {
					t.Fatalf("key %d: %d processing-time firings", k, n)
				}
			}
		})
	}
}

// coTickSource is unbounded: it emits a record per millisecond, with the
// wall clock as its event time, once gate (if any) is set.
type coTickSource struct{ gate *atomic.Bool }

func (coTickSource) Bounded() bool { return false }

func (s coTickSource) Open(int, int) (stream.Reader[coA], error) {
	return &coTickReader{gate: s.gate}, nil
}

type coTickReader struct {
	gate *atomic.Bool
	i    int64
}

func (r *coTickReader) Read(out stream.Collector[coA]) (int, error) {
	time.Sleep(time.Millisecond) // the pace of the ticks
	if r.gate != nil && !r.gate.Load() {
		return 0, nil
	}
	now := time.Now().UnixMilli()
	out.Collect(coA{I: r.i, Key: now % 4, TS: now})
	r.i++
	return 1, nil
}

func (r *coTickReader) Close() error { return nil }

// coFiring is an event-time timer that fired.
type coFiring struct{ Key, At, Watermark int64 }

// coTimerAtTS registers an event-time timer at the timestamp of each record
// of either input.
type coTimerAtTS struct{}

func (coTimerAtTS) Open(*stream.OpenContext[int64]) error { return nil }

func (coTimerAtTS) ProcessElement(ctx *stream.Context[int64], a coA, out stream.Collector[coFiring]) error {
	ts, _ := ctx.Timestamp()
	ctx.RegisterEventTimeTimer(ts)
	return nil
}

func (coTimerAtTS) ProcessElement1(ctx *stream.Context[int64], a coA, out stream.Collector[coFiring]) error {
	return coTimerAtTS{}.ProcessElement(ctx, a, out)
}

func (coTimerAtTS) ProcessElement2(ctx *stream.Context[int64], a coA, out stream.Collector[coFiring]) error {
	return coTimerAtTS{}.ProcessElement(ctx, a, out)
}

func (coTimerAtTS) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[coFiring]) error {
	out.Collect(coFiring{Key: ctx.Key(), At: t.UnixMilli(), Watermark: ctx.CurrentWatermark()})
	return nil
}

func TestCoProcessWatermarkIsTheMinimumOfItsInputs(t *testing.T) {
	var release atomic.Bool
	env := stream.NewEnvironment().SetParallelism(2).SetAutoWatermarkInterval(5 * time.Millisecond)
	byKey := func(a coA) int64 { return a.Key }
	stamps := stream.ForMonotonousTimestamps(func(a coA) int64 { return a.TS })
	// Input 1 ticks from the start; input 2 only once released, so until
	// then it sends no watermark.
	fast := stream.AssignTimestampsAndWatermarks(stream.FromSource(env, "Fast", coTickSource{}).SetParallelism(1), stamps)
	slow := stream.AssignTimestampsAndWatermarks(stream.FromSource(env, "Slow", coTickSource{gate: &release}).SetParallelism(1), stamps)
	// The same timers on input 1 alone, as the reference of how far its
	// watermarks have come.
	alone := stream.Collect(stream.Process(stream.KeyBy(fast, byKey), func() stream.KeyedProcessFunction[int64, coA, coFiring] {
		return coTimerAtTS{}
	}).Name("alone"))
	both := stream.Collect(stream.CoProcess(stream.ConnectKeyed(stream.KeyBy(fast, byKey), stream.KeyBy(slow, byKey)),
		func() stream.KeyedCoProcessFunction[int64, coA, coA, coFiring] { return coTimerAtTS{} }).Name("both"))
	client, err := env.ExecuteAsync(testContext(t), "co-watermark")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Only input 2 tells the two operators apart: once 50 timers have
	// fired on input 1 alone, the co-process operator would have fired
	// some too had it not waited for input 2's watermark.
	waitFor(t, 20*time.Second, "timers on input 1 alone", func() bool { return alone.Len() >= 50 })
	if n := both.Len(); n != 0 {
		t.Fatalf("%d timers fired while the second input had sent no watermark", n)
	}
	release.Store(true)
	waitFor(t, 20*time.Second, "timers once both inputs advance", func() bool { return both.Len() >= 50 })
	if err := client.Cancel(); err != nil {
		t.Fatal(err)
	}
	if st, err := client.Wait(testContext(t)); err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("after cancel: %s, %v", st.State, err)
	}
	for _, f := range both.Results() {
		if f.Watermark < f.At {
			t.Fatalf("timer %d fired at watermark %d", f.At, f.Watermark)
		}
	}
}

func TestCoProcessStateIsExactlyOnceAcrossAFailure(t *testing.T) {
	const nA, nB = 30_000, 20_000
	want := wantCoCounts(nA, nB)
	var failed atomic.Bool
	var instances atomic.Int64
	env := stream.NewEnvironment().SetParallelism(2).
		EnableCheckpointing(50 * time.Millisecond).
		SetRestartStrategy(restart.Config{Kind: restart.FixedDelay, Attempts: 2, Delay: 50 * time.Millisecond})
	// About a second for each input. Input 1's two subtasks read [0, 15000)
	// and [15000, 30000): its record 27000 comes 0.8 s in, some fifteen
	// checkpoints in.
	as := stream.FromGeneratorAtRate(env, nA, 30_000, genCoA)
	fragile := stream.Map(as, func(a coA) coA {
		if a.I == 27_000 && !failed.Swap(true) {
			panic("injected failure")
		}
		return a
	}).Name("fragile")
	bs := stream.FromGeneratorAtRate(env, nB, 20_000, genCoB)
	cs := stream.KeyByConnected(stream.Connect(fragile, bs), func(a coA) int64 { return a.Key }, func(b coB) int64 { return b.Key })
	out := stream.Collect(stream.CoProcess(cs, func() stream.KeyedCoProcessFunction[int64, coA, coB, coTotal] {
		return &coCountFn{inst: instances.Add(1)}
	}).Name("co-count"))
	res, err := env.Execute(testContext(t), "co-process-restore")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != jobmanager.StateFinished || res.Restarts != 1 || !strings.Contains(res.Exceptions[0].Error, "injected failure") {
		t.Fatalf("job %s after %d restarts; exceptions %v", res.State, res.Restarts, res.Exceptions)
	}
	// The totals come from end-of-time timers, which fire once, in the
	// attempt that finished: equal to plain Go only if the restored state
	// neither lost nor counted twice a record of either input.
	got := map[int64]coCounts{}
	restored := 0
	for _, r := range out.Results() {
		if r.Kind != "end" {
			continue
		}
		if _, dup := got[r.Key]; dup {
			t.Fatalf("key %d: its end-of-time timer fired twice", r.Key)
		}
		got[r.Key] = coCounts{r.CountA, r.SumB}
		if r.RegisteredBy != r.FiredBy {
			restored++ // registered before the failure: the timer came through the checkpoint
		}
	}
	if !maps.Equal(got, want) {
		for k, w := range want {
			if got[k] != w {
				t.Errorf("key %d: %+v, want %+v", k, got[k], w)
			}
		}
		t.Fatalf("%d keys, want %d", len(got), len(want))
	}
	if restored == 0 {
		t.Fatal("no timer came from a checkpoint")
	}
	var readAgain int64
	for _, ts := range res.Tasks {
		if strings.HasPrefix(ts.Name, "Generator") {
			readAgain += ts.RecordsIn
		}
	}
	if readAgain == 0 || readAgain >= nA+nB {
		t.Fatalf("the restarted sources read %d of %d records; want them resumed from a checkpoint", readAgain, nA+nB)
	}
	t.Logf("the sources resumed with %d of %d records to go; %d of %d keys fired restored timers", readAgain, nA+nB, restored, len(want))
}

func TestCoMapAndCoFlatMapReadBothInputs(t *testing.T) {
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			nums := stream.FromSequence(env, 1, 1000)
			words := stream.FromSlice(env, []string{"a", "bb", "ccc", "dddd"}).SetParallelism(1)
			mapped := stream.Collect(stream.CoMap(stream.Connect(nums, words),
				func(v int64) string { return fmt.Sprint(v) },
				func(s string) string { return s }))
			// The second input broadcast: every subtask gets every word.
			flat := stream.Collect(stream.CoFlatMap(stream.Connect(nums, words.Broadcast()),
				func(v int64, out stream.Collector[int64]) {
					if v%100 == 0 {
						out.Collect(v)
					}
				},
				func(s string, out stream.Collector[int64]) { out.Collect(-int64(len(s))) }))
			if _, err := env.Execute(testContext(t), "co-map"); err != nil {
				t.Fatal(err)
			}
			var want []string
			for v := range 1000 {
				want = append(want, fmt.Sprint(v+1))
			}
			want = append(want, "a", "bb", "ccc", "dddd")
			got := mapped.Results()
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("CoMap: %d records, want %d", len(got), len(want))
			}
			var wantFlat []int64
			for range p {
				wantFlat = append(wantFlat, -1, -2, -3, -4)
			}
			for v := int64(100); v <= 1000; v += 100 {
				wantFlat = append(wantFlat, v)
			}
			gotFlat := flat.Results()
			slices.Sort(gotFlat)
			slices.Sort(wantFlat)
			if !slices.Equal(gotFlat, wantFlat) {
				t.Fatalf("CoFlatMap: %v, want %v", gotFlat, wantFlat)
			}
		})
	}
}

// unencodable has no codec: a func cannot cross a process boundary.
type unencodable struct {
	Key int64
	Fn  func()
}

func TestTwoInputPlanErrorsNameTheOperator(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	withTS := stream.AssignTimestampsAndWatermarks(stream.FromSequence(env, 0, 10), stream.ForMonotonousTimestamps(func(v int64) int64 { return v }))
	without := stream.Map(stream.FromSequence(env, 0, 10), func(v int64) int64 { return v })
	id := func(v int64) int64 { return v }
	pair := func(a, b int64) [2]int64 { return [2]int64{a, b} }
	stream.Collect(stream.IntervalJoin(stream.KeyBy(without, id), stream.KeyBy(withTS, id), 0, time.Second, pair).Name("no-ts-first"))
	stream.Collect(stream.IntervalJoin(stream.KeyBy(withTS, id), stream.KeyBy(without, id), 0, time.Second, pair).Name("no-ts-second"))
	stream.Collect(stream.IntervalJoin(stream.KeyBy(withTS, id), stream.KeyBy(stream.Filter(withTS, func(int64) bool { return true }), id),
		time.Second, -time.Second, pair).Name("upside-down"))
	stream.Collect(stream.IntervalJoin(stream.KeyBy(withTS, id), stream.KeyBy(stream.Filter(withTS, func(int64) bool { return true }), id),
		0, 0, pair, stream.LowerBoundExclusive()).Name("empty"))
	_, err := env.Plan("bad-two-input")
	if !errors.Is(err, stream.ErrInvalidJob) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		`operator "no-ts-first": its first input has records without a timestamp where one is required`,
		`operator "no-ts-second": its second input has records without a timestamp where one is required`,
		`operator "upside-down": the interval join's lower bound 1s is above its upper bound -1s`,
		`operator "empty": the interval join's bounds [0s, 0s] with exclusive ends hold no whole millisecond`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "no-ts-first\": its second") || strings.Contains(err.Error(), "no-ts-second\": its first") {
		t.Errorf("an input with timestamps was reported:\n%v", err)
	}

	// A record type without a codec on one input of a two-input operator,
	// which is never chained to its inputs.
	env = stream.NewEnvironment().SetParallelism(2)
	odd := stream.Map(stream.FromSequence(env, 0, 10), func(v int64) unencodable { return unencodable{Key: v} }).Name("odd")
	stream.Collect(stream.CoMap(stream.Connect(stream.FromSequence(env, 0, 10), odd),
		id, func(u unencodable) int64 { return u.Key }).Name("co-odd"))
	_, err = env.Plan("no-codec")
	if err == nil || !strings.Contains(err.Error(), `operator "odd" sends stream_test.unencodable records to "co-odd" over an exchange, which needs a codec`) {
		t.Fatalf("err = %v", err)
	}
}

func TestTwoInputOperatorIsATaskHeadWithBothInputs(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	nums := stream.FromSequence(env, 0, 10).Name("nums")
	words := stream.FromSlice(env, []string{"x"}).Name("words")
	keyed := stream.CoProcess(stream.KeyByConnected(stream.Connect(nums, words), func(v int64) string { return fmt.Sprint(v) }, func(s string) string { return s }),
		func() stream.KeyedCoProcessFunction[string, int64, string, string] { return nil }).Name("keyed")
	stream.Collect(stream.CoMap(stream.Connect(nums, words), func(v int64) string { return "" }, func(s string) string { return s }).Name("forward"))
	stream.Collect(keyed).Name("sink")
	g, err := env.Plan("shape")
	if err != nil {
		t.Fatal(err)
	}
	tasks, edges := g.Tasks()
	names := map[string]bool{}
	for _, tk := range tasks {
		names[tk.Name] = true
	}
	// Forward edges of equal parallelism, yet neither two-input operator
	// is chained to its inputs; the keyed one reads two hash edges. What
	// follows a two-input operator chains to it.
	for _, want := range []string{"nums", "words", "keyed -> sink", "forward -> Collect"} {
		if !names[want] {
			t.Fatalf("no task %q in %v", want, slices.Sorted(maps.Keys(names)))
		}
	}
	parts := map[string][]string{}
	for _, e := range edges {
		op, _ := g.Operator(e.Target)
		parts[op.Name] = append(parts[op.Name], string(e.Partitioning))
	}
	if got := parts["keyed"]; !slices.Equal(got, []string{"hash", "hash"}) {
		t.Fatalf("keyed co-process inputs %v", got)
	}
	if got := parts["forward"]; !slices.Equal(got, []string{"forward", "forward"}) {
		t.Fatalf("co-map inputs %v", got)
	}
}
