package state

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/taskmanager/keygroup"
)

func TestStatesFollowTheCurrentKey(t *testing.T) {
	b, err := NewBackend[string](128, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewValue[int](b, "v")
	l, _ := NewList[string](b, "l")
	m, _ := NewMap[string, int](b, "m")

	// A plain-Go model of the same operations.
	wantV := map[string]int{}
	wantL := map[string][]string{}
	wantM := map[string]map[string]int{}
	keys := []string{"a", "b", "c", "a", "d", "b", "a"}
	for i, k := range keys {
		if err := b.SetCurrentKey(k); err != nil {
			t.Fatal(err)
		}
		old, ok := v.Get()
		if w, wok := wantV[k]; ok != wok || old != w {
			t.Fatalf("step %d key %s: Get = %d,%v want %d,%v", i, k, old, ok, w, wok)
		}
		v.Set(old + i)
		wantV[k] = old + i
		l.Add(k + "x")
		wantL[k] = append(wantL[k], k+"x")
		m.Put(k, i)
		if wantM[k] == nil {
			wantM[k] = map[string]int{}
		}
		wantM[k][k] = i
	}
	for k := range wantV {
		_ = b.SetCurrentKey(k)
		if got, _ := v.Get(); got != wantV[k] {
			t.Errorf("value of %s = %d want %d", k, got, wantV[k])
		}
		if got := l.Get(); !slices.Equal(got, wantL[k]) {
			t.Errorf("list of %s = %v want %v", k, got, wantL[k])
		}
		got := map[string]int{}
		for mk, mv := range m.All() {
			got[mk] = mv
		}
		if !maps.Equal(got, wantM[k]) {
			t.Errorf("map of %s = %v want %v", k, got, wantM[k])
		}
	}
	_ = b.SetCurrentKey("a")
	v.Clear()
	l.Clear()
	m.Clear()
	if _, ok := v.Get(); ok || len(l.Get()) != 0 || m.Len() != 0 {
		t.Fatal("Clear left state behind")
	}
	_ = b.SetCurrentKey("b")
	if _, ok := v.Get(); !ok {
		t.Fatal("Clear of a removed b's value")
	}
}

func TestForeignKeyGroupIsRefused(t *testing.T) {
	h, _ := keygroup.NewHasher[int64]()
	b, _ := NewBackend[int64](128, 4, 1)
	start, end := b.KeyGroupRange()
	for k := int64(0); k < 100; k++ {
		kg := keygroup.Of(h(k), 128)
		err := b.SetCurrentKey(k)
		owned := kg >= start && kg < end
		if owned != (err == nil) {
			t.Fatalf("key %d in group %d (owned [%d,%d)): err = %v", k, kg, start, end, err)
		}
		if err != nil && !errors.Is(err, ErrKeyGroupNotOwned) {
			t.Fatalf("err = %v, want ErrKeyGroupNotOwned", err)
		}
	}
}

func TestDuplicateStateName(t *testing.T) {
	b, _ := NewBackend[string](8, 1, 0)
	if _, err := NewValue[int](b, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewList[int](b, "x"); !errors.Is(err, ErrDuplicateState) {
		t.Fatalf("err = %v, want ErrDuplicateState", err)
	}
}

func BenchmarkValueUpdate(b *testing.B) {
	be, _ := NewBackend[int64](128, 1, 0)
	v, _ := NewValue[int64](be, "sum")
	for i := int64(0); b.Loop(); i++ {
		_ = be.SetCurrentKey(i & 1023)
		old, _ := v.Get()
		v.Set(old + 1)
	}
}

func TestEstimatedBytesFollowsTheState(t *testing.T) {
	b, _ := NewBackend[string](128, 1, 0)
	m, _ := NewMap[int64, int64](b, "m")
	l, _ := NewList[int64](b, "l")
	if b.EstimatedBytes() != 0 {
		t.Fatal("an empty backend has a size")
	}
	for i := range 1000 {
		_ = b.SetCurrentKey(string(rune('a' + i%26)))
		m.Put(int64(i), int64(i))
		l.Add(int64(i))
	}
	grown := b.EstimatedBytes()
	// 1000 map entries of two int64s and 1000 list elements at least.
	if grown < 1000*16+1000*8 {
		t.Fatalf("estimate %d is below what the state holds", grown)
	}
	for i := range 26 {
		_ = b.SetCurrentKey(string(rune('a' + i)))
		m.Clear()
		l.Clear()
	}
	if after := b.EstimatedBytes(); after >= grown/4 {
		t.Fatalf("estimate %d did not shrink from %d when the state was cleared", after, grown)
	}
}
