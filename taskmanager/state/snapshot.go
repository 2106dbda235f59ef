package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/stream/codec"
)

// The snapshot format of a keyed backend, version 1 ("SLKS"):
//
//	magic "SLKS", version byte, max parallelism (uvarint)
//	states: count, then per state in name order: name, kind byte
//	key groups: count, then per key group in order:
//	  key group (uvarint), length of its entries in bytes (uvarint), entries:
//	    count, then per key: the key (key codec), then per state: a
//	    presence byte and, when present, the value
//
// It is canonical and versioned: state is found by name and key group,
// whatever the parallelism or the binary that wrote it, and a reader skips
// the key groups it does not own without decoding them.
const (
	snapshotMagic   = "SLKS"
	snapshotVersion = 1
)

// Errors callers branch on.
var (
	ErrSnapshotFormat  = errors.New("state: not a keyed-state snapshot of a known format")
	ErrSnapshotVersion = errors.New("state: snapshot format version not supported")
	ErrSnapshotState   = errors.New("state: snapshot does not match the operator's states")
)

// State kinds in a snapshot.
const (
	kindValue byte = 1
	kindList  byte = 2
	kindMap   byte = 3
)

// table is the snapshot side of a state.
type table interface {
	stateName() string
	kind() byte
	// freeze returns a view of the state as it is now, which later writes
	// to the state do not change. It costs one pointer per page.
	freeze() frozenTable
	// readSlot decodes an entry into the slot and returns the bytes used.
	readSlot(data []byte, slot int32) (int, error)
}

// frozenTable is a frozen view of a state. One goroutine at a time uses it.
type frozenTable interface {
	stateName() string
	kind() byte
	// prepare looks up the codecs before appendSlot is called.
	prepare()
	// appendSlot appends the encoding of the slot's entry and reports
	// whether there is one.
	appendSlot(buf []byte, slot int32) ([]byte, bool, error)
}

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func readUvarint(data []byte) (uint64, int, error) {
	v, n := binary.Uvarint(data)
	if n <= 0 {
		return 0, 0, fmt.Errorf("%w: truncated or bad varint", ErrSnapshotFormat)
	}
	return v, n, nil
}

// Snapshot serializes every key and state of the backend, on the calling
// goroutine, which must be the owner. It returns the bytes that Freeze
// followed by Bytes would, without affecting a Frozen snapshot in flight.
func (b *Backend[K]) Snapshot() ([]byte, error) {
	return b.view().encode(nil, nil, nil)
}

// backendView is a frozen view of a backend: the keys known when it was taken and
// a frozen view of every state, in name order.
type backendView[K comparable] struct {
	maxP, start, end int
	keys             []K
	groups           []int32
	tables           []frozenTable
	est              int64 // EstimatedBytes then, to size buffers
}

// view returns a view of the backend as it is now. Keys only grow, so it
// shares the key and group slices up to their current length; the states'
// pages are shared until the owner writes to them (see Freeze).
func (b *Backend[K]) view() *backendView[K] {
	n := len(b.keys)
	v := &backendView[K]{
		maxP: b.maxP, start: b.start, end: b.end,
		keys:   b.keys[:n:n],
		groups: b.groups[:n:n],
		tables: make([]frozenTable, len(b.tables)),
		est:    b.cursor.bytes.Load(),
	}
	for i, t := range b.tables {
		v.tables[i] = t.freeze()
	}
	slices.SortFunc(v.tables, func(a, b frozenTable) int { return strings.Compare(a.stateName(), b.stateName()) })
	return v
}

// Restore loads the key groups this subtask owns from snapshots written by
// any number of subtasks at any parallelism. Every state of the operator
// must have been registered, under the names and kinds the snapshot has.
func (b *Backend[K]) Restore(snapshots ...[]byte) error {
	kc, err := codec.For[K]()
	if err != nil {
		return err
	}
	for i, data := range snapshots {
		if err := b.restoreOne(kc, data); err != nil {
			return fmt.Errorf("snapshot %d of %d: %w", i+1, len(snapshots), err)
		}
	}
	return nil
}

func (b *Backend[K]) restoreOne(kc codec.Codec[K], data []byte) error {
	if len(data) < len(snapshotMagic)+1 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return ErrSnapshotFormat
	}
	if v := data[len(snapshotMagic)]; v != snapshotVersion {
		return fmt.Errorf("%w: version %d, this build reads %d", ErrSnapshotVersion, v, snapshotVersion)
	}
	p := data[len(snapshotMagic)+1:]
	next := func() (uint64, error) {
		v, n, err := readUvarint(p)
		if err == nil {
			p = p[n:]
		}
		return v, err
	}
	maxP, err := next()
	if err != nil {
		return err
	}
	if int(maxP) != b.maxP {
		return fmt.Errorf("%w: written with max parallelism %d, the operator has %d; the max parallelism of a keyed operator cannot change", ErrSnapshotState, maxP, b.maxP)
	}
	n, err := next()
	if err != nil {
		return err
	}
	byName := map[string]table{}
	for _, t := range b.tables {
		byName[t.stateName()] = t
	}
	if int(n) != len(b.tables) {
		return fmt.Errorf("%w: it has %d states, the operator %d", ErrSnapshotState, n, len(b.tables))
	}
	order := make([]table, n)
	for i := range order {
		l, err := next()
		if err != nil {
			return err
		}
		if uint64(len(p)) < l+1 {
			return fmt.Errorf("%w: truncated state name", ErrSnapshotFormat)
		}
		name, kind := string(p[:l]), p[l]
		p = p[l+1:]
		t, ok := byName[name]
		if !ok || t.kind() != kind {
			return fmt.Errorf("%w: state %q (kind %d) is not registered with that kind", ErrSnapshotState, name, kind)
		}
		order[i] = t
	}
	groups, err := next()
	if err != nil {
		return err
	}
	for range groups {
		kg, err := next()
		if err != nil {
			return err
		}
		size, err := next()
		if err != nil {
			return err
		}
		if uint64(len(p)) < size {
			return fmt.Errorf("%w: key group %d is truncated", ErrSnapshotFormat, kg)
		}
		entries := p[:size]
		p = p[size:]
		if int(kg) < b.start || int(kg) >= b.end {
			continue // another subtask's
		}
		if err := b.restoreGroup(kc, int32(kg), entries, order); err != nil {
			return fmt.Errorf("key group %d: %w", kg, err)
		}
	}
	if len(p) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrSnapshotFormat, len(p))
	}
	return nil
}

func (b *Backend[K]) restoreGroup(kc codec.Codec[K], kg int32, data []byte, order []table) error {
	count, n, err := readUvarint(data)
	if err != nil {
		return err
	}
	data = data[n:]
	for range count {
		var k K
		m, err := kc.Decode(data, &k)
		if err != nil {
			return fmt.Errorf("%w: key: %w", ErrSnapshotFormat, err)
		}
		data = data[m:]
		if err := b.SetCurrentKey(k); err != nil {
			return err
		}
		if b.groups[b.cursor.slot] != kg {
			return fmt.Errorf("%w: a key of key group %d is stored under %d", ErrSnapshotFormat, b.groups[b.cursor.slot], kg)
		}
		for _, t := range order {
			if len(data) == 0 {
				return fmt.Errorf("%w: entry truncated", ErrSnapshotFormat)
			}
			present := data[0]
			data = data[1:]
			if present == 0 {
				continue
			}
			m, err := t.readSlot(data, b.cursor.slot)
			if err != nil {
				return fmt.Errorf("%w: state %q: %w", ErrSnapshotFormat, t.stateName(), err)
			}
			data = data[m:]
		}
	}
	if len(data) != 0 {
		return fmt.Errorf("%w: %d stray bytes", ErrSnapshotFormat, len(data))
	}
	return nil
}
