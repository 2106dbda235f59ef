package stream

import (
	"fmt"
	"iter"

	"github.com/sluicehq/sluice/taskmanager/state"
)

// ValueState is one value per key.
type ValueState[V any] interface {
	// Get returns the current key's value and whether it is set.
	Get() (V, bool)
	// Set sets the current key's value.
	Set(V)
	// Clear removes the current key's value.
	Clear()
}

// ListState is a list of values per key.
type ListState[V any] interface {
	// Get returns the current key's list; do not keep it past a change.
	Get() []V
	Add(V)
	Update([]V)
	Clear()
}

// MapState is a map per key.
type MapState[MK comparable, MV any] interface {
	Get(MK) (MV, bool)
	Put(MK, MV)
	Remove(MK)
	Len() int
	All() iter.Seq2[MK, MV]
	Clear()
}

type keyedBackend[K comparable] struct {
	*state.Backend[K]
	op string
}

type valueState[V any] = state.Value[V]

func newBackend[K comparable](c *opContext) (*keyedBackend[K], error) {
	b, err := state.NewBackend[K](c.maxPar, c.parallelism, c.subtask)
	if err != nil {
		return nil, err
	}
	c.chain.sized = append(c.chain.sized, b)
	return &keyedBackend[K]{Backend: b, op: c.name}, nil
}

// setKey selects k; a key this subtask does not own fails the task.
func (b *keyedBackend[K]) setKey(k K) {
	if err := b.SetCurrentKey(k); err != nil {
		fail(err)
	}
}

func newValue[V any, K comparable](b *keyedBackend[K], name string) (*state.Value[V], error) {
	v, err := state.NewValue[V](b.Backend, name)
	if err != nil {
		return nil, fmt.Errorf("operator %q: %w", b.op, err)
	}
	return v, nil
}

// NewValueState creates a value state called name; call it from Open.
func NewValueState[V any, K comparable](ctx *OpenContext[K], name string) (ValueState[V], error) {
	return newValue[V](ctx.b, name)
}

// NewListState creates a list state called name; call it from Open.
func NewListState[V any, K comparable](ctx *OpenContext[K], name string) (ListState[V], error) {
	l, err := state.NewList[V](ctx.b.Backend, name)
	if err != nil {
		return nil, fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	return l, nil
}

// NewMapState creates a map state called name; call it from Open.
func NewMapState[MK comparable, MV any, K comparable](ctx *OpenContext[K], name string) (MapState[MK, MV], error) {
	m, err := state.NewMap[MK, MV](ctx.b.Backend, name)
	if err != nil {
		return nil, fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	return m, nil
}

func (b *keyedBackend[K]) snapshot() ([]byte, error)    { return b.Snapshot() }
func (b *keyedBackend[K]) restore(snaps [][]byte) error { return b.Restore(snaps...) }
