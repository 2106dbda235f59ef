package state

import (
	"testing"
)

// microKeys is the number of keys the per-record benchmarks cycle through:
// enough to span many pages, few enough to stay in cache.
const microKeys = 1 << 14

func microBackend(b *testing.B) *Backend[int64] {
	be, err := NewBackend[int64](128, 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	return be
}

func fillKeys(b *testing.B, be *Backend[int64], n int) {
	for k := range int64(n) {
		if err := be.SetCurrentKey(k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValueSet(b *testing.B) {
	be := microBackend(b)
	v, _ := NewValue[int64](be, "v")
	fillKeys(b, be, microKeys)
	for i := range int64(microKeys) {
		be.cursor.slot = int32(i)
		v.Set(i)
	}
	for i := int64(0); b.Loop(); i++ {
		be.cursor.slot = int32(i & (microKeys - 1))
		v.Set(i)
	}
}

func BenchmarkValueGet(b *testing.B) {
	be := microBackend(b)
	v, _ := NewValue[int64](be, "v")
	fillKeys(b, be, microKeys)
	for i := range int64(microKeys) {
		be.cursor.slot = int32(i)
		v.Set(i)
	}
	var sum int64
	for i := int64(0); b.Loop(); i++ {
		be.cursor.slot = int32(i & (microKeys - 1))
		x, _ := v.Get()
		sum += x
	}
	_ = sum
}

func BenchmarkListAdd(b *testing.B) {
	be := microBackend(b)
	l, _ := NewList[int64](be, "l")
	fillKeys(b, be, microKeys)
	for i := int64(0); b.Loop(); i++ {
		slot := int32(i & (microKeys - 1))
		be.cursor.slot = slot
		if i&(1<<18-1) == 0 {
			for s := range int32(microKeys) {
				be.cursor.slot = s
				l.Clear()
			}
			be.cursor.slot = slot
		}
		l.Add(i)
	}
}

func BenchmarkMapPut(b *testing.B) {
	be := microBackend(b)
	m, _ := NewMap[int64, int64](be, "m")
	fillKeys(b, be, microKeys)
	for i := int64(0); b.Loop(); i++ {
		be.cursor.slot = int32(i & (microKeys - 1))
		m.Put(i&7, i)
	}
}

// BenchmarkValueSetFrozen is BenchmarkValueSet while a snapshot is live
// whose pages were all copied already: the steady state of a write.
func BenchmarkValueSetFrozen(b *testing.B) {
	be := microBackend(b)
	v, _ := NewValue[int64](be, "v")
	fillKeys(b, be, microKeys)
	for i := range int64(microKeys) {
		be.cursor.slot = int32(i)
		v.Set(i)
	}
	f := be.Freeze()
	defer f.Release()
	for i := int64(0); b.Loop(); i++ {
		be.cursor.slot = int32(i & (microKeys - 1))
		v.Set(i)
	}
}

// BenchmarkValueSetCopying freezes the state before every pass over the
// keys, so that each pass copies every page once: the worst case of a
// write while snapshots are taken back to back.
func BenchmarkValueSetCopying(b *testing.B) {
	be := microBackend(b)
	v, _ := NewValue[int64](be, "v")
	fillKeys(b, be, microKeys)
	for i := range int64(microKeys) {
		be.cursor.slot = int32(i)
		v.Set(i)
	}
	var f *Frozen
	for i := int64(0); b.Loop(); i++ {
		if i&(microKeys-1) == 0 {
			f = be.Freeze() // releases the previous one
		}
		be.cursor.slot = int32(i & (microKeys - 1))
		v.Set(i)
	}
	f.Release()
}

// BenchmarkMapPutFrozen is BenchmarkMapPut while a snapshot is live whose
// maps were all cloned already.
func BenchmarkMapPutFrozen(b *testing.B) {
	be := microBackend(b)
	m, _ := NewMap[int64, int64](be, "m")
	fillKeys(b, be, microKeys)
	for i := range int64(microKeys) {
		be.cursor.slot = int32(i)
		m.Put(0, i)
	}
	f := be.Freeze()
	defer f.Release()
	for i := int64(0); b.Loop(); i++ {
		be.cursor.slot = int32(i & (microKeys - 1))
		m.Put(i&7, i)
	}
}
