package state

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/taskmanager/keygroup"
)

// populate builds the states of one subtask: for every key it owns out of
// keys 0..n-1, a value, a list and a map derived from the key.
func populate(t *testing.T, maxP, par, sub, n int) *Backend[int64] {
	t.Helper()
	b, err := NewBackend[int64](maxP, par, sub)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewValue[string](b, "v")
	l, _ := NewList[int64](b, "l")
	m, _ := NewMap[string, int64](b, "m")
	h, _ := keygroup.NewHasher[int64]()
	start, end := b.KeyGroupRange()
	for k := range int64(n) {
		kg := keygroup.Of(h(k), maxP)
		if kg < start || kg >= end {
			continue
		}
		_ = b.SetCurrentKey(k)
		if k%3 != 0 {
			v.Set(fmt.Sprint("v", k))
		}
		for i := range k % 4 {
			l.Add(k*10 + i)
		}
		if k%2 == 0 {
			m.Put(fmt.Sprint("a", k), k)
			m.Put("b", -k)
		}
	}
	return b
}

type view struct {
	v string
	l []int64
	m map[string]int64
}

func contents(t *testing.T, b *Backend[int64]) map[int64]view {
	t.Helper()
	var v *Value[string]
	var l *List[int64]
	var m *Map[string, int64]
	for _, tb := range b.tables {
		switch x := tb.(type) {
		case *Value[string]:
			v = x
		case *List[int64]:
			l = x
		case *Map[string, int64]:
			m = x
		}
	}
	out := map[int64]view{}
	for _, k := range b.keys {
		_ = b.SetCurrentKey(k)
		val, _ := v.Get()
		mm := map[string]int64{}
		for a, c := range m.All() {
			mm[a] = c
		}
		if val == "" && len(l.Get()) == 0 && len(mm) == 0 {
			continue
		}
		out[k] = view{val, slices.Clone(l.Get()), mm}
	}
	return out
}

func viewsEqual(a, b map[int64]view) bool {
	return maps.EqualFunc(a, b, func(x, y view) bool {
		return x.v == y.v && slices.Equal(x.l, y.l) && maps.Equal(x.m, y.m)
	})
}

func emptyBackend(t *testing.T, maxP, par, sub int) *Backend[int64] {
	t.Helper()
	b, _ := NewBackend[int64](maxP, par, sub)
	NewValue[string](b, "v")
	NewList[int64](b, "l")
	NewMap[string, int64](b, "m")
	return b
}

func TestSnapshotRestoreAtAnotherParallelism(t *testing.T) {
	const maxP, n = 32, 500
	// State written by 3 subtasks...
	var snaps [][]byte
	want := map[int64]view{}
	for sub := range 3 {
		b := populate(t, maxP, 3, sub, n)
		maps.Copy(want, contents(t, b))
		s, err := b.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	// ...is restored by 2, then by 5: each gets exactly its key groups.
	for _, par := range []int{2, 5, 1} {
		got := map[int64]view{}
		for sub := range par {
			b := emptyBackend(t, maxP, par, sub)
			if err := b.Restore(snaps...); err != nil {
				t.Fatalf("parallelism %d subtask %d: %v", par, sub, err)
			}
			for k, v := range contents(t, b) {
				if _, dup := got[k]; dup {
					t.Fatalf("key %d restored twice", k)
				}
				got[k] = v
			}
		}
		if !viewsEqual(got, want) {
			t.Fatalf("parallelism %d: restored state differs (%d keys, want %d)", par, len(got), len(want))
		}
	}
}

func TestRestoreRefusesWhatDoesNotFit(t *testing.T) {
	b := populate(t, 16, 1, 0, 50)
	snap, _ := b.Snapshot()
	cases := []struct {
		name string
		data []byte
		into func() *Backend[int64]
		want error
	}{
		{"not a snapshot", []byte("hello world"), func() *Backend[int64] { return emptyBackend(t, 16, 1, 0) }, ErrSnapshotFormat},
		{"future version", append([]byte("SLKS\x09"), snap[5:]...), func() *Backend[int64] { return emptyBackend(t, 16, 1, 0) }, ErrSnapshotVersion},
		{"other max parallelism", snap, func() *Backend[int64] { return emptyBackend(t, 32, 1, 0) }, ErrSnapshotState},
		{"missing state", snap, func() *Backend[int64] {
			b, _ := NewBackend[int64](16, 1, 0)
			NewValue[string](b, "v")
			return b
		}, ErrSnapshotState},
		{"kind changed", snap, func() *Backend[int64] {
			b, _ := NewBackend[int64](16, 1, 0)
			NewValue[string](b, "v")
			NewValue[int64](b, "l")
			NewMap[string, int64](b, "m")
			return b
		}, ErrSnapshotState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.into().Restore(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Every truncation is an error, never a panic.
	for i := range len(snap) - 1 {
		if err := emptyBackend(t, 16, 1, 0).Restore(snap[:i]); err == nil {
			t.Fatalf("a snapshot truncated to %d of %d bytes restored", i, len(snap))
		}
	}
}

func FuzzRestore(f *testing.F) {
	b := populate(&testing.T{}, 8, 1, 0, 30)
	snap, _ := b.Snapshot()
	f.Add(snap)
	f.Add([]byte("SLKS\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = emptyBackend(t, 8, 1, 0).Restore(data) // must not panic
	})
}
