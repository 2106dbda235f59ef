package state

import (
	"iter"
	"maps"
	"unsafe"
)

// The per-record paths below are a page lookup and one comparison of the
// page's epoch with Cursor.snap; anything else (a missing page, a page or map
// shared with a live snapshot) goes to a slow path. See doc.go, "Snapshots".

// valuePage holds the values of pageSize slots.
type valuePage[V any] struct {
	pageHeader
	has  [pageSize]bool
	vals [pageSize]V
}

// Value is a single value per key.
type Value[V any] struct {
	name  string
	c     *Cursor
	pages []*valuePage[V]
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
	i := uint(s.c.slot)
	if pi := i >> pageBits; pi < uint(len(s.pages)) {
		if p := s.pages[pi]; p.has[i&pageMask] {
			return p.vals[i&pageMask], true
		}
	}
	var zero V
	return zero, false
}

// Set sets the current key's value. A value is kept as it is, not copied:
// one that refers to memory (a pointer, slice or map) must not be changed in
// place afterwards; Set a new one instead.
func (s *Value[V]) Set(v V) {
	i := uint(s.c.slot)
	if pi := i >> pageBits; pi < uint(len(s.pages)) {
		if p := s.pages[pi]; p.epoch > s.c.snap {
			p.vals[i&pageMask] = v
			p.has[i&pageMask] = true
			return
		}
	}
	s.setSlow(v)
}

func (s *Value[V]) setSlow(v V) {
	i := int(s.c.slot)
	p := writablePage(s.c, &s.pages, i>>pageBits)
	p.vals[i&pageMask] = v
	p.has[i&pageMask] = true
}

// Clear removes the current key's value.
func (s *Value[V]) Clear() {
	i := uint(s.c.slot)
	pi := i >> pageBits
	if pi >= uint(len(s.pages)) || !s.pages[pi].has[i&pageMask] {
		return // nothing to clear: no need to copy a shared page
	}
	p := s.pages[pi]
	if p.epoch <= s.c.snap {
		p = writablePage(s.c, &s.pages, int(pi))
	}
	var zero V
	p.vals[i&pageMask] = zero
	p.has[i&pageMask] = false
}

// listPage holds the lists of pageSize slots.
//
// A snapshot shares a page's slices, backing arrays included, so a list's
// backing array is only ever written beyond the length of the slices that
// refer to it: Add appends, Update and Clear replace the slice. Never reuse
// the array in place (e.g. s = s[:0]) for an existing list.
type listPage[V any] struct {
	pageHeader
	lists [pageSize][]V
}

// List is a list of values per key.
type List[V any] struct {
	name  string
	c     *Cursor
	pages []*listPage[V]
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
// next change of the list, nor change its elements.
func (s *List[V]) Get() []V {
	i := uint(s.c.slot)
	if pi := i >> pageBits; pi < uint(len(s.pages)) {
		return s.pages[pi].lists[i&pageMask]
	}
	return nil
}

// writable returns the current key's page for writing.
func (s *List[V]) writable() *listPage[V] {
	i := uint(s.c.slot)
	if pi := i >> pageBits; pi < uint(len(s.pages)) {
		if p := s.pages[pi]; p.epoch > s.c.snap {
			return p
		}
	}
	return writablePage(s.c, &s.pages, int(s.c.slot)>>pageBits)
}

// Add appends v to the current key's list.
func (s *List[V]) Add(v V) {
	l := &s.writable().lists[s.c.slot&pageMask]
	before := cap(*l)
	*l = append(*l, v)
	if after := cap(*l); after != before {
		s.c.grew(int64(after-before) * int64(unsafe.Sizeof(v)))
	}
}

// Update replaces the current key's list with a copy of vs.
func (s *List[V]) Update(vs []V) {
	l := &s.writable().lists[s.c.slot&pageMask]
	before := cap(*l)
	*l = append((*l)[:0:0], vs...) // a new array: the old one may be shared
	var v V
	s.c.grew(int64(cap(*l)-before) * int64(unsafe.Sizeof(v)))
}

// Clear removes the current key's list.
func (s *List[V]) Clear() {
	i := uint(s.c.slot)
	pi := i >> pageBits
	if pi >= uint(len(s.pages)) || s.pages[pi].lists[i&pageMask] == nil {
		return
	}
	l := &s.writable().lists[i&pageMask]
	var v V
	s.c.grew(-int64(cap(*l)) * int64(unsafe.Sizeof(v)))
	*l = nil
}

// mapPage holds the maps of pageSize slots. A snapshot shares the maps of
// the pages it shares, so a map is cloned before its first change after a
// Freeze: mepoch stamps each map with the epoch it was made or cloned in.
type mapPage[MK comparable, MV any] struct {
	pageHeader
	mepoch [pageSize]uint64
	maps   [pageSize]map[MK]MV
}

// Map is a map per key.
type Map[MK comparable, MV any] struct {
	name  string
	c     *Cursor
	pages []*mapPage[MK, MV]
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

// current returns the current key's map, to read.
func (s *Map[MK, MV]) current() map[MK]MV {
	i := uint(s.c.slot)
	if pi := i >> pageBits; pi < uint(len(s.pages)) {
		return s.pages[pi].maps[i&pageMask]
	}
	return nil
}

// writable returns the current key's map, to change; nil if it has none and
// create is false.
func (s *Map[MK, MV]) writable(create bool) map[MK]MV {
	i := uint(s.c.slot)
	if pi := i >> pageBits; pi < uint(len(s.pages)) {
		p := s.pages[pi]
		// A map made or cloned after the last Freeze is in no snapshot,
		// and neither is the page that holds it.
		if m := p.maps[i&pageMask]; m != nil && p.mepoch[i&pageMask] > s.c.snap {
			return m
		}
	}
	return s.writableSlow(create)
}

func (s *Map[MK, MV]) writableSlow(create bool) map[MK]MV {
	i := int(s.c.slot)
	j := i & pageMask
	if cur := s.current(); cur == nil && !create {
		return nil
	}
	p := writablePage(s.c, &s.pages, i>>pageBits)
	m := p.maps[j]
	switch {
	case m == nil:
		m = make(map[MK]MV)
	case p.mepoch[j] <= s.c.snap && s.c.snapshotLive():
		m = maps.Clone(m)
		var mk MK
		var mv MV
		s.c.cow.Add(int64(len(m)) * entryBytes(mk, mv))
	}
	p.maps[j] = m
	p.mepoch[j] = s.c.epoch
	return m
}

// Get returns the value under mk for the current key.
func (s *Map[MK, MV]) Get(mk MK) (MV, bool) {
	v, ok := s.current()[mk]
	return v, ok
}

// Put sets mk to mv for the current key.
func (s *Map[MK, MV]) Put(mk MK, mv MV) {
	m := s.writable(true)
	n := len(m)
	m[mk] = mv
	if len(m) != n {
		s.c.grew(entryBytes(mk, mv))
	}
}

// Remove deletes mk for the current key.
func (s *Map[MK, MV]) Remove(mk MK) {
	v, ok := s.current()[mk]
	if !ok {
		return // nothing to remove: no need to clone a shared map
	}
	delete(s.writable(false), mk)
	s.c.grew(-entryBytes(mk, v))
}

func entryBytes[MK comparable, MV any](mk MK, mv MV) int64 {
	return keyBytes(mk) + int64(unsafe.Sizeof(mv)) + entryOverhead
}

// Len returns the number of entries for the current key.
func (s *Map[MK, MV]) Len() int { return len(s.current()) }

// All iterates over the entries of the current key.
func (s *Map[MK, MV]) All() iter.Seq2[MK, MV] {
	return maps.All(s.current())
}

// Clear removes every entry of the current key. The map is dropped, not
// emptied in place: a snapshot may share it.
func (s *Map[MK, MV]) Clear() {
	i := uint(s.c.slot)
	pi := i >> pageBits
	if pi >= uint(len(s.pages)) || s.pages[pi].maps[i&pageMask] == nil {
		return
	}
	p := s.pages[pi]
	for mk, mv := range p.maps[i&pageMask] {
		s.c.grew(-entryBytes(mk, mv))
	}
	if p.epoch <= s.c.snap {
		p = writablePage(s.c, &s.pages, int(pi))
	}
	p.maps[i&pageMask] = nil
}
