package state

import (
	"errors"
	"fmt"
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
// states, with the estimate of their size in memory.
type Cursor struct {
	slot  int32
	bytes atomic.Int64
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
		cursor: Cursor{slot: -1},
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
		b.keys = append(b.keys, k)
		b.groups = append(b.groups, int32(kg))
	}
	b.cursor.slot = slot
	b.current = k
	return nil
}

// EstimatedBytes estimates the memory the keys and states of this backend
// hold. It is safe to call from any goroutine.
func (b *Backend[K]) EstimatedBytes() int64 { return b.cursor.bytes.Load() }

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
