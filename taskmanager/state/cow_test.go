package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/sluicehq/sluice/stream/codec"
)

// twin drives a backend with the states of emptyBackend and keeps a
// plain-Go model of what they hold.
type twin struct {
	b     *Backend[int64]
	v     *Value[string]
	l     *List[int64]
	m     *Map[string, int64]
	model map[int64]view
}

func newTwin(t *testing.T, maxP int) *twin {
	t.Helper()
	b, err := NewBackend[int64](maxP, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := &twin{b: b, model: map[int64]view{}}
	w.v, _ = NewValue[string](b, "v")
	w.l, _ = NewList[int64](b, "l")
	w.m, _ = NewMap[string, int64](b, "m")
	return w
}

// op is one change of state; the same ops applied to two twins leave them
// equal.
type op struct {
	kind uint8
	key  int64
	x    int64
	xs   []int64
}

const opKinds = 10

// randomOps returns n ops on keys below keys, with new keys coming as it
// goes (keys below hot are touched most).
func randomOps(r *rand.Rand, n int, keys, hot int64) []op {
	ops := make([]op, n)
	for i := range ops {
		k := r.Int64N(keys)
		if r.IntN(4) != 0 {
			k = r.Int64N(hot)
		}
		o := op{kind: uint8(r.IntN(opKinds)), key: k, x: r.Int64N(50)}
		if o.kind == 4 {
			o.xs = make([]int64, r.IntN(5))
			for j := range o.xs {
				o.xs[j] = r.Int64()
			}
		}
		ops[i] = o
	}
	return ops
}

func (w *twin) apply(t *testing.T, ops []op) {
	for _, o := range ops {
		if err := w.b.SetCurrentKey(o.key); err != nil {
			t.Fatal(err)
		}
		cur := w.model[o.key]
		switch o.kind {
		case 0, 1:
			s := fmt.Sprint("v", o.key, ":", o.x)
			w.v.Set(s)
			cur.v = s
		case 2:
			w.v.Clear()
			cur.v = ""
		case 3, 9:
			w.l.Add(o.x)
			cur.l = append(slices.Clip(cur.l), o.x)
		case 4:
			w.l.Update(o.xs)
			cur.l = slices.Clone(o.xs)
		case 5:
			w.l.Clear()
			cur.l = nil
		case 6, 7:
			mk := fmt.Sprint("k", o.x%7)
			w.m.Put(mk, o.x)
			cur.m = maps.Clone(cur.m)
			if cur.m == nil {
				cur.m = map[string]int64{}
			}
			cur.m[mk] = o.x
		case 8:
			if o.x%5 == 0 {
				w.m.Clear()
				cur.m = nil
			} else {
				mk := fmt.Sprint("k", o.x%7)
				w.m.Remove(mk)
				cur.m = maps.Clone(cur.m)
				delete(cur.m, mk)
			}
		}
		if cur.v == "" && len(cur.l) == 0 && len(cur.m) == 0 {
			delete(w.model, o.key)
		} else {
			w.model[o.key] = cur
		}
	}
}

// snapshotModel returns a copy of the model, normalised like contents.
func (w *twin) snapshotModel() map[int64]view {
	out := make(map[int64]view, len(w.model))
	for k, v := range w.model {
		if v.m == nil {
			v.m = map[string]int64{}
		}
		out[k] = view{v.v, slices.Clone(v.l), maps.Clone(v.m)}
	}
	return out
}

// slowWriter hands its bytes over in small pieces, yielding in between, so
// that a write overlaps the owner's changes.
type slowWriter struct{ buf bytes.Buffer }

func (s *slowWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		n := min(len(p), 4096)
		s.buf.Write(p[:n])
		p = p[n:]
		runtime.Gosched()
	}
	return n, nil
}

// checkRestores restores data into a fresh backend and compares it with want.
func checkRestores(t *testing.T, data []byte, maxP int, want map[int64]view) {
	t.Helper()
	b := emptyBackend(t, maxP, 1, 0)
	if err := b.Restore(data); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, b); !viewsEqual(got, want) {
		t.Fatalf("restored snapshot holds %d keys, the model %d, or they differ", len(got), len(want))
	}
}

// TestFreezeIsTheStateAtTheFreeze takes snapshots of a backend that its
// owner goes on changing while another goroutine writes them, and compares
// them with a synchronous snapshot of a twin that stopped at the freeze,
// and with a plain-Go model of the state at that point.
func TestFreezeIsTheStateAtTheFreeze(t *testing.T) {
	smallFlushes(t)
	const maxP = 64
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			live, still := newTwin(t, maxP), newTwin(t, maxP)
			keys := int64(500)
			first := randomOps(r, 20000, keys, 200)
			live.apply(t, first)
			still.apply(t, first)
			for round := range 6 {
				f := live.b.Freeze()
				want, err := still.b.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				wantModel := still.snapshotModel()

				var got []byte
				var werr error
				var wg sync.WaitGroup
				wg.Go(func() {
					if round%2 == 0 {
						got, werr = f.Bytes()
						return
					}
					var w slowWriter
					var n int64
					n, werr = f.WriteTo(&w)
					got = w.buf.Bytes()
					if werr == nil && n != int64(len(got)) {
						werr = fmt.Errorf("WriteTo reported %d bytes of %d", n, len(got))
					}
				})
				// Heavy changes meanwhile, many to new keys.
				keys += 700
				ops := randomOps(r, 30000, keys, keys/3)
				live.apply(t, ops)
				wg.Wait()
				if werr != nil {
					t.Fatal(werr)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d: the frozen snapshot (%d bytes) is not the snapshot at the freeze (%d bytes)", round, len(got), len(want))
				}
				checkRestores(t, got, maxP, wantModel)
				if _, err := f.Bytes(); !errors.Is(err, ErrSnapshotReleased) {
					t.Fatalf("a second write: err = %v, want ErrSnapshotReleased", err)
				}
				// The live state took every change, none leaked into the
				// snapshot and none was lost.
				still.apply(t, ops)
				a, _ := live.b.Snapshot()
				b, _ := still.b.Snapshot()
				if !bytes.Equal(a, b) {
					t.Fatalf("round %d: the live state diverged from its twin", round)
				}
				checkRestores(t, a, maxP, live.snapshotModel())
			}
		})
	}
}

// TestAbortedSnapshotThenNew leaves a snapshot unwritten and unreleased, as
// an aborted checkpoint may; the next Freeze still gets the right bytes.
func TestAbortedSnapshotThenNew(t *testing.T) {
	const maxP = 32
	r := rand.New(rand.NewPCG(7, 7))
	live, still := newTwin(t, maxP), newTwin(t, maxP)
	ops := randomOps(r, 5000, 400, 400)
	live.apply(t, ops)
	still.apply(t, ops)

	aborted := live.b.Freeze()
	ops = randomOps(r, 5000, 900, 300)
	live.apply(t, ops)
	still.apply(t, ops)

	f := live.b.Freeze()
	if _, err := aborted.Bytes(); !errors.Is(err, ErrSnapshotReleased) {
		t.Fatalf("the superseded snapshot: err = %v, want ErrSnapshotReleased", err)
	}
	aborted.Release() // harmless
	want, _ := still.b.Snapshot()
	done := make(chan []byte)
	go func() {
		got, err := f.Bytes()
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	live.apply(t, randomOps(r, 20000, 1500, 1500))
	if got := <-done; !bytes.Equal(got, want) {
		t.Fatal("the snapshot after an aborted one has the wrong bytes")
	}
	if n := live.b.cursor.live.Load(); n != 0 {
		t.Fatalf("%d snapshots still live", n)
	}
}

// blockingWriter lets one write through, then blocks until released.
type blockingWriter struct {
	buf     bytes.Buffer
	started chan struct{}
	resume  chan struct{}
	once    sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	w.once.Do(func() {
		close(w.started)
		<-w.resume
	})
	return len(p), nil
}

// TestSnapshotsOverlap keeps a write under way while the owner changes the
// state, takes another snapshot and writes it: both are right.
func TestSnapshotsOverlap(t *testing.T) {
	smallFlushes(t)
	const maxP = 8 // few, big key groups: a write blocks between them
	r := rand.New(rand.NewPCG(3, 4))
	live, still := newTwin(t, maxP), newTwin(t, maxP)
	ops := randomOps(r, 60000, 20000, 20000)
	live.apply(t, ops)
	still.apply(t, ops)

	f1 := live.b.Freeze()
	want1, _ := still.b.Snapshot()
	w := &blockingWriter{started: make(chan struct{}), resume: make(chan struct{})}
	done := make(chan error)
	go func() {
		_, err := f1.WriteTo(w)
		done <- err
	}()
	<-w.started

	ops = randomOps(r, 30000, 25000, 25000)
	live.apply(t, ops)
	still.apply(t, ops)
	f2 := live.b.Freeze() // f1 is being written: it is not disturbed
	want2, _ := still.b.Snapshot()
	live.apply(t, randomOps(r, 30000, 30000, 30000))
	got2, err := f2.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	live.apply(t, randomOps(r, 30000, 30000, 30000))
	close(w.resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.buf.Bytes(), want1) {
		t.Fatal("the first snapshot changed under the second")
	}
	if !bytes.Equal(got2, want2) {
		t.Fatal("the second snapshot has the wrong bytes")
	}
}

// TestReleaseStopsCopying checks that a write stops when its snapshot is
// released, and that the backend then writes in place again.
func TestReleaseStopsCopying(t *testing.T) {
	smallFlushes(t)
	const maxP = 4
	r := rand.New(rand.NewPCG(5, 6))
	live := newTwin(t, maxP)
	live.apply(t, randomOps(r, 60000, 30000, 30000))
	before := live.b.EstimatedBytes()

	f := live.b.Freeze()
	w := &blockingWriter{started: make(chan struct{}), resume: make(chan struct{})}
	done := make(chan error)
	go func() {
		_, err := f.WriteTo(w)
		done <- err
	}()
	<-w.started
	// Rewrite every value: every page of v is copied once.
	for k := range live.b.Keys() {
		_ = live.b.SetCurrentKey(live.b.keys[k])
		live.v.Set("x")
	}
	grown := live.b.EstimatedBytes()
	pages := int64(len(live.v.pages)) * int64(sizeOf[valuePage[string]]())
	if grown < before+pages {
		t.Fatalf("estimate %d while a snapshot keeps %d bytes of copied pages alive, %d before", grown, pages, before)
	}
	f.Release()
	close(w.resume)
	if err := <-done; !errors.Is(err, ErrSnapshotReleased) {
		t.Fatalf("a write of a released snapshot: err = %v, want ErrSnapshotReleased", err)
	}
	if after := live.b.EstimatedBytes(); after >= grown {
		t.Fatalf("estimate %d did not drop from %d on release", after, grown)
	}
	f.Release() // again: harmless

	// No copy once released: a page keeps its identity across a write.
	p := live.v.pages[0]
	_ = live.b.SetCurrentKey(live.b.keys[0])
	live.v.Set("y")
	if live.v.pages[0] != p {
		t.Fatal("a page was copied with no snapshot live")
	}
	// The next Freeze copies again, once per page.
	f = live.b.Freeze()
	live.v.Set("z")
	if live.v.pages[0] == p {
		t.Fatal("a page shared with a snapshot was written in place")
	}
	q := live.v.pages[0]
	live.v.Set("w")
	if live.v.pages[0] != q {
		t.Fatal("a page was copied twice for one snapshot")
	}
	if _, err := f.WriteTo(io.Discard); err != nil {
		t.Fatal(err)
	}
}

func sizeOf[T any]() uintptr {
	var x T
	return unsafe.Sizeof(x)
}

// smallFlushes makes streaming writes encode a few key groups at a time
// and hand each over as it is done.
func smallFlushes(t *testing.T) {
	flush, window, share := flushBytes, windowBytes, windowShare
	flushBytes, windowBytes, windowShare = 1, 2000, 1<<40
	t.Cleanup(func() { flushBytes, windowBytes, windowShare = flush, window, share })
}

// TestListsShareArraysSafely appends to, updates and clears lists whose
// arrays a snapshot shares, with spare capacity.
func TestListsShareArraysSafely(t *testing.T) {
	b, _ := NewBackend[int64](4, 1, 0)
	l, _ := NewList[int64](b, "l")
	m, _ := NewMap[int64, int64](b, "m")
	for k := range int64(300) {
		_ = b.SetCurrentKey(k)
		for i := range 3 {
			l.Add(k + int64(i)) // len 3, cap 4 or more
			m.Put(int64(i), k)
		}
	}
	want, _ := b.Snapshot()
	f := b.Freeze()
	for k := range int64(300) {
		_ = b.SetCurrentKey(k)
		switch k % 4 {
		case 0:
			l.Add(-1)
			m.Put(9, 9)
		case 1:
			l.Update([]int64{7, 7, 7, 7, 7})
			m.Remove(0)
		case 2:
			l.Clear()
			l.Add(-2)
			m.Clear()
			m.Put(0, -2)
		case 3:
			l.Add(-3)
			l.Add(-3)
			m.Put(0, -3)
		}
	}
	got, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("changes after the freeze reached the snapshot")
	}
	_ = b.SetCurrentKey(3)
	if g := l.Get(); !slices.Equal(g, []int64{3, 4, 5, -3, -3}) {
		t.Fatalf("list of 3 = %v", g)
	}
	if v, _ := m.Get(0); v != -3 {
		t.Fatalf("map of 3 has 0 → %d", v)
	}
}

// TestRestoreWhileFrozen restores into a backend whose snapshot is being
// written.
func TestRestoreWhileFrozen(t *testing.T) {
	a := populate(t, 16, 2, 0, 2000)
	other := populate(t, 16, 2, 1, 2000)
	otherSnap, _ := other.Snapshot()
	want, _ := a.Snapshot()
	f := a.Freeze()
	done := make(chan []byte)
	go func() {
		got, err := f.Bytes()
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	// a owns key groups [0, 8): restoring other's snapshot, which has only
	// [8, 16), changes nothing; restoring a's own adds to every key.
	if err := a.Restore(otherSnap, want); err != nil {
		t.Fatal(err)
	}
	if got := <-done; !bytes.Equal(got, want) {
		t.Fatal("a restore reached the snapshot being written")
	}
}

// TestSnapshotIsCanonical: maps that are equal have the same bytes, however
// they were built.
func TestSnapshotIsCanonical(t *testing.T) {
	build := func(reverse bool) []byte {
		b, _ := NewBackend[string](8, 1, 0)
		m, _ := NewMap[string, int64](b, "m")
		for k := range 20 {
			_ = b.SetCurrentKey(fmt.Sprint("key", k))
			for i := range 50 {
				j := i
				if reverse {
					j = 49 - i
				}
				m.Put(fmt.Sprint("e", j), int64(j))
			}
			m.Remove("e7")
		}
		s, err := b.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := build(false)
	for range 5 {
		if !bytes.Equal(a, build(true)) {
			t.Fatal("equal maps have different snapshots")
		}
	}
}

// TestFrozenCodecError: a state without a codec fails the write, naming
// it, and the snapshot is released all the same.
func TestFrozenCodecError(t *testing.T) {
	b, _ := NewBackend[int64](8, 1, 0)
	v, _ := NewValue[func()](b, "fn")
	w, _ := NewValue[int64](b, "ok")
	_ = b.SetCurrentKey(1)
	w.Set(1)
	if _, err := b.Snapshot(); err != nil {
		t.Fatalf("no func is set, yet: %v", err)
	}
	v.Set(func() {})
	if _, err := b.Snapshot(); err == nil {
		t.Fatal("a func value was snapshotted")
	}
	f := b.Freeze()
	if _, err := f.WriteTo(io.Discard); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"fn"`)) {
		t.Fatalf("err = %v, want one naming state fn", err)
	}
	if n := b.cursor.live.Load(); n != 0 {
		t.Fatalf("%d snapshots live after a failed write", n)
	}
}

// TestEmptyBackendFreezes: no keys, no states.
func TestEmptyBackendFreezes(t *testing.T) {
	b, _ := NewBackend[string](8, 1, 0)
	want, _ := b.Snapshot()
	got, err := b.Freeze().Bytes()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	e := emptyBackend(t, 8, 1, 0)
	if err := e.Restore(got); err == nil {
		t.Fatal("a snapshot without states restored into one with three")
	}
}

// TestEncodingsAgree writes one state every way encode can: in place
// (Bytes), through group buffers, and streamed in windows of every size.
func TestEncodingsAgree(t *testing.T) {
	b := populate(t, 32, 1, 0, 3000)
	want, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	e, head, err := b.view().encoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.buffered([]byte("prefix"), head)
	if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("buffered encoding differs (err %v)", err)
	}
	for _, window := range []int{1, 300, 5000, 1 << 30} {
		flush, win, share := flushBytes, windowBytes, windowShare
		flushBytes, windowBytes, windowShare = 700, window, 1<<40
		var w bytes.Buffer
		_, err := b.Freeze().WriteTo(&w)
		flushBytes, windowBytes, windowShare = flush, win, share
		if err != nil || !bytes.Equal(w.Bytes(), want) {
			t.Fatalf("window %d: streamed encoding differs (err %v)", window, err)
		}
	}
}

// wobbly is a value whose codec never encodes it to the same length twice.
type wobbly int64

type wobblyCodec struct{ calls *atomic.Int64 }

func (c wobblyCodec) Append(buf []byte, v wobbly) []byte {
	pad := int(c.calls.Add(1) % 3)
	buf = append(buf, byte(pad))
	buf = append(buf, make([]byte, pad)...)
	return binary.AppendVarint(buf, int64(v))
}

func (wobblyCodec) Decode(buf []byte, v *wobbly) (int, error) {
	if len(buf) == 0 || int(buf[0]) >= len(buf) {
		return 0, codec.ErrTruncated
	}
	n := 1 + int(buf[0])
	x, m := binary.Varint(buf[n:])
	if m <= 0 {
		return 0, codec.ErrCorrupt
	}
	*v = wobbly(x)
	return n + m, nil
}

// TestCodecOfVaryingLength: Bytes encodes twice; a codec that does not
// give the same length twice makes it fall back to buffers.
func TestCodecOfVaryingLength(t *testing.T) {
	codec.Register[wobbly](wobblyCodec{calls: new(atomic.Int64)})
	t.Cleanup(func() { codec.Register[wobbly](nil) })
	b, _ := NewBackend[int64](16, 1, 0)
	v, _ := NewValue[wobbly](b, "w")
	for k := range int64(1000) {
		_ = b.SetCurrentKey(k)
		v.Set(wobbly(k * 3))
	}
	data, err := b.Freeze().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := NewBackend[int64](16, 1, 0)
	rv, _ := NewValue[wobbly](r, "w")
	if err := r.Restore(data); err != nil {
		t.Fatal(err)
	}
	for k := range int64(1000) {
		_ = r.SetCurrentKey(k)
		if got, ok := rv.Get(); !ok || got != wobbly(k*3) {
			t.Fatalf("key %d: %d, %v", k, got, ok)
		}
	}
}
