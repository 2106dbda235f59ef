package stream_test

import (
	"cmp"
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

// epoch puts the test's event times somewhere realistic (2023-11-14).
const epoch = 1_700_000_000_000

// event is a record with an event time.
type event struct {
	I, Key, TS int64
}

func eventTS(e event) int64 { return e.TS }

// windowEnd is the end of the 1-second tumbling window of timestamp ts.
func windowEnd(ts int64) int64 { return (ts/1000 + 1) * 1000 }

// windowCount is what the tiny window emits: the key's records with a
// timestamp below End, when the watermark passed End.
type windowCount struct {
	Key, End, Count int64
	Watermark       int64 // at the firing
	TimerTS         int64 // ctx.Timestamp() in OnTimer
}

// windowFn is a tiny tumbling event-time window: every record registers an
// event-time timer at the end of its window; the timer emits how many
// records of the key with a timestamp below the window's end it has seen.
type windowFn struct {
	seen stream.ListState[int64]
}

func (f *windowFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	f.seen, err = stream.NewListState[int64](ctx, "timestamps")
	return err
}

func (f *windowFn) ProcessElement(ctx *stream.Context[int64], e event, out stream.Collector[windowCount]) error {
	ts, ok := ctx.Timestamp()
	if !ok || ts != e.TS {
		return fmt.Errorf("record %d: Timestamp() = %d, %v", e.I, ts, ok)
	}
	if wm := ctx.CurrentWatermark(); ts <= wm {
		return fmt.Errorf("record %d at %d is late: the watermark is %d", e.I, ts, wm)
	}
	f.seen.Add(ts)
	ctx.RegisterEventTimeTimer(windowEnd(ts))
	return nil
}

func (f *windowFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[windowCount]) error {
	if ctx.TimeDomain() != stream.EventTime {
		return fmt.Errorf("a %v timer", ctx.TimeDomain())
	}
	end := t.UnixMilli()
	var n int64
	for _, ts := range f.seen.Get() {
		if ts < end {
			n++
		}
	}
	at, _ := ctx.Timestamp()
	out.Collect(windowCount{Key: ctx.Key(), End: end, Count: n, Watermark: ctx.CurrentWatermark(), TimerTS: at})
	return nil
}

// windowTotal sums the counts of all keys for one window end.
type windowTotal struct{ End, Total int64 }

// totalFn, keyed by window end, adds up the window counts of every key and
// emits the sum when the watermark passes the window's end: a second
// event-time stage, behind a shuffle, fed by timers of the first.
type totalFn struct {
	sum stream.ReducingState[int64]
}

func (f *totalFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	f.sum, err = stream.NewReducingState(ctx, "sum", func(a, b int64) int64 { return a + b })
	return err
}

func (f *totalFn) ProcessElement(ctx *stream.Context[int64], c windowCount, out stream.Collector[windowTotal]) error {
	ts, ok := ctx.Timestamp() // End, from WithTimestamps
	if !ok {
		return errors.New("no timestamp after WithTimestamps")
	}
	if wm := ctx.CurrentWatermark(); ts <= wm {
		return fmt.Errorf("window %d: a count came after the watermark %d", c.End, wm)
	}
	f.sum.Add(c.Count)
	ctx.RegisterEventTimeTimer(ts)
	return nil
}

func (f *totalFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[windowTotal]) error {
	s, _ := f.sum.Get()
	out.Collect(windowTotal{End: ctx.Key(), Total: s})
	return nil
}

func TestEventTimeWindowsMatchPlainGo(t *testing.T) {
	// Two source subtasks of half the records each. Subtask 0's event time
	// runs twice as fast as subtask 1's, and both are out of order by up
	// to bound: a consumer that took the maximum of its inputs' watermarks
	// rather than the minimum would fire windows before subtask 1's
	// records for them arrived.
	const (
		n     = 12_000
		half  = n / 2
		keys  = 6
		step  = 3   // ms of event time per record of subtask 1
		bound = 400 // ms out of order
	)
	gen := func(i int64) event {
		j, base := i, 2*i*step
		if i >= half {
			j = i - half
			base = j * step
		}
		jitter := (j*7919 + i*31) % bound
		return event{I: i, Key: (i * 13) % keys, TS: epoch + base - jitter}
	}
	// Plain Go: every (key, window) with a record fires once, counting the
	// key's records below the window's end.
	type kw struct{ key, end int64 }
	wantCounts := map[kw]int64{}
	wantTotals := map[int64]int64{}
	for i := range int64(n) {
		e := gen(i)
		wantCounts[kw{e.Key, windowEnd(e.TS)}] = 0
	}
	for w := range wantCounts {
		for i := range int64(n) {
			if e := gen(i); e.Key == w.key && e.TS < w.end {
				wantCounts[w]++
			}
		}
		wantTotals[w.end] += wantCounts[w]
	}

	env := stream.NewEnvironment().SetParallelism(2).SetAutoWatermarkInterval(5 * time.Millisecond)
	// About a second: some 200 watermarks per source subtask.
	src := stream.FromGeneratorAtRate(env, n, n, gen)
	events := stream.AssignTimestampsAndWatermarks(src, stream.ForBoundedOutOfOrderness(bound*time.Millisecond, eventTS))
	counts := stream.Process(stream.KeyBy(events, func(e event) int64 { return e.Key }), func() stream.KeyedProcessFunction[int64, event, windowCount] {
		return &windowFn{}
	}).Name("window")
	countsOut := stream.Collect(counts)
	// A chained stateless operator after the window passes the watermark
	// on. WithTimestamps stamps a count with the time of the timer that
	// emitted it: every watermark the window passed on before is below
	// it, so no count is late.
	again := stream.WithTimestamps(stream.Map(counts, func(c windowCount) windowCount { return c }), func(c windowCount) int64 { return c.End })
	totals := stream.Process(stream.KeyBy(again, func(c windowCount) int64 { return c.End }), func() stream.KeyedProcessFunction[int64, windowCount, windowTotal] {
		return &totalFn{}
	}).Name("total")
	totalsOut := stream.Collect(totals)
	res, err := env.Execute(testContext(t), "event-time-windows")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != jobmanager.StateFinished {
		t.Fatalf("job %s", res.State)
	}

	got := map[kw]int64{}
	early := 0 // fired by a watermark before the end of the input
	for _, c := range countsOut.Results() {
		w := kw{c.Key, c.End}
		if _, dup := got[w]; dup {
			t.Errorf("key %d window %d fired twice", c.Key, c.End)
		}
		got[w] = c.Count
		if c.Watermark < c.End || c.TimerTS != c.End {
			t.Errorf("key %d window %d fired at watermark %d, with timestamp %d", c.Key, c.End, c.Watermark, c.TimerTS)
		}
		if c.Watermark != math.MaxInt64 {
			early++
		}
	}
	if !maps.Equal(got, wantCounts) {
		for w, c := range wantCounts {
			if got[w] != c {
				t.Errorf("key %d window %d: %d records, want %d", w.key, w.end, got[w], c)
			}
		}
		t.Fatalf("%d windows fired, want %d", len(got), len(wantCounts))
	}
	gotTotals := map[int64]int64{}
	for _, s := range totalsOut.Results() {
		if _, dup := gotTotals[s.End]; dup {
			t.Errorf("window %d totalled twice", s.End)
		}
		gotTotals[s.End] = s.Total
	}
	if !maps.Equal(gotTotals, wantTotals) {
		t.Fatalf("totals\n got %v\nwant %v", gotTotals, wantTotals)
	}
	// The task's watermark follows the slower subtask 1, whose records
	// cover half of the windows: those fire as the watermarks pass them,
	// the others once subtask 1 has ended (by subtask 0's watermarks, or
	// at the end of the input if subtask 0 ends at about the same time).
	if early < len(wantCounts)/4 {
		t.Fatalf("only %d of %d windows fired before the end of the input", early, len(wantCounts))
	}
	t.Logf("%d windows, %d fired by watermarks before the end of the input", len(wantCounts), early)
}

// tickSource is unbounded. Subtask 0 emits a record per millisecond, with
// the wall clock as its event time; subtask 1 emits nothing until release
// is set, then does the same.
type tickSource struct{ release *atomic.Bool }

func (tickSource) Bounded() bool { return false }

func (s tickSource) Open(subtask, _ int) (stream.Reader[event], error) {
	return &tickReader{subtask: subtask, release: s.release}, nil
}

type tickReader struct {
	subtask int
	release *atomic.Bool
	i       int64
}

func (r *tickReader) Read(out stream.Collector[event]) (int, error) {
	time.Sleep(time.Millisecond)
	if r.subtask == 1 && !r.release.Load() {
		return 0, nil
	}
	now := time.Now().UnixMilli()
	out.Collect(event{I: r.i, Key: now % 4, TS: now})
	r.i++
	return 1, nil
}

func (r *tickReader) Close() error { return nil }

// firing is an event-time timer that fired.
type firing struct {
	Key, At, Watermark int64
}

// timerAtTSFn registers an event-time timer at each record's timestamp.
type timerAtTSFn struct{}

func (timerAtTSFn) Open(*stream.OpenContext[int64]) error { return nil }

func (timerAtTSFn) ProcessElement(ctx *stream.Context[int64], e event, out stream.Collector[firing]) error {
	ts, _ := ctx.Timestamp()
	ctx.RegisterEventTimeTimer(ts)
	return nil
}

func (timerAtTSFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[firing]) error {
	out.Collect(firing{Key: ctx.Key(), At: t.UnixMilli(), Watermark: ctx.CurrentWatermark()})
	return nil
}

func TestIdleSourceSubtaskHoldsBackWatermarksUnlessMarkedIdle(t *testing.T) {
	var release atomic.Bool
	env := stream.NewEnvironment().SetParallelism(2).SetAutoWatermarkInterval(5 * time.Millisecond)
	src := stream.FromSource(env, "Ticks", tickSource{release: &release})
	// The same records, through two watermark generators chained to the
	// source: one without idleness, one that declares a quiet subtask idle.
	held := stream.AssignTimestampsAndWatermarks(src, stream.ForMonotonousTimestamps(eventTS)).Name("no-idleness")
	freed := stream.AssignTimestampsAndWatermarks(src, stream.ForMonotonousTimestamps(eventTS).WithIdleness(20*time.Millisecond)).Name("idleness")
	timers := func(ds *stream.DataStream[event], name string) *stream.Collected[firing] {
		return stream.Collect(stream.Process(stream.KeyBy(ds, func(e event) int64 { return e.Key }),
			func() stream.KeyedProcessFunction[int64, event, firing] { return timerAtTSFn{} }).Name(name))
	}
	heldOut, freedOut := timers(held, "held"), timers(freed, "freed")
	client, err := env.ExecuteAsync(testContext(t), "idleness")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Subtask 1 is idle: the watermark of the "freed" branch follows
	// subtask 0 and its timers fire. Only idleness tells the branches
	// apart, so by the time 50 have fired there, the "held" branch would
	// have fired too if it did not wait for subtask 1.
	waitFor(t, 20*time.Second, "timers behind an idle subtask", func() bool { return freedOut.Len() >= 50 })
	if n := heldOut.Len(); n != 0 {
		t.Fatalf("%d timers fired while a source subtask without idleness had sent no watermark", n)
	}
	for _, f := range freedOut.Results() {
		if f.Watermark < f.At {
			t.Fatalf("timer %d fired at watermark %d", f.At, f.Watermark)
		}
	}
	// Once subtask 1 advances too, the held watermark moves.
	release.Store(true)
	waitFor(t, 20*time.Second, "timers once both subtasks advance", func() bool { return heldOut.Len() >= 10 })
	if err := client.Cancel(); err != nil {
		t.Fatal(err)
	}
	if st, err := client.Wait(testContext(t)); err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("after cancel: %s, %v", st.State, err)
	}
}

// stampedFn reports, per record, its timestamp and the watermark, and
// registers an event-time timer 5 ms after the record and a processing-time
// timer an hour away.
type stampedFn struct{}

type stamped struct {
	Kind      string
	V, TS, WM int64
	HasTS     bool
	Domain    stream.TimeDomain
	TimerAt   int64
	RecordTS  bool // in OnTimer: whether Context.Timestamp found a record
}

func (stampedFn) Open(*stream.OpenContext[int64]) error { return nil }

func (stampedFn) ProcessElement(ctx *stream.Context[int64], v int64, out stream.Collector[stamped]) error {
	ts, ok := ctx.Timestamp()
	out.Collect(stamped{Kind: "record", V: v, TS: ts, HasTS: ok, WM: ctx.CurrentWatermark()})
	if ok {
		ctx.RegisterEventTimeTimer(ts + 5)
		ctx.RegisterEventTimeTimer(ts + 6)
		ctx.DeleteEventTimeTimer(ts + 6)
	}
	ctx.RegisterProcessingTimeTimer(time.Now().Add(time.Hour))
	return nil
}

func (stampedFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[stamped]) error {
	ts, ok := ctx.Timestamp()
	_, rec := ctx.Context.Timestamp()
	out.Collect(stamped{Kind: "timer", V: ctx.Key(), TS: ts, HasTS: ok, WM: ctx.CurrentWatermark(), Domain: ctx.TimeDomain(), TimerAt: t.UnixMilli(), RecordTS: rec})
	return nil
}

func TestBoundedInputFiresEveryEventTimeTimer(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	nums := stream.FromSequence(env, 1, 300)
	withTS := stream.AssignTimestampsAndWatermarks(nums, stream.ForMonotonousTimestamps(func(v int64) int64 { return v * 10 }))
	withoutTS := stream.Map(nums, func(v int64) int64 { return v })
	newFn := func() stream.KeyedProcessFunction[int64, int64, stamped] { return stampedFn{} }
	byValue := func(v int64) int64 { return v }
	with := stream.Collect(stream.Process(stream.KeyBy(withTS, byValue), newFn))
	without := stream.Collect(stream.Process(stream.KeyBy(withoutTS, byValue), newFn))
	if _, err := env.Execute(testContext(t), "bounded-event-time"); err != nil {
		t.Fatal(err)
	}
	timers := map[int64]int{}
	for _, s := range with.Results() {
		switch s.Kind {
		case "record":
			if !s.HasTS || s.TS != s.V*10 || s.WM >= s.TS {
				t.Fatalf("record %+v: want timestamp %d above the watermark", s, s.V*10)
			}
		case "timer":
			if s.Domain != stream.EventTime {
				t.Fatalf("a %v timer fired: processing-time timers are dropped at the end of the input", s.Domain)
			}
			if !s.HasTS || s.TS != s.TimerAt || s.TimerAt != s.V*10+5 || s.WM < s.TimerAt || s.RecordTS {
				t.Fatalf("timer %+v", s)
			}
			timers[s.V]++
		}
	}
	for v := range int64(300) {
		if timers[v+1] != 1 {
			t.Fatalf("key %d: its event-time timer fired %d times, want once (all: %v)", v+1, timers[v+1], timers)
		}
	}
	// Without timestamps the function learns so; watermarks still come
	// (the source's end of input), so CurrentWatermark ends at the end of
	// time, and no timer was registered.
	for _, s := range without.Results() {
		if s.Kind != "record" || s.HasTS {
			t.Fatalf("without timestamps: %+v", s)
		}
	}
}

func TestEventTimePlanErrorsNameTheOperator(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	src := stream.FromSequence(env, 0, 10)
	ts := func(v int64) int64 { return v }
	stream.Collect(stream.AssignTimestampsAndWatermarks(src, stream.WatermarkStrategy[int64]{}).Name("zero-strategy"))
	stream.Collect(stream.AssignTimestampsAndWatermarks(src, stream.ForBoundedOutOfOrderness[int64](time.Second, nil)).Name("nil-extractor"))
	stream.Collect(stream.AssignTimestampsAndWatermarks(src, stream.ForMonotonousTimestamps(ts).WithIdleness(-time.Second)).Name("negative-idleness"))
	stream.Collect(stream.WithTimestamps(src, nil))
	env.SetAutoWatermarkInterval(0)
	_, err := env.Plan("bad-event-time")
	if !errors.Is(err, stream.ErrInvalidJob) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		`operator "zero-strategy": the watermark strategy has no timestamp function`,
		`operator "nil-extractor": the watermark strategy has no timestamp function`,
		`operator "negative-idleness": idleness -1s must not be negative`,
		"WithTimestamps: the timestamp function is nil",
		"auto-watermark interval 0s must be positive",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}

	// Zero or negative out-of-orderness is monotonous; zero idleness is none.
	env = stream.NewEnvironment().SetParallelism(1)
	stream.Collect(stream.AssignTimestampsAndWatermarks(stream.FromSequence(env, 0, 10), stream.ForBoundedOutOfOrderness(-time.Second, ts).WithIdleness(0)))
	if _, err := env.Plan("good-event-time"); err != nil {
		t.Fatal(err)
	}
}

// restoredRec is a record of the restore test: key I%50, event time I ms.
type restoredRec struct{ I, Key, TS int64 }

func genRestored(i int64) restoredRec { return restoredRec{I: i, Key: i % 50, TS: epoch + i} }

const restoreWindow = 100 // ms

// windowFire is one firing of restoreWindowFn.
type windowFire struct {
	Key, End, Count       int64
	RegisteredBy, FiredBy int64
	Fired                 []int64 // the key's window ends fired so far, in its state
}

// restoreWindowFn counts a key's records per 100 ms window. The first record
// of a window registers the window's timer and notes which instance did;
// the timer emits the count and appends the window to the key's list of
// fired windows, which is state too.
type restoreWindowFn struct {
	inst   int64
	counts stream.MapState[int64, int64]
	regBy  stream.MapState[int64, int64]
	fired  stream.ListState[int64]
}

func (f *restoreWindowFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	if f.counts, err = stream.NewMapState[int64, int64](ctx, "counts"); err != nil {
		return err
	}
	if f.regBy, err = stream.NewMapState[int64, int64](ctx, "registered-by"); err != nil {
		return err
	}
	f.fired, err = stream.NewListState[int64](ctx, "fired")
	return err
}

func (f *restoreWindowFn) ProcessElement(ctx *stream.Context[int64], r restoredRec, out stream.Collector[windowFire]) error {
	end := (r.TS/restoreWindow + 1) * restoreWindow
	c, _ := f.counts.Get(end)
	f.counts.Put(end, c+1)
	if _, ok := f.regBy.Get(end); !ok {
		f.regBy.Put(end, f.inst)
		ctx.RegisterEventTimeTimer(end)
	}
	return nil
}

func (f *restoreWindowFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[windowFire]) error {
	end := t.UnixMilli()
	c, _ := f.counts.Get(end)
	by, _ := f.regBy.Get(end)
	f.counts.Remove(end)
	f.regBy.Remove(end)
	f.fired.Add(end)
	out.Collect(windowFire{Key: ctx.Key(), End: end, Count: c, RegisteredBy: by, FiredBy: f.inst, Fired: slices.Clone(f.fired.Get())})
	return nil
}

func TestEventTimeTimersAreRestoredAfterAFailure(t *testing.T) {
	const n = 30_000
	type kw struct{ key, end int64 }
	want := map[kw]int64{}
	wantFired := map[int64][]int64{}
	for i := range int64(n) {
		r := genRestored(i)
		w := kw{r.Key, (r.TS/restoreWindow + 1) * restoreWindow}
		if want[w] == 0 {
			wantFired[r.Key] = append(wantFired[r.Key], w.end)
		}
		want[w]++
	}
	for _, ends := range wantFired {
		slices.Sort(ends)
	}
	var failed atomic.Bool
	var instances atomic.Int64
	env := stream.NewEnvironment().SetParallelism(2).SetAutoWatermarkInterval(10 * time.Millisecond).
		EnableCheckpointing(50 * time.Millisecond).
		SetRestartStrategy(restart.Config{Kind: restart.FixedDelay, Attempts: 2, Delay: 50 * time.Millisecond})
	// Two source subtasks reading [0, 15000) and [15000, 30000) at 20000
	// records/s in all: record 20000 comes half a second in. The task's
	// watermark is subtask 0's, far behind subtask 1's records, so every
	// checkpoint holds pending timers of subtask 1's windows; they fire
	// only once subtask 0 ends.
	src := stream.FromGeneratorAtRate(env, n, 20_000, genRestored)
	fragile := stream.Map(src, func(r restoredRec) restoredRec {
		if r.I == 20_000 && !failed.Swap(true) {
			panic("injected failure")
		}
		return r
	}).Name("fragile")
	stamped := stream.AssignTimestampsAndWatermarks(fragile, stream.ForMonotonousTimestamps(func(r restoredRec) int64 { return r.TS }))
	fires := stream.Process(stream.KeyBy(stamped, func(r restoredRec) int64 { return r.Key }), func() stream.KeyedProcessFunction[int64, restoredRec, windowFire] {
		return &restoreWindowFn{inst: instances.Add(1)}
	}).Name("windows")
	out := stream.Collect(fires)
	res, err := env.Execute(testContext(t), "event-time-restore")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != jobmanager.StateFinished || res.Restarts != 1 || !strings.Contains(res.Exceptions[0].Error, "injected failure") {
		t.Fatalf("job %s after %d restarts; exceptions %v", res.State, res.Restarts, res.Exceptions)
	}
	// The sink is not transactional: a window that fired after the last
	// checkpoint fires again after the restore, with the same count. But
	// in the state of the run that finished, every window fired exactly
	// once: the key's last firing lists each of its windows once.
	last := map[int64]windowFire{}
	restored := 0
	for _, f := range out.Results() {
		w := kw{f.Key, f.End}
		if f.Count != want[w] {
			t.Errorf("key %d window %d: count %d, want %d", f.Key, f.End, f.Count, want[w])
		}
		if prev, ok := last[f.Key]; !ok || f.End >= prev.End {
			last[f.Key] = f
		}
		// Registered by an instance of the first attempt, fired by one of
		// the second: the timer came through the checkpoint.
		if f.RegisteredBy != f.FiredBy {
			restored++
		}
	}
	if len(last) != len(wantFired) {
		t.Fatalf("%d keys fired, want %d", len(last), len(wantFired))
	}
	for k, ends := range wantFired {
		if got := last[k].Fired; !slices.Equal(got, ends) {
			extra, missing := diff(got, ends)
			t.Fatalf("key %d: the finished run fired %d windows, want %d; fired twice or extra %v, never %v", k, len(got), len(ends), extra, missing)
		}
	}
	if restored == 0 {
		t.Fatal("no event-time timer fired from restored state")
	}
	t.Logf("%d of %d windows fired from timers restored from a checkpoint", restored, len(want))
}

// diff returns what got has beyond want (including repeats), and what it
// lacks.
func diff(got, want []int64) (extra, missing []int64) {
	count := map[int64]int{}
	for _, v := range want {
		count[v]++
	}
	for _, v := range got {
		if count[v] == 0 {
			extra = append(extra, v)
		} else {
			count[v]--
		}
	}
	for v, c := range count {
		for range c {
			missing = append(missing, v)
		}
	}
	slices.SortFunc(missing, cmp.Compare)
	return extra, missing
}
