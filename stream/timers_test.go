package stream_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/stream"
)

// statsFn keeps, per key, the largest value in a reducing state and the
// mean in an aggregating state, and emits both after every record.
type statsFn struct {
	max  stream.ReducingState[int64]
	mean stream.AggregatingState[int64, meanAcc, float64]
}

type meanAcc struct{ Sum, N int64 }

type mean struct{}

func (mean) CreateAccumulator() meanAcc       { return meanAcc{} }
func (mean) Add(v int64, acc meanAcc) meanAcc { return meanAcc{acc.Sum + v, acc.N + 1} }
func (mean) GetResult(acc meanAcc) float64    { return float64(acc.Sum) / float64(acc.N) }

func newStatsFn() stream.KeyedProcessFunction[int64, kv, keyStats] { return &statsFn{} }

type keyStats struct {
	Key, Max, N int64
	Mean        float64
}

func (f *statsFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	if f.max, err = stream.NewReducingState(ctx, "max", func(a, b int64) int64 { return max(a, b) }); err != nil {
		return err
	}
	f.mean, err = stream.NewAggregatingState[int64, meanAcc, float64](ctx, "mean", mean{})
	return err
}

func (f *statsFn) ProcessElement(ctx *stream.Context[int64], r kv, out stream.Collector[keyStats]) error {
	// A value that depends on i, not only on the key, so that the maximum
	// is not the first value.
	f.max.Add(r.Value)
	f.mean.Add(r.Value)
	m, _ := f.max.Get()
	avg, _ := f.mean.Get()
	out.Collect(keyStats{Key: ctx.Key(), Max: m, Mean: avg})
	return nil
}

func TestReducingAndAggregatingStateMatchPlainGo(t *testing.T) {
	const n = 40_000
	gen := func(i int64) kv { return kv{Key: (i * 7919) % 97, Value: (i*31)%1009 - 500} }
	maxes, sums, counts := map[int64]int64{}, map[int64]int64{}, map[int64]int64{}
	for i := range int64(n) {
		r := gen(i)
		if c := counts[r.Key]; c == 0 || r.Value > maxes[r.Key] {
			maxes[r.Key] = r.Value
		}
		sums[r.Key] += r.Value
		counts[r.Key]++
	}
	want := map[int64]keyStats{}
	for k := range counts {
		want[k] = keyStats{Key: k, Max: maxes[k], N: counts[k], Mean: mean{}.GetResult(meanAcc{sums[k], counts[k]})}
	}
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			src := stream.FromGenerator(env, n, gen)
			stats := stream.Process(stream.KeyBy(src, func(r kv) int64 { return r.Key }), newStatsFn)
			out := stream.Collect(stats)
			if _, err := env.Execute(testContext(t), "reducing-aggregating"); err != nil {
				t.Fatal(err)
			}
			// Max and mean do not depend on the order of a key's records:
			// the last result of a key, its n-th, is its total.
			got := map[int64]keyStats{}
			for _, s := range out.Results() {
				s.N = got[s.Key].N + 1
				got[s.Key] = s
			}
			if !maps.Equal(got, want) {
				t.Fatalf("results differ from plain Go:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// group is a record of the paced source: group g's records all have key g.
type group struct {
	Key  int64
	Last bool // the group's last record
}

// groupSource emits one group of records every gap, all of a group in one
// Read (so in one batch downstream), then idles: an unbounded source.
type groupSource struct {
	groups int
	gap    time.Duration
}

func groupSize(g int64) int64 { return g%4 + 2 }

func (groupSource) Bounded() bool { return false }

func (s groupSource) Open(int, int) (stream.Reader[group], error) {
	return &groupReader{src: s, start: time.Now()}, nil
}

type groupReader struct {
	src   groupSource
	start time.Time
	next  int64
}

func (r *groupReader) Read(out stream.Collector[group]) (int, error) {
	if r.next >= int64(r.src.groups) {
		time.Sleep(time.Millisecond) // idle; a Read may block briefly
		return 0, nil
	}
	if wait := time.Until(r.start.Add(time.Duration(r.next) * r.src.gap)); wait > 0 {
		time.Sleep(min(wait, 5*time.Millisecond)) // pacing
		return 0, nil
	}
	g := r.next
	for i := range groupSize(g) {
		out.Collect(group{Key: g, Last: i == groupSize(g)-1})
	}
	r.next++
	return int(groupSize(g)), nil
}

func (r *groupReader) Close() error { return nil }

// countLaterFn emits a key's record count 50 ms after its first record. Every
// record registers that timer again, which must not make it fire twice; the
// first also registers a decoy timer that the last deletes.
type countLaterFn struct {
	subtask int
	count   stream.ValueState[int64]
	due     stream.ValueState[time.Time]
}

const countDelay = 50 * time.Millisecond

type fired struct {
	Key, Count, Subtask int64
	At, FiredAt         time.Time
	Domain              stream.TimeDomain
}

func (f *countLaterFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	f.subtask = ctx.Subtask()
	if f.count, err = stream.NewValueState[int64](ctx, "count"); err != nil {
		return err
	}
	f.due, err = stream.NewValueState[time.Time](ctx, "due")
	return err
}

func (f *countLaterFn) ProcessElement(ctx *stream.Context[int64], g group, out stream.Collector[fired]) error {
	c, _ := f.count.Get()
	f.count.Set(c + 1)
	due, ok := f.due.Get()
	if !ok {
		due = ctx.CurrentProcessingTime().Add(countDelay)
		f.due.Set(due)
		ctx.RegisterProcessingTimeTimer(due.Add(-countDelay / 2))
	}
	ctx.RegisterProcessingTimeTimer(due)
	if g.Last {
		ctx.DeleteProcessingTimeTimer(due.Add(-countDelay / 2))
	}
	return nil
}

func (f *countLaterFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[fired]) error {
	c, _ := f.count.Get()
	out.Collect(fired{Key: ctx.Key(), Count: c, Subtask: int64(f.subtask), At: t, FiredAt: time.Now(), Domain: ctx.TimeDomain()})
	return nil
}

func TestProcessingTimeTimersFireOncePerKeyInOrder(t *testing.T) {
	const groups = 40
	env := stream.NewEnvironment().SetParallelism(2)
	src := stream.FromSource(env, "Groups", groupSource{groups: groups, gap: 3 * time.Millisecond}).SetParallelism(1)
	counts := stream.Process(stream.KeyBy(src, func(g group) int64 { return g.Key }), func() stream.KeyedProcessFunction[int64, group, fired] {
		return &countLaterFn{}
	}).Name("count-later")
	out := stream.Collect(counts)
	client, err := env.ExecuteAsync(testContext(t), "timers")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// The source never ends: only the timers can produce output.
	waitFor(t, 20*time.Second, "a timer per key", func() bool { return out.Len() >= groups })
	if err := client.Cancel(); err != nil {
		t.Fatal(err)
	}
	if st, err := client.Wait(testContext(t)); err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("after cancel: %s, %v", st.State, err)
	}
	res := out.Results()
	perKey := map[int64]int{}
	lastAt := map[int64]time.Time{} // per subtask
	for _, r := range res {
		perKey[r.Key]++
		if r.Count != groupSize(r.Key) {
			t.Errorf("key %d: the timer saw %d records, want %d", r.Key, r.Count, groupSize(r.Key))
		}
		if r.FiredAt.Before(r.At) {
			t.Errorf("key %d: timer for %v fired early, at %v", r.Key, r.At, r.FiredAt)
		}
		if r.Domain != stream.ProcessingTime {
			t.Errorf("key %d: domain %v", r.Key, r.Domain)
		}
		if r.At.Before(lastAt[r.Subtask]) {
			t.Errorf("subtask %d fired %v after %v", r.Subtask, r.At, lastAt[r.Subtask])
		}
		lastAt[r.Subtask] = r.At
	}
	for k := range int64(groups) {
		if perKey[k] != 1 {
			t.Errorf("key %d fired %d times, want once", k, perKey[k])
		}
	}
	if len(perKey) != groups || len(lastAt) != 2 {
		t.Errorf("timers fired for %d keys on %d subtasks: %v", len(perKey), len(lastAt), res)
	}
}

// burst is a record of the exactly-once timer test: key I/burstLen gets
// burstLen consecutive records, the last one marked.
type burst struct {
	I, Key, Value int64
	Last          bool
}

const burstLen = 100

func genBurst(n int64) func(i int64) burst {
	return func(i int64) burst {
		if i >= n {
			return burst{I: i, Key: -1} // padding: the source goes on
		}
		return burst{I: i, Key: i / burstLen, Value: i%13 - 6, Last: i%burstLen == burstLen-1}
	}
}

// sumLaterFn sums a key's values and, at the key's last record, registers a
// timer that emits the sum later: long enough later that checkpoints are
// taken while timers are pending.
type sumLaterFn struct {
	inst  int64 // which instance: attempts build new ones
	sum   stream.ReducingState[int64]
	regBy stream.ValueState[int64]
}

type keySum struct {
	Key, Sum              int64
	RegisteredBy, FiredBy int64
}

const sumDelay = 300 * time.Millisecond

func (f *sumLaterFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	if f.sum, err = stream.NewReducingState(ctx, "sum", func(a, b int64) int64 { return a + b }); err != nil {
		return err
	}
	f.regBy, err = stream.NewValueState[int64](ctx, "registered-by")
	return err
}

func (f *sumLaterFn) ProcessElement(ctx *stream.Context[int64], r burst, out stream.Collector[keySum]) error {
	f.sum.Add(r.Value)
	if r.Last {
		f.regBy.Set(f.inst)
		ctx.RegisterProcessingTimeTimer(ctx.CurrentProcessingTime().Add(sumDelay))
	}
	return nil
}

func (f *sumLaterFn) OnTimer(ctx *stream.TimerContext[int64], _ time.Time, out stream.Collector[keySum]) error {
	s, _ := f.sum.Get()
	by, _ := f.regBy.Get()
	out.Collect(keySum{Key: ctx.Key(), Sum: s, RegisteredBy: by, FiredBy: f.inst})
	return nil
}

func TestTimersAreRestoredAfterAFailure(t *testing.T) {
	const n = 30_000
	gen := genBurst(n)
	want := map[int64]int64{}
	for i := range int64(n) {
		r := gen(i)
		want[r.Key] += r.Value
	}
	var failed atomic.Bool
	var instances atomic.Int64
	env := stream.NewEnvironment().SetParallelism(2).
		EnableCheckpointing(50 * time.Millisecond).
		SetRestartStrategy(restart.Config{Kind: restart.FixedDelay, Attempts: 2, Delay: 50 * time.Millisecond})
	// One subtask up to the KeyBy, so that a key's records reach its Process
	// subtask in order and the last comes last. The source is unbounded (padding
	// after the data) because timers pending when the input ends are
	// dropped; at 20000 records/s, record 20000 comes a second in.
	src := stream.FromGeneratorAtRate(env, -1, 20_000, gen).SetParallelism(1)
	fragile := stream.Map(src, func(r burst) burst {
		if r.I == 20_000 && !failed.Swap(true) {
			panic("injected failure")
		}
		return r
	}).Name("fragile").SetParallelism(1)
	data := stream.Filter(fragile, func(r burst) bool { return r.Key >= 0 }).SetParallelism(1)
	sums := stream.Process(stream.KeyBy(data, func(r burst) int64 { return r.Key }), func() stream.KeyedProcessFunction[int64, burst, keySum] {
		return &sumLaterFn{inst: instances.Add(1)}
	}).Name("sum-later")
	out := stream.Collect(sums)
	client, err := env.ExecuteAsync(testContext(t), "timers-exactly-once")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	seen := func() map[int64]bool {
		keys := map[int64]bool{}
		for _, r := range out.Results() {
			keys[r.Key] = true
		}
		return keys
	}
	waitFor(t, 30*time.Second, "a timer for every key", func() bool { return len(seen()) == len(want) })
	if err := client.Cancel(); err != nil {
		t.Fatal(err)
	}
	st, err := client.Wait(testContext(t))
	if err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("after cancel: %s, %v", st.State, err)
	}
	if st.Restarts != 1 || !strings.Contains(st.Exceptions[0].Error, "injected failure") {
		t.Fatalf("%d restarts, exceptions %v", st.Restarts, st.Exceptions)
	}
	// The sink is not transactional: a timer that fired after the last
	// checkpoint fires again after the restore. But every sum must be the
	// key's total: a record lost or counted twice would show.
	restored := 0
	for _, r := range out.Results() {
		if r.Sum != want[r.Key] {
			t.Errorf("key %d: sum %d, want %d (registered by instance %d, fired by %d)", r.Key, r.Sum, want[r.Key], r.RegisteredBy, r.FiredBy)
		}
		// Registered by an instance of the first attempt and fired by
		// one of the second: the timer came through the checkpoint.
		if r.RegisteredBy != r.FiredBy {
			restored++
		}
	}
	if keys := seen(); !maps.Equal(keys, maps.Collect(func(yield func(int64, bool) bool) {
		for k := range want {
			if !yield(k, true) {
				return
			}
		}
	})) {
		t.Fatalf("keys with a sum: %v", slices.Sorted(maps.Keys(keys)))
	}
	if restored == 0 {
		t.Fatal("no timer fired from restored state")
	}
	t.Logf("%d of %d keys' timers fired from restored state", restored, len(want))
}

// tickFn registers a timer due at once for every record.
type tickFn struct{}

func (f *tickFn) Open(*stream.OpenContext[int64]) error { return nil }

func (f *tickFn) ProcessElement(ctx *stream.Context[int64], v int64, out stream.Collector[int64]) error {
	ctx.RegisterProcessingTimeTimer(ctx.CurrentProcessingTime())
	return nil
}

func (f *tickFn) OnTimer(ctx *stream.TimerContext[int64], t time.Time, out stream.Collector[int64]) error {
	out.Collect(ctx.Key())
	panic("timer exploded")
}

// noTimerFn registers a timer but has no OnTimer.
type noTimerFn struct{}

func (noTimerFn) Open(*stream.OpenContext[int64]) error { return nil }

func (noTimerFn) ProcessElement(ctx *stream.Context[int64], v int64, out stream.Collector[int64]) error {
	ctx.RegisterProcessingTimeTimer(time.Now())
	return nil
}

func TestTimerFailuresNameTheOperator(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	ticks := stream.Process(stream.KeyBy(stream.UnboundedSequence(env, 0, 1000), func(v int64) int64 { return v % 3 }),
		func() stream.KeyedProcessFunction[int64, int64, int64] { return &tickFn{} }).Name("ticker")
	stream.Collect(stream.Map(ticks, func(v int64) int64 { return v }).Name("after-ticker"))
	_, err := env.Execute(testContext(t), "timer-panic")
	if err == nil || !strings.Contains(err.Error(), `operator "ticker" panicked: timer exploded`) {
		t.Fatalf("err = %v", err)
	}

	env = stream.NewEnvironment().SetParallelism(1)
	stream.Collect(stream.Process(stream.KeyBy(stream.FromSequence(env, 0, 10), func(v int64) int64 { return v }),
		func() stream.KeyedProcessFunction[int64, int64, int64] { return noTimerFn{} }).Name("no-handler"))
	_, err = env.Execute(testContext(t), "no-handler")
	if err == nil || !strings.Contains(err.Error(), `operator "no-handler" failed`) || !strings.Contains(err.Error(), "TimerHandler") {
		t.Fatalf("err = %v", err)
	}
}
