package state

import (
	"encoding/binary"
	"fmt"

	"github.com/sluicehq/sluice/stream/codec"
)

// The snapshot side of each state: how one slot's entry is encoded with the
// codecs of its types. Codecs are looked up when a snapshot is taken or
// restored, so a state whose type has no codec fails then, naming it.

func (s *Value[V]) stateName() string { return s.name }
func (s *Value[V]) kind() byte        { return kindValue }

func (s *Value[V]) appendSlot(buf []byte, slot int32) ([]byte, bool, error) {
	if int(slot) >= len(s.has) || !s.has[slot] {
		return buf, false, nil
	}
	c, err := codec.For[V]()
	if err != nil {
		return buf, false, err
	}
	return c.Append(buf, s.vals[slot]), true, nil
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

func (s *List[V]) appendSlot(buf []byte, slot int32) ([]byte, bool, error) {
	if int(slot) >= len(s.lists) || len(s.lists[slot]) == 0 {
		return buf, false, nil
	}
	c, err := codec.For[V]()
	if err != nil {
		return buf, false, err
	}
	buf = binary.AppendUvarint(buf, uint64(len(s.lists[slot])))
	for _, v := range s.lists[slot] {
		buf = c.Append(buf, v)
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

func (s *Map[MK, MV]) appendSlot(buf []byte, slot int32) ([]byte, bool, error) {
	if int(slot) >= len(s.maps) || len(s.maps[slot]) == 0 {
		return buf, false, nil
	}
	kc, err := codec.For[MK]()
	if err != nil {
		return buf, false, err
	}
	vc, err := codec.For[MV]()
	if err != nil {
		return buf, false, err
	}
	buf = binary.AppendUvarint(buf, uint64(len(s.maps[slot])))
	for k, v := range s.maps[slot] {
		buf = kc.Append(buf, k)
		buf = vc.Append(buf, v)
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
