package state

import (
	"errors"
	"fmt"
	"iter"
	"sync/atomic"
	"unsafe"

	"github.com/sluicehq/sluice/taskmanager/keygroup"
)

// ErrKeyGroupNotOwned means a record's key belongs to a key group that this
// subtask does not own: records were routed with another parallelism or hash.
var ErrKeyGroupNotOwned = errors.New("state: key group not owned by this subtask")

// ErrDuplicateState means two states of one operator share a name.
var ErrDuplicateState = errors.New("state: duplicate state name")

// Cursor is the slot of the current key, shared by a backend and its
// states, with the copy-on-write epochs of its snapshots and the estimate
// of their size in memory.
type Cursor struct {
	slot int32
	// snap is the epoch of the newest snapshot that may still be live, or 0
	// when the owner knows that none is: a page or map stamped with an epoch
	// not after snap may be shared and is copied before it is written.
	// Only the owner goroutine reads and writes slot, snap and epoch.
	snap uint64
	// epoch stamps pages and maps created or copied now; always > snap.
	epoch uint64
	// live counts the Frozen snapshots not yet released. Their writers
	// decrement it from other goroutines once they read no more pages.
	live  atomic.Int32
	bytes atomic.Int64
	// cow estimates the bytes of pages and maps copied on write while
	// snapshots are live, which they keep alive; a Freeze with none live
	// resets it, and EstimatedBytes counts it only while one is.
	cow atomic.Int64
}

// snapshotLive reports, on a write to something stamped with an epoch not
// after snap, whether a snapshot may still read it. Once every snapshot is
// released it forgets them, so nothing is copied until the next Freeze.
func (c *Cursor) snapshotLive() bool {
	if c.live.Load() > 0 {
		return true
	}
	c.snap = 0
	return false
}

// grew adds to the size estimate; states call it when they allocate, never
// for a write that fits what they hold.
func (c *Cursor) grew(n int64) { c.bytes.Add(n) }

// entryOverhead approximates what a map entry costs beyond its key and value.
const entryOverhead = 32

// Backend is the key index of one keyed operator subtask.
type Backend[K comparable] struct {
	hash       keygroup.Hasher[K]
	maxP       int
	start, end int // owned key groups [start, end)
	slots      map[K]int32
	keys       []K
	groups     []int32 // key group of each slot
	cursor     Cursor
	current    K
	names      map[string]bool
	tables     []table // registered states, for snapshots
	last       *Frozen // the latest Freeze, released by the next one
}

// NewBackend returns the key index of subtask `subtask` of an operator with
// the given parallelism and max parallelism.
func NewBackend[K comparable](maxParallelism, parallelism, subtask int) (*Backend[K], error) {
	h, err := keygroup.NewHasher[K]()
	if err != nil {
		return nil, err
	}
	start, end := keygroup.Range(maxParallelism, parallelism, subtask)
	return &Backend[K]{
		hash:   h,
		maxP:   maxParallelism,
		start:  start,
		end:    end,
		slots:  make(map[K]int32),
		names:  make(map[string]bool),
		cursor: Cursor{slot: -1, epoch: 1},
	}, nil
}

// SetCurrentKey makes k the key that states read and write. A key seen for the
// first time gets a slot; its key group is checked against the owned range.
func (b *Backend[K]) SetCurrentKey(k K) error {
	slot, ok := b.slots[k]
	if !ok {
		kg := keygroup.Of(b.hash(k), b.maxP)
		if kg < b.start || kg >= b.end {
			return fmt.Errorf("%w: key %v is in key group %d, this subtask owns [%d, %d)", ErrKeyGroupNotOwned, k, kg, b.start, b.end)
		}
		slot = int32(len(b.keys))
		b.slots[k] = slot
		b.cursor.grew(keyBytes(k) + entryOverhead + 4)
		// keys and groups only grow and an entry never changes, so a
		// snapshot shares them up to its length without copy-on-write.
		b.keys = append(b.keys, k)
		b.groups = append(b.groups, int32(kg))
	}
	b.cursor.slot = slot
	b.current = k
	return nil
}

// EstimatedBytes estimates the memory the keys and states of this backend
// hold, with, while a Frozen snapshot is unreleased, the pages copied on
// write that it keeps alive. It is safe to call from any goroutine.
func (b *Backend[K]) EstimatedBytes() int64 {
	n := b.cursor.bytes.Load()
	if b.cursor.live.Load() > 0 {
		n += b.cursor.cow.Load()
	}
	return n
}

// keyBytes estimates a key's size: its inline size plus string contents.
func keyBytes[K any](k K) int64 {
	n := int64(unsafe.Sizeof(k))
	if s, ok := any(k).(string); ok {
		n += int64(len(s))
	}
	return n
}

// CurrentKey returns the key set last.
func (b *Backend[K]) CurrentKey() K { return b.current }

// Keys returns the number of distinct keys seen.
func (b *Backend[K]) Keys() int { return len(b.keys) }

// AllKeys yields the keys seen, in the order they were first set. Setting
// keys while iterating is allowed; keys added meanwhile are not yielded.
func (b *Backend[K]) AllKeys() iter.Seq[K] {
	return func(yield func(K) bool) {
		n := len(b.keys)
		for i := 0; i < n; i++ {
			if !yield(b.keys[i]) {
				return
			}
		}
	}
}

// KeyGroupRange returns the key groups [start, end) this subtask owns.
func (b *Backend[K]) KeyGroupRange() (start, end int) { return b.start, b.end }

// register reserves a state name and returns the cursor states index by.
func (b *Backend[K]) register(name string) (*Cursor, error) {
	if b.names[name] {
		return nil, fmt.Errorf("%w: %q is registered twice on one operator; give each state its own name", ErrDuplicateState, name)
	}
	b.names[name] = true
	return &b.cursor, nil
}

// Registrar is what states are created from: a Backend of any key type.
type Registrar interface {
	register(name string) (*Cursor, error)
	add(t table)
}

func (b *Backend[K]) add(t table) { b.tables = append(b.tables, t) }
