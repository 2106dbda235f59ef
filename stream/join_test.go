package stream_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// joinRec is a record of either input of the join tests.
type joinRec struct{ Side, I, Key, TS int64 }

func joinTS(r joinRec) int64  { return r.TS }
func joinKey(r joinRec) int64 { return r.Key }

// joinPair is a joined pair: the indexes of its two records.
type joinPair struct{ A, B int64 }

func pairOf(a, b joinRec) joinPair { return joinPair{a.I, b.I} }

const joinBound = 30 // ms out of order, within a source subtask

// genJoin returns the generator of one input: record i at step ms per
// record, out of order by less than joinBound, with a pseudo-random key.
func genJoin(side, step, keys int64) func(int64) joinRec {
	return func(i int64) joinRec {
		h := uint64(i*2654435761+side*40503) ^ uint64(i)>>3
		jitter := int64(h % joinBound)
		return joinRec{Side: side, I: i, Key: int64(h>>8) % keys, TS: epoch + i*step - jitter}
	}
}

func sortedPairs(ps []joinPair) []joinPair {
	slices.SortFunc(ps, func(x, y joinPair) int { return cmp.Or(cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B)) })
	return ps
}

// nestedLoopJoin is the interval join in plain Go: every pair of records
// with equal keys, compared one by one.
func nestedLoopJoin(as, bs []joinRec, lo, hi int64) []joinPair {
	byKey := map[int64][]joinRec{}
	for _, b := range bs {
		byKey[b.Key] = append(byKey[b.Key], b)
	}
	var out []joinPair
	for _, a := range as {
		for _, b := range byKey[a.Key] {
			if b.TS >= a.TS+lo && b.TS <= a.TS+hi {
				out = append(out, joinPair{a.I, b.I})
			}
		}
	}
	return sortedPairs(out)
}

func TestIntervalJoinMatchesANestedLoop(t *testing.T) {
	const nA, nB, keys = 6000, 4000, 13
	genA, genB := genJoin(1, 2, keys), genJoin(2, 3, keys)
	var as, bs []joinRec
	for i := range int64(nA) {
		as = append(as, genA(i))
	}
	for i := range int64(nB) {
		bs = append(bs, genB(i))
	}
	type variant struct {
		name         string
		lower, upper time.Duration
		opts         []stream.IntervalJoinOption
		lo, hi       int64 // the bounds as inclusive milliseconds
	}
	variants := []variant{
		{name: "around", lower: -7 * time.Millisecond, upper: 12 * time.Millisecond, lo: -7, hi: 12},
		{name: "exclusive", lower: -5 * time.Millisecond, upper: 5 * time.Millisecond,
			opts: []stream.IntervalJoinOption{stream.LowerBoundExclusive(), stream.UpperBoundExclusive()}, lo: -4, hi: 4},
		{name: "before", lower: -40 * time.Millisecond, upper: -25 * time.Millisecond, lo: -40, hi: -25},
		{name: "after", lower: 50 * time.Millisecond, upper: 90 * time.Millisecond, lo: 50, hi: 90},
		{name: "equal", lo: 0, hi: 0},
	}
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p).SetAutoWatermarkInterval(time.Millisecond)
			// Paced, so that many watermarks pass while records come and
			// the buffers are cleaned up as the join goes.
			a := stream.AssignTimestampsAndWatermarks(stream.FromGeneratorAtRate(env, nA, 30_000, genA),
				stream.ForBoundedOutOfOrderness(joinBound*time.Millisecond, joinTS))
			b := stream.AssignTimestampsAndWatermarks(stream.FromGeneratorAtRate(env, nB, 20_000, genB),
				stream.ForBoundedOutOfOrderness(joinBound*time.Millisecond, joinTS))
			outs := make([]*stream.Collected[joinPair], len(variants))
			for i, v := range variants {
				outs[i] = stream.Collect(stream.IntervalJoin(stream.KeyBy(a, joinKey), stream.KeyBy(b, joinKey),
					v.lower, v.upper, pairOf, v.opts...).Name("join-" + v.name))
			}
			if _, err := env.Execute(testContext(t), "interval-join"); err != nil {
				t.Fatal(err)
			}
			for i, v := range variants {
				want := nestedLoopJoin(as, bs, v.lo, v.hi)
				if len(want) < 100 {
					t.Fatalf("%s: only %d pairs in plain Go: the test would prove little", v.name, len(want))
				}
				got := sortedPairs(outs[i].Results())
				if !slices.Equal(got, want) {
					t.Errorf("%s: %d pairs, want %d", v.name, len(got), len(want))
				}
			}
		})
	}
}

// windowGroup is what the co-group test emits per key and window.
type windowGroup struct {
	Start, End, Key int64
	As, Bs          []int64 // the records' indexes, sorted
}

func (g windowGroup) String() string {
	return fmt.Sprintf("[%d, %d) key %d: %v %v", g.Start-epoch, g.End-epoch, g.Key, g.As, g.Bs)
}

// plainWindows returns the starts of the windows of size every slide that
// hold ts, aligned to the epoch.
func plainWindows(ts, size, slide int64) []int64 {
	var starts []int64
	first := ts - ((ts%slide)+slide)%slide
	for start := first; start > ts-size; start -= slide {
		starts = append(starts, start)
	}
	return starts
}

// plainWindowGroups is the co-group of as and bs per key and window in
// plain Go.
func plainWindowGroups(as, bs []joinRec, size, slide int64) map[string]windowGroup {
	type kw struct{ key, start int64 }
	groups := map[kw]*windowGroup{}
	get := func(key, start int64) *windowGroup {
		g := groups[kw{key, start}]
		if g == nil {
			g = &windowGroup{Start: start, End: start + size, Key: key}
			groups[kw{key, start}] = g
		}
		return g
	}
	for _, a := range as {
		for _, start := range plainWindows(a.TS, size, slide) {
			g := get(a.Key, start)
			g.As = append(g.As, a.I)
		}
	}
	for _, b := range bs {
		for _, start := range plainWindows(b.TS, size, slide) {
			g := get(b.Key, start)
			g.Bs = append(g.Bs, b.I)
		}
	}
	out := map[string]windowGroup{}
	for _, g := range groups {
		slices.Sort(g.As)
		slices.Sort(g.Bs)
		out[g.String()] = *g
	}
	return out
}

func TestWindowJoinAndCoGroupMatchPlainGo(t *testing.T) {
	const nA, nB, keys = 6000, 4000, 13
	genA, genB := genJoin(1, 2, keys), genJoin(2, 3, keys)
	var as, bs []joinRec
	for i := range int64(nA) {
		as = append(as, genA(i))
	}
	for i := range int64(nB) {
		bs = append(bs, genB(i))
	}
	type variant struct {
		name        string
		assigner    stream.WindowAssigner
		size, slide int64
	}
	variants := []variant{
		{"tumbling", stream.TumblingEventTimeWindows(50 * time.Millisecond), 50, 50},
		{"sliding", stream.SlidingEventTimeWindows(60*time.Millisecond, 20*time.Millisecond), 60, 20},
	}
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p).SetAutoWatermarkInterval(time.Millisecond)
			a := stream.AssignTimestampsAndWatermarks(stream.FromGeneratorAtRate(env, nA, 30_000, genA),
				stream.ForBoundedOutOfOrderness(joinBound*time.Millisecond, joinTS))
			b := stream.AssignTimestampsAndWatermarks(stream.FromGeneratorAtRate(env, nB, 20_000, genB),
				stream.ForBoundedOutOfOrderness(joinBound*time.Millisecond, joinTS))
			joins := make([]*stream.Collected[joinPair], len(variants))
			groups := make([]*stream.Collected[windowGroup], len(variants))
			for i, v := range variants {
				joins[i] = stream.Collect(stream.JoinWindow(stream.KeyBy(a, joinKey), stream.KeyBy(b, joinKey), v.assigner, pairOf))
				groups[i] = stream.Collect(stream.CoGroupWindow(stream.KeyBy(a, joinKey), stream.KeyBy(b, joinKey), v.assigner,
					func(w stream.TimeWindow, as []joinRec, bs []joinRec, out stream.Collector[windowGroup]) {
						g := windowGroup{Start: w.Start, End: w.End}
						for _, r := range as {
							g.Key = r.Key
							g.As = append(g.As, r.I)
						}
						for _, r := range bs {
							g.Key = r.Key
							g.Bs = append(g.Bs, r.I)
						}
						slices.Sort(g.As)
						slices.Sort(g.Bs)
						out.Collect(g)
					}))
			}
			if _, err := env.Execute(testContext(t), "window-join"); err != nil {
				t.Fatal(err)
			}
			for i, v := range variants {
				wantGroups := plainWindowGroups(as, bs, v.size, v.slide)
				var wantPairs []joinPair
				for _, g := range wantGroups {
					for _, x := range g.As {
						for _, y := range g.Bs {
							wantPairs = append(wantPairs, joinPair{x, y})
						}
					}
				}
				wantPairs = sortedPairs(wantPairs)
				if len(wantPairs) < 100 {
					t.Fatalf("%s: only %d pairs in plain Go: the test would prove little", v.name, len(wantPairs))
				}
				if got := sortedPairs(joins[i].Results()); !slices.Equal(got, wantPairs) {
					t.Errorf("%s join: %d pairs, want %d", v.name, len(got), len(wantPairs))
				}
				got := map[string]windowGroup{}
				for _, g := range groups[i].Results() {
					if _, dup := got[g.String()]; dup {
						t.Fatalf("%s: %v fired twice", v.name, g)
					}
					got[g.String()] = g
				}
				if len(got) != len(wantGroups) {
					t.Errorf("%s co-group: %d groups, want %d", v.name, len(got), len(wantGroups))
				}
				for k := range wantGroups {
					if _, ok := got[k]; !ok {
						t.Errorf("%s co-group: missing %s", v.name, k)
						break
					}
				}
			}
		})
	}
}

func TestWindowJoinPlanErrorsNameTheOperator(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	src := stream.FromGenerator(env, 10, genJoin(1, 2, 3))
	a := stream.AssignTimestampsAndWatermarks(src, stream.ForMonotonousTimestamps(joinTS))
	b := stream.Filter(a, func(joinRec) bool { return true })
	noTS := stream.Map(src, func(r joinRec) joinRec { return r })
	ka, kb := stream.KeyBy(a, joinKey), stream.KeyBy(b, joinKey)
	stream.Collect(stream.JoinWindow(ka, kb, stream.EventTimeSessionWindows(time.Second), pairOf).Name("sessions"))
	stream.Collect(stream.JoinWindow(ka, kb, stream.TumblingProcessingTimeWindows(time.Second), pairOf).Name("processing-time"))
	stream.Collect(stream.JoinWindow(ka, kb, stream.TumblingEventTimeWindows(-time.Second), pairOf).Name("negative"))
	stream.Collect(stream.JoinWindow(ka, kb, nil, pairOf).Name("no-assigner"))
	stream.Collect(stream.JoinWindow[int64, joinRec, joinRec, joinPair](ka, kb, stream.TumblingEventTimeWindows(time.Second), nil).Name("nil-fn"))
	stream.Collect(stream.CoGroupWindow(stream.KeyBy(noTS, joinKey), kb, stream.TumblingEventTimeWindows(time.Second),
		func(stream.TimeWindow, []joinRec, []joinRec, stream.Collector[int64]) {}).Name("no-ts"))
	_, err := env.Plan("bad-window-joins")
	if err == nil {
		t.Fatal("planned")
	}
	for _, want := range []string{
		`operator "sessions": a window join takes tumbling or sliding event-time windows, not EventTimeSessionWindows(1s)`,
		`operator "processing-time": a window join takes tumbling or sliding event-time windows, not TumblingProcessingTimeWindows(1s)`,
		`operator "negative": window size -1s must be positive`,
		`operator "no-assigner": no window assigner`,
		`operator "nil-fn": the join function is nil`,
		`operator "no-ts": its first input has records without a timestamp where one is required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}
