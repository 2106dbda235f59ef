package state

import (
	"iter"
	"maps"
	"unsafe"
)

// Value is a single value per key.
type Value[V any] struct {
	name string
	c    *Cursor
	vals []V
	has  []bool
}

// NewValue registers a value state called name on r.
func NewValue[V any](r Registrar, name string) (*Value[V], error) {
	c, err := r.register(name)
	if err != nil {
		return nil, err
	}
	v := &Value[V]{name: name, c: c}
	r.add(v)
	return v, nil
}

// Get returns the current key's value and whether it is set.
func (s *Value[V]) Get() (V, bool) {
	i := s.c.slot
	if int(i) < len(s.has) && s.has[i] {
		return s.vals[i], true
	}
	var zero V
	return zero, false
}

// Set sets the current key's value.
func (s *Value[V]) Set(v V) {
	i := int(s.c.slot)
	if i >= len(s.has) {
		before := cap(s.vals)
		s.vals = grow(s.vals, i)
		s.has = grow(s.has, i)
		s.c.grew(int64(cap(s.vals)-before) * int64(unsafe.Sizeof(v)+1))
	}
	s.vals[i] = v
	s.has[i] = true
}

// Clear removes the current key's value.
func (s *Value[V]) Clear() {
	i := int(s.c.slot)
	if i < len(s.has) {
		var zero V
		s.vals[i] = zero
		s.has[i] = false
	}
}

// List is a list of values per key.
type List[V any] struct {
	name  string
	c     *Cursor
	lists [][]V
}

// NewList registers a list state called name on r.
func NewList[V any](r Registrar, name string) (*List[V], error) {
	c, err := r.register(name)
	if err != nil {
		return nil, err
	}
	l := &List[V]{name: name, c: c}
	r.add(l)
	return l, nil
}

// Get returns the current key's list. The caller must not keep it past the
// next change of the list.
func (s *List[V]) Get() []V {
	i := int(s.c.slot)
	if i < len(s.lists) {
		return s.lists[i]
	}
	return nil
}

// Add appends v to the current key's list.
func (s *List[V]) Add(v V) {
	i := int(s.c.slot)
	if i >= len(s.lists) {
		s.lists = grow(s.lists, i)
	}
	before := cap(s.lists[i])
	s.lists[i] = append(s.lists[i], v)
	if after := cap(s.lists[i]); after != before {
		s.c.grew(int64(after-before) * int64(unsafe.Sizeof(v)))
	}
}

// Update replaces the current key's list with a copy of vs.
func (s *List[V]) Update(vs []V) {
	i := int(s.c.slot)
	if i >= len(s.lists) {
		s.lists = grow(s.lists, i)
	}
	before := cap(s.lists[i])
	s.lists[i] = append(s.lists[i][:0:0], vs...)
	var v V
	s.c.grew(int64(cap(s.lists[i])-before) * int64(unsafe.Sizeof(v)))
}

// Clear removes the current key's list.
func (s *List[V]) Clear() {
	if i := int(s.c.slot); i < len(s.lists) {
		var v V
		s.c.grew(-int64(cap(s.lists[i])) * int64(unsafe.Sizeof(v)))
		s.lists[i] = nil
	}
}

// Map is a map per key.
type Map[MK comparable, MV any] struct {
	name string
	c    *Cursor
	maps []map[MK]MV
}

// NewMap registers a map state called name on r.
func NewMap[MK comparable, MV any](r Registrar, name string) (*Map[MK, MV], error) {
	c, err := r.register(name)
	if err != nil {
		return nil, err
	}
	m := &Map[MK, MV]{name: name, c: c}
	r.add(m)
	return m, nil
}

func (s *Map[MK, MV]) current(create bool) map[MK]MV {
	i := int(s.c.slot)
	if i >= len(s.maps) {
		if !create {
			return nil
		}
		s.maps = grow(s.maps, i)
	}
	m := s.maps[i]
	if m == nil && create {
		m = make(map[MK]MV)
		s.maps[i] = m
	}
	return m
}

// Get returns the value under mk for the current key.
func (s *Map[MK, MV]) Get(mk MK) (MV, bool) {
	v, ok := s.current(false)[mk]
	return v, ok
}

// Put sets mk to mv for the current key.
func (s *Map[MK, MV]) Put(mk MK, mv MV) {
	m := s.current(true)
	n := len(m)
	m[mk] = mv
	if len(m) != n {
		s.c.grew(entryBytes(mk, mv))
	}
}

// Remove deletes mk for the current key.
func (s *Map[MK, MV]) Remove(mk MK) {
	m := s.current(false)
	if v, ok := m[mk]; ok {
		delete(m, mk)
		s.c.grew(-entryBytes(mk, v))
	}
}

func entryBytes[MK comparable, MV any](mk MK, mv MV) int64 {
	return keyBytes(mk) + int64(unsafe.Sizeof(mv)) + entryOverhead
}

// Len returns the number of entries for the current key.
func (s *Map[MK, MV]) Len() int { return len(s.current(false)) }

// All iterates over the entries of the current key.
func (s *Map[MK, MV]) All() iter.Seq2[MK, MV] {
	return maps.All(s.current(false))
}

// Clear removes every entry of the current key.
func (s *Map[MK, MV]) Clear() {
	if i := int(s.c.slot); i < len(s.maps) {
		for mk, mv := range s.maps[i] {
			s.c.grew(-entryBytes(mk, mv))
		}
		s.maps[i] = nil
	}
}

// grow extends s so that index i is valid, at least doubling its capacity.
func grow[T any](s []T, i int) []T {
	if i < len(s) {
		return s
	}
	if i < cap(s) {
		return s[:i+1]
	}
	n := make([]T, i+1, max(2*cap(s), i+1, 16))
	copy(n, s)
	return n
}
