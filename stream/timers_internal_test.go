package stream

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/taskmanager/state"
)

func testBackend(t *testing.T, maxPar, par, subtask int) *keyedBackend[int64] {
	t.Helper()
	b, err := state.NewBackend[int64](maxPar, par, subtask)
	if err != nil {
		t.Fatal(err)
	}
	return &keyedBackend[int64]{Backend: b, op: "test"}
}

// drain pops every timer of q.
func drain[K comparable](q *timerQueue[K]) []timer[K] {
	var out []timer[K]
	for q.len() > 0 {
		out = append(out, q.pop().timer)
	}
	return out
}

func TestTimerQueueAgainstAModel(t *testing.T) {
	// The model: the set of queued timers with their registration order.
	type entry struct {
		timer[string]
		seq int
	}
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"a", "b", "c", "d", "e"}
	var q timerQueue[string]
	model := map[timer[string]]int{}
	seq := 0
	first := func() (entry, bool) {
		var es []entry
		for tm, s := range model {
			es = append(es, entry{tm, s})
		}
		if len(es) == 0 {
			return entry{}, false
		}
		return slices.MinFunc(es, func(a, b entry) int {
			return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
		}), true
	}
	for i := range 20_000 {
		tm := timer[string]{at: rng.Int64N(40), key: keys[rng.IntN(len(keys))]}
		switch op := rng.IntN(10); {
		case op < 5:
			_, dup := model[tm]
			if added := q.add(tm.key, tm.at); added == dup {
				t.Fatalf("step %d: add(%v) = %v with the timer queued: %v", i, tm, added, dup)
			}
			if !dup {
				model[tm] = seq
				seq++
			}
		case op < 8:
			_, queued := model[tm]
			if removed := q.remove(tm.key, tm.at); removed != queued {
				t.Fatalf("step %d: remove(%v) = %v, queued %v", i, tm, removed, queued)
			}
			delete(model, tm)
		default:
			want, ok := first()
			got, gotOK := q.peek()
			if ok != gotOK || got.timer != want.timer {
				t.Fatalf("step %d: peek = %v, %v; want %v, %v", i, got.timer, gotOK, want.timer, ok)
			}
			if ok {
				if p := q.pop(); p.timer != want.timer {
					t.Fatalf("step %d: pop = %v, want %v", i, p.timer, want.timer)
				}
				delete(model, want.timer)
			}
		}
		if q.len() != len(model) || len(q.index) != len(model) {
			t.Fatalf("step %d: queue holds %d (index %d), model %d", i, q.len(), len(q.index), len(model))
		}
	}
	// What is left comes out in time order, ties in registration order.
	var want []timer[string]
	for len(model) > 0 {
		e, _ := first()
		want = append(want, e.timer)
		delete(model, e.timer)
	}
	if got := drain(&q); !slices.Equal(got, want) {
		t.Fatalf("drained\n %v\nwant\n %v", got, want)
	}
}

func TestTimerQueueDedupeDeleteAndOrder(t *testing.T) {
	var q timerQueue[string]
	for _, r := range []struct {
		key string
		at  int64
		new bool
	}{{"x", 30, true}, {"y", 10, true}, {"x", 10, true}, {"x", 30, false}, {"z", 20, true}, {"y", 10, false}, {"z", 5, true}} {
		if got := q.add(r.key, r.at); got != r.new {
			t.Fatalf("add(%s, %d) = %v, want %v", r.key, r.at, got, r.new)
		}
	}
	if !q.remove("z", 20) || q.remove("z", 20) || q.remove("nobody", 10) {
		t.Fatal("remove: a queued timer is removed once, others not at all")
	}
	want := []timer[string]{{5, "z"}, {10, "y"}, {10, "x"}, {30, "x"}}
	if got := drain(&q); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if len(q.index) != 0 {
		t.Fatalf("index keeps %d entries", len(q.index))
	}
}

func TestTimerServiceKeepsStateAndQueueInStep(t *testing.T) {
	b := testBackend(t, 128, 1, 0)
	s, err := newTimerService(b)
	if err != nil {
		t.Fatal(err)
	}
	b.setKey(7)
	s.register(ProcessingTime, 300)
	s.register(ProcessingTime, 100)
	s.register(ProcessingTime, 100) // a duplicate
	s.register(ProcessingTime, 200)
	s.delete(ProcessingTime, 200)
	if set, _ := s.store.Get(); set.key != 7 || !slices.Equal(set.at[ProcessingTime], []int64{100, 300}) {
		t.Fatalf("state %+v", set)
	}
	// A timer that registers another due timer: the new one waits for the
	// next call, so that a call always ends.
	var fired []int64
	onTimer := func(at int64) error {
		fired = append(fired, at)
		if b.CurrentKey() != 7 {
			t.Fatalf("fired with key %d", b.CurrentKey())
		}
		if at == 100 {
			s.register(ProcessingTime, 150)
		}
		return nil
	}
	if err := s.fire(ProcessingTime, 200, onTimer); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fired, []int64{100}) {
		t.Fatalf("first call fired %v", fired)
	}
	if next, _ := s.next(ProcessingTime); next != 150 {
		t.Fatalf("next timer %d, want 150", next)
	}
	if err := s.fire(ProcessingTime, 1000, onTimer); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fired, []int64{100, 150, 300}) {
		t.Fatalf("fired %v", fired)
	}
	b.setKey(7)
	if _, ok := s.store.Get(); ok {
		t.Fatal("fired timers are still in the state")
	}
	if _, ok := s.next(ProcessingTime); ok {
		t.Fatal("queue not empty")
	}
	// An error from the callback stops the firing.
	s.register(ProcessingTime, 1)
	if err := s.fire(ProcessingTime, 1, func(int64) error { return errors.New("no") }); err == nil {
		t.Fatal("error lost")
	}
}

// timerRig is one subtask of a keyed operator with a user state and timers.
type timerRig struct {
	b     *keyedBackend[int64]
	count *state.Value[int64]
	s     *timerService[int64]
}

func newTimerRig(t *testing.T, par, subtask int) *timerRig {
	b := testBackend(t, 128, par, subtask)
	count, err := newValue[int64](b, "count")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newTimerService(b)
	if err != nil {
		t.Fatal(err)
	}
	return &timerRig{b: b, count: count, s: s}
}

func TestTimersRestoreAtAnotherParallelism(t *testing.T) {
	old := []*timerRig{newTimerRig(t, 2, 0), newTimerRig(t, 2, 1)}
	owner := func(k int64) *timerRig {
		for _, o := range old {
			if o.b.SetCurrentKey(k) == nil {
				return o
			}
		}
		t.Fatalf("no subtask owns key %d", k)
		return nil
	}
	type fired struct{ key, at int64 }
	var want []fired
	for k := range int64(300) {
		r := owner(k)
		r.count.Set(k * 3)
		r.s.register(ProcessingTime, 1000+k%50)
		r.s.register(ProcessingTime, 2000+k)
		r.s.register(ProcessingTime, 3000)
		want = append(want, fired{k, 1000 + k%50}, fired{k, 2000 + k}, fired{k, 3000})
		if k%2 == 0 {
			r.s.delete(ProcessingTime, 3000)
			want = want[:len(want)-1]
		}
	}
	// Keys with every timer fired before the snapshot are not restored.
	r0 := owner(0)
	r0.s.delete(ProcessingTime, 1000)
	r0.s.delete(ProcessingTime, 2000)
	want = slices.DeleteFunc(want, func(f fired) bool { return f.key == 0 })
	var snaps [][]byte
	for _, o := range old {
		data, err := o.b.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, data)
	}
	var got []fired
	for sub := range 3 {
		r := newTimerRig(t, 3, sub)
		if err := r.s.restore(snaps); err != nil {
			t.Fatal(err)
		}
		var mine []fired
		err := r.s.fire(ProcessingTime, 1<<62, func(at int64) error {
			k := r.b.CurrentKey()
			if c, _ := r.count.Get(); c != 3*k {
				t.Fatalf("key %d: the state read while its timer fires is %d", k, c)
			}
			mine = append(mine, fired{k, at})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) == 0 {
			t.Fatalf("subtask %d restored no timers", sub)
		}
		if !slices.IsSortedFunc(mine, func(a, b fired) int { return cmp.Compare(a.at, b.at) }) {
			t.Fatalf("subtask %d fired out of order: %v", sub, mine)
		}
		got = append(got, mine...)
	}
	order := func(a, b fired) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.at, b.at)) }
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	if !slices.Equal(got, want) {
		t.Fatalf("after rescaling 2 -> 3 the subtasks fired %d timers, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

func TestTimerSetRejectsMalformedInput(t *testing.T) {
	good, _ := timerSet[int64]{key: 5, at: [numDomains][]int64{{1, 2}, nil}}.AppendBinary(nil)
	var s timerSet[int64]
	if err := s.UnmarshalBinary(good); err != nil || s.key != 5 || !slices.Equal(s.at[0], []int64{1, 2}) {
		t.Fatalf("round trip: %+v, %v", s, err)
	}
	bad := [][]byte{nil, {9}, good[:len(good)-1], append(slices.Clone(good), 0)}
	unsorted, _ := timerSet[int64]{key: 5, at: [numDomains][]int64{{2, 1}, nil}}.AppendBinary(nil)
	bad = append(bad, unsorted)
	for i, data := range bad {
		if err := s.UnmarshalBinary(data); err == nil {
			t.Errorf("input %d (%x) decoded", i, data)
		}
	}
}

func TestReducingAndAggregatingStateRestore(t *testing.T) {
	open := func(b *keyedBackend[int64]) (ReducingState[int64], AggregatingState[int64, avgAcc, float64]) {
		ctx := &OpenContext[int64]{b: b}
		r, err := NewReducingState(ctx, "max", func(a, v int64) int64 { return max(a, v) })
		if err != nil {
			t.Fatal(err)
		}
		a, err := NewAggregatingState[int64, avgAcc, float64](ctx, "avg", avg{})
		if err != nil {
			t.Fatal(err)
		}
		return r, a
	}
	b := testBackend(t, 128, 1, 0)
	r, a := open(b)
	for i := range int64(100) {
		b.setKey(i % 7)
		r.Add(i * (i % 3))
		a.Add(i)
	}
	data, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b2 := testBackend(t, 128, 1, 0)
	r2, a2 := open(b2)
	if err := b2.Restore(data); err != nil {
		t.Fatal(err)
	}
	for k := range int64(7) {
		b.setKey(k)
		b2.setKey(k)
		m, _ := r.Get()
		m2, ok := r2.Get()
		v, _ := a.Get()
		v2, ok2 := a2.Get()
		if !ok || !ok2 || m != m2 || v != v2 {
			t.Fatalf("key %d: max %d, %v restored as %d; average %v, %v restored as %v", k, m, ok, m2, v, ok2, v2)
		}
	}
	b2.setKey(3)
	r2.Clear()
	a2.Clear()
	if _, ok := r2.Get(); ok {
		t.Fatal("reducing state set after Clear")
	}
	if _, ok := a2.Get(); ok {
		t.Fatal("aggregating state set after Clear")
	}
}

type avgAcc struct{ Sum, N int64 }

type avg struct{}

func (avg) CreateAccumulator() avgAcc      { return avgAcc{} }
func (avg) Add(v int64, acc avgAcc) avgAcc { return avgAcc{acc.Sum + v, acc.N + 1} }
func (avg) GetResult(acc avgAcc) float64   { return float64(acc.Sum) / float64(acc.N) }

func TestReservedStateNames(t *testing.T) {
	ctx := &OpenContext[int64]{b: testBackend(t, 128, 1, 0)}
	if _, err := NewValueState[int](ctx, "_timers"); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewReducingState(ctx, "_x", func(a, b int) int { return a }); err == nil {
		t.Fatal("a reducing state took a reserved name")
	}
}
