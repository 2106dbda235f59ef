package stream

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// jrec is a record of either side of the join rigs.
type jrec struct{ Side, I, Key, TS int64 }

// jpair is a joined pair, by record index.
type jpair struct{ A, B int64 }

func jpairs(ps []jpair) []jpair {
	slices.SortFunc(ps, func(x, y jpair) int { return cmp.Or(cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B)) })
	return ps
}

// gather is an input[T] that keeps what it is pushed.
type gather[T any] struct{ got []T }

func (g *gather[T]) push(recs []T) { g.got = append(g.got, recs...) }

// coRig runs one subtask of a keyed co-process operator as its task would,
// without a task: records pushed to either input, watermarks, snapshots.
type coRig[OUT any] struct {
	op  *coProcessOp[int64, jrec, jrec, OUT]
	out *gather[OUT]
}

func newCoRig[OUT any](t *testing.T, ds *DataStream[OUT]) *coRig[OUT] {
	t.Helper()
	out := &gather[OUT]{}
	cs := &chainState{names: []string{ds.op.name}}
	built, err := ds.op.build(&opContext{chain: cs, name: ds.op.name, parallelism: 1, maxPar: 128, env: ds.env}, out)
	if err != nil {
		t.Fatal(err)
	}
	cs.ops = []any{built}
	return &coRig[OUT]{op: built.(*coProcessOp[int64, jrec, jrec, OUT]), out: out}
}

func (r *coRig[OUT]) record(x jrec) {
	if x.Side == 1 {
		r.op.input1().push([]jrec{x})
	} else {
		r.op.input2().push([]jrec{x})
	}
}

func (r *coRig[OUT]) watermark(t *testing.T, wm int64) {
	t.Helper()
	if _, err := r.op.watermark(wm); err != nil {
		t.Fatal(err)
	}
}

// joinInputs returns the two keyed inputs of a join under test, with
// timestamps.
func joinInputs() (*KeyedStream[int64, jrec], *KeyedStream[int64, jrec]) {
	env := NewEnvironment().SetParallelism(1)
	src := FromGenerator(env, 1, func(int64) jrec { return jrec{} })
	a := AssignTimestampsAndWatermarks(src, ForMonotonousTimestamps(func(r jrec) int64 { return r.TS }))
	b := Filter(a, func(jrec) bool { return true })
	key := func(r jrec) int64 { return r.Key }
	return KeyBy(a, key), KeyBy(b, key)
}

// step is one input of a random run: a record or, if wm is set, a
// watermark.
type step struct {
	rec jrec
	wm  *int64
}

// randomSteps makes records of both sides, out of order by up to 60 ms
// while the watermark trails the highest timestamp by 30 ms, so that some
// records are late, with a watermark every few records.
func randomSteps(seed uint64, n int) []step {
	rng := rand.New(rand.NewPCG(seed, 7))
	var steps []step
	now, highest := int64(10_000), int64(math.MinInt64)
	for i := range int64(n) {
		now += rng.Int64N(4)
		r := jrec{Side: 1 + rng.Int64N(2), I: i, Key: rng.Int64N(5), TS: now - rng.Int64N(60)}
		highest = max(highest, r.TS)
		steps = append(steps, step{rec: r})
		if rng.IntN(8) == 0 {
			wm := highest - 31
			steps = append(steps, step{wm: &wm})
		}
	}
	end := int64(math.MaxInt64)
	return append(steps, step{wm: &end})
}

// frozenBytes writes out a frozen snapshot.
func frozenBytes[OUT any](t *testing.T, r *coRig[OUT]) func() []byte {
	t.Helper()
	data, frozen, err := r.op.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if data != nil {
		return func() []byte { return data }
	}
	return func() []byte {
		var buf bytes.Buffer
		if _, err := frozen.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
}

// runWithRestore runs steps through a fresh operator of ds, snapshots it
// (copy-on-write) before step cut and writes the snapshot out only some
// steps later, then restores a second operator from it that runs the
// steps from cut on, as a job restarted from that checkpoint would (with
// the last watermark before cut replayed). check is called after every
// watermark. It returns the output of each run: the whole first run, and
// the first run's output before cut followed by the second's.
func runWithRestore[OUT any](t *testing.T, ds func() *DataStream[OUT], steps []step, cut int, check func(r *coRig[OUT], wm int64)) (first, restored []OUT) {
	t.Helper()
	r := newCoRig(t, ds())
	var write func() []byte
	var snap []byte
	var atCut int
	lastWM := int64(math.MinInt64)
	var wmAtCut int64
	for i, s := range steps {
		if i == cut {
			write, atCut, wmAtCut = frozenBytes(t, r), len(r.out.got), lastWM
		}
		if i == cut+50 {
			snap = write()
		}
		if s.wm != nil {
			r.watermark(t, *s.wm)
			lastWM = *s.wm
			check(r, *s.wm)
		} else {
			r.record(s.rec)
		}
	}
	if snap == nil {
		t.Fatal("no snapshot taken")
	}
	again := newCoRig(t, ds())
	if err := again.op.restore([][]byte{snap}); err != nil {
		t.Fatal(err)
	}
	again.out.got = slices.Clone(r.out.got[:atCut])
	again.watermark(t, wmAtCut)
	for _, s := range steps[cut:] {
		if s.wm != nil {
			again.watermark(t, *s.wm)
			check(again, *s.wm)
		} else {
			again.record(s.rec)
		}
	}
	return r.out.got, again.out.got
}

// keysOf returns the keys with state in r's backend.
func keysOf[OUT any](r *coRig[OUT]) []int64 { return slices.Collect(r.op.b.AllKeys()) }

func TestIntervalJoinDropsLateRecordsAndCleansUpAgainstAModel(t *testing.T) {
	for _, bounds := range [][2]int64{{-7, 12}, {0, 0}, {-40, -25}, {15, 45}} {
		lo, hi := bounds[0], bounds[1]
		t.Run(fmt.Sprintf("[%d,%d]", lo, hi), func(t *testing.T) {
			steps := randomSteps(uint64(100+lo), 4000)
			// The model: a record at or below the watermark when it comes is
			// late and dropped; every pair of the others within the bounds
			// joins.
			var kept []jrec
			wm, late := int64(math.MinInt64), 0
			for _, s := range steps {
				switch {
				case s.wm != nil:
					wm = *s.wm
				case s.rec.TS <= wm:
					late++
				default:
					kept = append(kept, s.rec)
				}
			}
			var want []jpair
			for _, a := range kept {
				for _, b := range kept {
					if a.Side == 1 && b.Side == 2 && a.Key == b.Key && b.TS >= a.TS+lo && b.TS <= a.TS+hi {
						want = append(want, jpair{a.I, b.I})
					}
				}
			}
			want = jpairs(want)
			if late < 20 || len(want) < 50 {
				t.Fatalf("%d late records, %d pairs: the test would prove little", late, len(want))
			}
			ds := func() *DataStream[jpair] {
				a, b := joinInputs()
				return IntervalJoin(a, b, time.Duration(lo)*time.Millisecond, time.Duration(hi)*time.Millisecond,
					func(x, y jrec) jpair { return jpair{x.I, y.I} })
			}
			maxHeld := 0
			// After each watermark, the buffers hold only records that may
			// still join: cleanup time above the watermark.
			check := func(r *coRig[jpair], wm int64) {
				f := r.op.fn.(*intervalJoinFn[int64, jrec, jrec, jpair])
				held := 0
				for _, k := range keysOf(r) {
					r.op.b.setKey(k)
					for ts, recs := range f.left.All() {
						if ts+max(hi, 0) <= wm {
							t.Fatalf("watermark %d: key %d keeps left records at %d", wm, k, ts)
						}
						held += len(recs)
					}
					for ts, recs := range f.right.All() {
						if ts+max(-lo, 0) <= wm {
							t.Fatalf("watermark %d: key %d keeps right records at %d", wm, k, ts)
						}
						held += len(recs)
					}
				}
				if wm == math.MaxInt64 && held > 0 {
					t.Fatalf("%d records held at the end of time", held)
				}
				maxHeld = max(maxHeld, held)
			}
			first, restored := runWithRestore(t, ds, steps, len(steps)/2, check)
			if got := jpairs(first); !slices.Equal(got, want) {
				t.Fatalf("%d pairs, want %d", len(got), len(want))
			}
			if got := jpairs(restored); !slices.Equal(got, want) {
				t.Fatalf("after a restore: %d pairs, want %d", len(got), len(want))
			}
			if maxHeld > len(kept)/4 {
				t.Fatalf("up to %d of %d records held at once: the buffers are not cleaned up", maxHeld, len(kept))
			}
			t.Logf("%d records (%d late), %d pairs, at most %d held", len(kept)+late, late, len(want), maxHeld)
		})
	}
}

func TestWindowJoinPurgesFiredWindowsAgainstAModel(t *testing.T) {
	for _, v := range []struct {
		name        string
		assigner    WindowAssigner
		size, slide int64
	}{
		{"tumbling", TumblingEventTimeWindows(50 * time.Millisecond), 50, 50},
		{"sliding", SlidingEventTimeWindows(60*time.Millisecond, 20*time.Millisecond), 60, 20},
		{"offset", TumblingEventTimeWindows(50 * time.Millisecond).WithOffset(7 * time.Millisecond), 50, 50},
	} {
		t.Run(v.name, func(t *testing.T) {
			steps := randomSteps(7, 4000)
			win, err := v.assigner.windowing()
			if err != nil {
				t.Fatal(err)
			}
			// The model: a record goes to those of its windows whose
			// MaxTimestamp is above the watermark when it comes; a window
			// joins what it got.
			type kw struct {
				key int64
				w   TimeWindow
			}
			groups := map[kw][2][]int64{}
			wm, late := int64(math.MinInt64), 0
			for _, s := range steps {
				if s.wm != nil {
					wm = *s.wm
					continue
				}
				for _, w := range win.assign(s.rec.TS, nil) {
					if w.End-1 > wm {
						g := groups[kw{s.rec.Key, w}]
						g[s.rec.Side-1] = append(g[s.rec.Side-1], s.rec.I)
						groups[kw{s.rec.Key, w}] = g
					} else {
						late++ // too late for this window
					}
				}
			}
			var want []jpair
			for _, g := range groups {
				for _, x := range g[0] {
					for _, y := range g[1] {
						want = append(want, jpair{x, y})
					}
				}
			}
			want = jpairs(want)
			if late < 20 || len(want) < 100 {
				t.Fatalf("%d records too late for a window, %d pairs: the test would prove little", late, len(want))
			}
			ds := func() *DataStream[jpair] {
				a, b := joinInputs()
				return JoinWindow(a, b, v.assigner, func(x, y jrec) jpair { return jpair{x.I, y.I} })
			}
			check := func(r *coRig[jpair], wm int64) {
				f := r.op.fn.(*windowJoinFn[int64, jrec, jrec, jpair])
				for _, k := range keysOf(r) {
					r.op.b.setKey(k)
					for w := range f.left.All() {
						if w.MaxTimestamp() <= wm {
							t.Fatalf("watermark %d: key %d keeps the left side of fired window %v", wm, k, w)
						}
					}
					for w := range f.right.All() {
						if w.MaxTimestamp() <= wm {
							t.Fatalf("watermark %d: key %d keeps the right side of fired window %v", wm, k, w)
						}
					}
				}
			}
			first, restored := runWithRestore(t, ds, steps, len(steps)/3, check)
			if got := jpairs(first); !slices.Equal(got, want) {
				t.Fatalf("%d pairs, want %d", len(got), len(want))
			}
			if got := jpairs(restored); !slices.Equal(got, want) {
				t.Fatalf("after a restore: %d pairs, want %d", len(got), len(want))
			}
		})
	}
}

// TestTwoInputChainDecodesEachInputWithItsType builds the task of a
// two-input operator as a TaskManager does and feeds it frames from the
// network (as remote channels deliver them) and batches from local
// channels, on the channels of each input.
func TestTwoInputChainDecodesEachInputWithItsType(t *testing.T) {
	env := NewEnvironment().SetParallelism(2)
	nums := FromSequence(env, 1, 10)
	words := FromSlice(env, []string{"x"})
	out := Collect(CoMap(Connect(nums, words), func(v int64) string { return fmt.Sprint("n", v) }, func(s string) string { return "w" + s }).Name("co"))
	g, err := env.Plan("decode")
	if err != nil {
		t.Fatal(err)
	}
	tasks, edges := g.Tasks()
	d := &task.Deployment{}
	for _, tk := range tasks {
		if tk.Name == "co -> Collect" {
			d.Task = tk
		}
	}
	if d.Task.ID == "" {
		t.Fatalf("no co-map task in %+v", tasks)
	}
	d.Graph = g
	for _, e := range edges {
		if e.TargetTask == d.Task.ID {
			d.Inputs = append(d.Inputs, e)
		}
	}
	chain, err := env.NewChain(d, nopIO{})
	if err != nil {
		t.Fatal(err)
	}
	// Forward edges: channel 0 is the numbers', channel 1 the words'.
	numCodec, wordCodec := codec.MustFor[int64](), codec.MustFor[string]()
	frame := func(data []byte) *network.Buffer { return &network.Buffer{Batch: &network.Frame{Data: data}} }
	b := frame(numCodec.Append(nil, 7))
	b.Channel = 0
	chain.Process(b)
	b = frame(wordCodec.Append(nil, "yz"))
	b.Channel = 1
	chain.Process(b)
	local := []string{"local"}
	chain.Process(&network.Buffer{Channel: 1, Batch: &local})
	nl := []int64{8, 9}
	chain.Process(&network.Buffer{Channel: 0, Batch: &nl})
	chain.Flush()
	if got := out.Results(); !slices.Equal(got, []string{"n7", "wyz", "wlocal", "n8", "n9"}) {
		t.Fatalf("got %v", got)
	}
	if err := chain.Close(); err != nil {
		t.Fatal(err)
	}
}

// nopIO is the task.IO of a chain without outputs.
type nopIO struct{}

func (nopIO) Done() <-chan struct{} { return nil }
func (nopIO) Outputs(jobgraph.TaskEdge) ([]task.Output, error) {
	return nil, errors.New("no outputs")
}
func (nopIO) Stats() *task.Stats   { return &task.Stats{} }
func (nopIO) Logger() *slog.Logger { return nil }
