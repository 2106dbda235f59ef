package state

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/sluicehq/sluice/stream/codec"
)

// Encoding. The format lists keys by key group, but slots are in the order
// keys came, so the keys of one group are spread over every page. Rather
// than visit the pages once per key group, in random order, encode visits
// the slots in order, once per window of key groups, appending each key's
// entry to its group's buffer; then it writes the window's groups out.
// A streaming write holds about windowBytes of encoded groups at a time;
// Bytes (and Snapshot) lay the groups out in place (see exact).

// Tuning of encode: variables so that tests can make them small. A
// streaming write holds windowBytes of encoded key groups at a time, or a
// windowShare of the state (by EstimatedBytes) if that is more: the fewer
// the windows, the fewer the passes over the pages, and a pass that picks
// out a small share of the slots is almost as slow as one that takes all.
var (
	flushBytes  = 1 << 20  // what a streaming write hands its writer at a time
	windowBytes = 64 << 20 // the least encoded key groups held at a time
	windowShare = int64(4) // hold up to 1/windowShare of the state
)

// stopEvery is the number of slots between two checks of stop.
const stopEvery = 4096

// sink is where encode puts the snapshot: appended to out, or, with emit,
// handed over in pieces of about flushBytes.
type sink struct {
	out  []byte
	emit func([]byte) error
}

func (s *sink) write(p []byte) error {
	if s.emit == nil || len(s.out)+len(p) <= flushBytes {
		s.out = append(s.out, p...)
		return nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	if len(p) >= flushBytes/2 {
		return s.emit(p) // big enough on its own: no copy
	}
	s.out = append(s.out, p...)
	return nil
}

func (s *sink) flush() error {
	if s.emit == nil || len(s.out) == 0 {
		return nil
	}
	err := s.emit(s.out)
	s.out = s.out[:0]
	return err
}

// encode serializes the view. With emit nil it appends the snapshot to out
// and returns it; otherwise it hands the snapshot to emit in pieces, reusing
// out, which it returns. It gives up with ErrSnapshotReleased once stop (if
// not nil) is set.
func (v *backendView[K]) encode(out []byte, emit func([]byte) error, stop *atomic.Bool) ([]byte, error) {
	e, head, err := v.encoder(stop)
	if err != nil {
		return nil, err
	}
	ng := v.end - v.start
	count := e.count
	if emit == nil {
		if res, ok, err := e.exact(out, head); ok || err != nil {
			return res, err
		}
		return e.buffered(out, head)
	}
	s := &sink{out: out[:0], emit: emit}
	if err := s.write(head); err != nil {
		return nil, err
	}
	var hdr [2 * binary.MaxVarintLen64]byte
	for gs := 0; gs < ng; {
		// As many key groups as fit in windowBytes, at least one.
		limit := int(float64(max(int64(windowBytes), v.est/windowShare)) / e.perKey)
		ge, n := gs, 0
		for ge < ng && (ge == gs || n+count[ge] <= limit) {
			n += count[ge]
			ge++
		}
		bufs, err := e.window(gs, ge)
		if err != nil {
			return nil, err
		}
		for g, b := range bufs {
			if b == nil {
				continue
			}
			h := binary.PutUvarint(hdr[:], uint64(v.start+gs+g))
			h += binary.PutUvarint(hdr[h:], uint64(len(b)))
			if err := s.write(hdr[:h]); err != nil {
				return nil, err
			}
			if err := s.write(b); err != nil {
				return nil, err
			}
			e.free = append(e.free, b[:0])
			bufs[g] = nil
		}
		gs = ge
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	return s.out, nil
}

// exact appends the snapshot to out in two passes over the slots, in slot
// order: the first measures every key group, the second encodes each key
// straight into its place in a slice of the exact size. Encoding twice
// costs less than writing the groups to buffers first and then copying
// them: most of the time of a big snapshot goes to the first touch of
// memory. It reports false if a second encoding came out of another size
// than the first (a codec whose output varies), to be done again another
// way.
func (e *windowEncoder[K]) exact(out, head []byte) ([]byte, bool, error) {
	v := e.v
	ng := v.end - v.start
	size := make([]int, ng)
	var scratch []byte
	for slot, kg := range v.groups {
		if slot%stopEvery == 0 && e.stop != nil && e.stop.Load() {
			return nil, false, ErrSnapshotReleased
		}
		var err error
		if scratch, err = e.entry(scratch[:0], slot); err != nil {
			return nil, false, err
		}
		size[int(kg)-v.start] += len(scratch)
	}
	total := len(head)
	for g, n := range size {
		if c := e.count[g]; c > 0 {
			n += uvarintLen(uint64(c))
			size[g] = n
			total += uvarintLen(uint64(v.start+g)) + uvarintLen(uint64(n)) + n
		}
	}
	pos := len(out)
	if pos == 0 {
		out = make([]byte, total) // fresh memory may need no clearing
	} else {
		out = append(out, make([]byte, total)...)
	}
	pos += copy(out[pos:], head)
	cur := make([]int, ng) // where the next entry of each group goes
	end := make([]int, ng)
	for g, n := range size {
		if c := e.count[g]; c > 0 {
			pos += binary.PutUvarint(out[pos:], uint64(v.start+g))
			pos += binary.PutUvarint(out[pos:], uint64(n))
			end[g] = pos + n
			pos += binary.PutUvarint(out[pos:], uint64(c))
			cur[g] = pos
			pos = end[g]
		}
	}
	for slot, kg := range v.groups {
		if slot%stopEvery == 0 && e.stop != nil && e.stop.Load() {
			return nil, false, ErrSnapshotReleased
		}
		g := int(kg) - v.start
		room := end[g] - cur[g]
		b, err := e.entry(out[cur[g]:cur[g]:end[g]], slot)
		if err != nil {
			return nil, false, err
		}
		if cap(b) != room {
			return nil, false, nil // grew: no longer in out
		}
		cur[g] += len(b)
	}
	for g := range cur {
		if cur[g] != end[g] {
			return nil, false, nil
		}
	}
	return out, true, nil
}

// buffered appends the snapshot to out, encoding the key groups into
// buffers in one pass over the slots, then copying them.
func (e *windowEncoder[K]) buffered(out, head []byte) ([]byte, error) {
	v := e.v
	bufs, err := e.window(0, v.end-v.start)
	if err != nil {
		return nil, err
	}
	out = append(out, head...)
	for g, b := range bufs {
		if b != nil {
			out = appendUvarint(out, uint64(v.start+g))
			out = appendUvarint(out, uint64(len(b)))
			out = append(out, b...)
			bufs[g] = nil
		}
	}
	return out, nil
}

// entry appends the entry of a slot: its key, then per state a presence
// byte and, when present, the value.
func (e *windowEncoder[K]) entry(b []byte, slot int) ([]byte, error) {
	b = e.kc.Append(b, e.v.keys[slot])
	for _, t := range e.v.tables {
		mark := len(b)
		b = append(b, 1)
		var present bool
		var err error
		if b, present, err = t.appendSlot(b, int32(slot)); err != nil {
			return nil, fmt.Errorf("state %q: %w", t.stateName(), err)
		}
		if !present {
			b = append(b[:mark], 0)
		}
	}
	return b, nil
}

// encoder looks up the codecs, counts the keys of each key group and
// returns an encoder with the snapshot's header.
func (v *backendView[K]) encoder(stop *atomic.Bool) (*windowEncoder[K], []byte, error) {
	kc, err := codec.For[K]()
	if err != nil {
		return nil, nil, err
	}
	for _, t := range v.tables {
		t.prepare()
	}
	var head []byte
	head = append(head, snapshotMagic...)
	head = append(head, snapshotVersion)
	head = appendUvarint(head, uint64(v.maxP))
	head = appendUvarint(head, uint64(len(v.tables)))
	for _, t := range v.tables {
		head = appendUvarint(head, uint64(len(t.stateName())))
		head = append(head, t.stateName()...)
		head = append(head, t.kind())
	}
	ng := v.end - v.start
	count := make([]int, ng) // keys per key group
	for _, kg := range v.groups {
		g := int(kg) - v.start
		if g < 0 || g >= ng {
			return nil, nil, fmt.Errorf("state: key group %d outside [%d, %d)", kg, v.start, v.end)
		}
		count[g]++
	}
	groups := 0
	for _, n := range count {
		if n > 0 {
			groups++
		}
	}
	head = appendUvarint(head, uint64(groups))
	e := &windowEncoder[K]{v: v, kc: kc, count: count, stop: stop, perKey: 64}
	if len(v.keys) > 0 && v.est > 0 {
		e.perKey = float64(v.est) / float64(len(v.keys))
	}
	return e, head, nil
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// windowEncoder encodes the entries of windows of key groups.
type windowEncoder[K comparable] struct {
	v      *backendView[K]
	kc     codec.Codec[K]
	count  []int
	stop   *atomic.Bool
	perKey float64  // encoded bytes per key, estimated then measured
	keys   int      // encoded so far
	bytes  int      // encoded so far
	free   [][]byte // buffers to reuse
}

// window returns the entries of key groups [gs, ge), relative to gs: the
// key count, then per key its key and states. A group without keys is nil.
func (e *windowEncoder[K]) window(gs, ge int) ([][]byte, error) {
	v := e.v
	bufs := make([][]byte, ge-gs)
	for g := range bufs {
		n := e.count[gs+g]
		if n == 0 {
			continue
		}
		size := int(float64(n)*e.perKey) + binary.MaxVarintLen64
		var b []byte
		if k := len(e.free); k > 0 {
			b, e.free = e.free[k-1], e.free[:k-1]
		}
		if cap(b) < size {
			b = make([]byte, 0, size)
		}
		bufs[g] = appendUvarint(b, uint64(n))
	}
	base := int32(v.start + gs)
	width := uint32(ge - gs)
	var err error
	for slot, kg := range v.groups {
		if slot%stopEvery == 0 && e.stop != nil && e.stop.Load() {
			return nil, ErrSnapshotReleased
		}
		g := uint32(kg - base)
		if g >= width {
			continue // another window's
		}
		if bufs[g], err = e.entry(bufs[g], slot); err != nil {
			return nil, err
		}
	}
	for g, b := range bufs {
		e.keys += e.count[gs+g]
		e.bytes += len(b)
	}
	if e.keys > 0 {
		e.perKey = max(float64(e.bytes)/float64(e.keys), 1)
	}
	return bufs, nil
}
