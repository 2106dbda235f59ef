package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/stream/codec"
)

// The snapshot side of each state: a frozen view of its pages, and how one
// slot's entry is encoded with the codecs of its types. Codecs are looked up
// when a snapshot is written or restored, so a state whose type has no codec
// fails then, naming it.

func (s *Value[V]) stateName() string { return s.name }
func (s *Value[V]) kind() byte        { return kindValue }

func (s *Value[V]) freeze() frozenTable {
	return &frozenValue[V]{name: s.name, pages: slices.Clone(s.pages)}
}

type frozenValue[V any] struct {
	name  string
	pages []*valuePage[V]
	c     codec.Codec[V]
	err   error
}

func (f *frozenValue[V]) stateName() string { return f.name }
func (f *frozenValue[V]) kind() byte        { return kindValue }
func (f *frozenValue[V]) prepare()          { f.c, f.err = codec.For[V]() }

func (f *frozenValue[V]) appendSlot(buf []byte, slot int32) ([]byte, bool, error) {
	pi := int(slot >> pageBits)
	if pi >= len(f.pages) || !f.pages[pi].has[slot&pageMask] {
		return buf, false, nil
	}
	if f.err != nil {
		return buf, false, f.err
	}
	return f.c.Append(buf, f.pages[pi].vals[slot&pageMask]), true, nil
}

func (s *Value[V]) readSlot(data []byte, slot int32) (int, error) {
	c, err := codec.For[V]()
	if err != nil {
		return 0, err
	}
	var v V
	n, err := c.Decode(data, &v)
	if err != nil {
		return 0, err
	}
	prev := s.c.slot
	s.c.slot = slot
	s.Set(v)
	s.c.slot = prev
	return n, nil
}

func (s *List[V]) stateName() string { return s.name }
func (s *List[V]) kind() byte        { return kindList }

func (s *List[V]) freeze() frozenTable {
	return &frozenList[V]{name: s.name, pages: slices.Clone(s.pages)}
}

type frozenList[V any] struct {
	name  string
	pages []*listPage[V]
	c     codec.Codec[V]
	err   error
}

func (f *frozenList[V]) stateName() string { return f.name }
func (f *frozenList[V]) kind() byte        { return kindList }
func (f *frozenList[V]) prepare()          { f.c, f.err = codec.For[V]() }

func (f *frozenList[V]) appendSlot(buf []byte, slot int32) ([]byte, bool, error) {
	pi := int(slot >> pageBits)
	if pi >= len(f.pages) {
		return buf, false, nil
	}
	l := f.pages[pi].lists[slot&pageMask]
	if len(l) == 0 {
		return buf, false, nil
	}
	if f.err != nil {
		return buf, false, f.err
	}
	buf = binary.AppendUvarint(buf, uint64(len(l)))
	for _, v := range l {
		buf = f.c.Append(buf, v)
	}
	return buf, true, nil
}

func (s *List[V]) readSlot(data []byte, slot int32) (int, error) {
	c, err := codec.For[V]()
	if err != nil {
		return 0, err
	}
	count, used, err := readUvarint(data)
	if err != nil {
		return 0, err
	}
	if count > uint64(len(data)) {
		return 0, fmt.Errorf("a list of %d elements in %d bytes", count, len(data))
	}
	prev := s.c.slot
	s.c.slot = slot
	defer func() { s.c.slot = prev }()
	for range count {
		var v V
		n, err := c.Decode(data[used:], &v)
		if err != nil {
			return 0, err
		}
		used += n
		s.Add(v)
	}
	return used, nil
}

func (s *Map[MK, MV]) stateName() string { return s.name }
func (s *Map[MK, MV]) kind() byte        { return kindMap }

func (s *Map[MK, MV]) freeze() frozenTable {
	return &frozenMap[MK, MV]{name: s.name, pages: slices.Clone(s.pages)}
}

type frozenMap[MK comparable, MV any] struct {
	name    string
	pages   []*mapPage[MK, MV]
	kc      codec.Codec[MK]
	vc      codec.Codec[MV]
	err     error
	scratch []byte
	ends    []int
	order   []int
}

func (f *frozenMap[MK, MV]) stateName() string { return f.name }
func (f *frozenMap[MK, MV]) kind() byte        { return kindMap }

func (f *frozenMap[MK, MV]) prepare() {
	if f.kc, f.err = codec.For[MK](); f.err == nil {
		f.vc, f.err = codec.For[MV]()
	}
}

// appendSlot writes a map's entries in the order of their encodings, so
// that equal maps always have the same snapshot bytes.
func (f *frozenMap[MK, MV]) appendSlot(buf []byte, slot int32) ([]byte, bool, error) {
	pi := int(slot >> pageBits)
	if pi >= len(f.pages) {
		return buf, false, nil
	}
	m := f.pages[pi].maps[slot&pageMask]
	if len(m) == 0 {
		return buf, false, nil
	}
	if f.err != nil {
		return buf, false, f.err
	}
	buf = binary.AppendUvarint(buf, uint64(len(m)))
	if len(m) == 1 {
		for k, v := range m {
			buf = f.kc.Append(buf, k)
			buf = f.vc.Append(buf, v)
		}
		return buf, true, nil
	}
	f.scratch, f.ends, f.order = f.scratch[:0], f.ends[:0], f.order[:0]
	for k, v := range m {
		f.scratch = f.kc.Append(f.scratch, k)
		f.scratch = f.vc.Append(f.scratch, v)
		f.order = append(f.order, len(f.ends))
		f.ends = append(f.ends, len(f.scratch))
	}
	entry := func(i int) []byte {
		start := 0
		if i > 0 {
			start = f.ends[i-1]
		}
		return f.scratch[start:f.ends[i]]
	}
	slices.SortFunc(f.order, func(a, b int) int { return bytes.Compare(entry(a), entry(b)) })
	for _, i := range f.order {
		buf = append(buf, entry(i)...)
	}
	return buf, true, nil
}

func (s *Map[MK, MV]) readSlot(data []byte, slot int32) (int, error) {
	kc, err := codec.For[MK]()
	if err != nil {
		return 0, err
	}
	vc, err := codec.For[MV]()
	if err != nil {
		return 0, err
	}
	count, used, err := readUvarint(data)
	if err != nil {
		return 0, err
	}
	if count > uint64(len(data)) {
		return 0, fmt.Errorf("a map of %d entries in %d bytes", count, len(data))
	}
	prev := s.c.slot
	s.c.slot = slot
	defer func() { s.c.slot = prev }()
	for range count {
		var k MK
		var v MV
		n, err := kc.Decode(data[used:], &k)
		if err != nil {
			return 0, err
		}
		used += n
		if n, err = vc.Decode(data[used:], &v); err != nil {
			return 0, err
		}
		used += n
		s.Put(k, v)
	}
	return used, nil
}
