package stream

import (
	"fmt"
	"iter"
	"strings"

	"github.com/sluicehq/sluice/taskmanager/state"
	"github.com/sluicehq/sluice/taskmanager/task"
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

// ReducingState holds, per key, the values added to it combined into one
// with a reduce function, so only the combined value is stored.
type ReducingState[V any] interface {
	// Get returns the current key's combined value and whether any value
	// was added since the last Clear.
	Get() (V, bool)
	// Add combines v into the current key's value: the first value is
	// kept as is, a later one becomes reduce(value, v).
	Add(v V)
	// Clear removes the current key's value.
	Clear()
}

// AggregateFunction folds values into an accumulator and computes a result
// from it, like Flink's AggregateFunction (without merge).
type AggregateFunction[IN, ACC, OUT any] interface {
	// CreateAccumulator returns the accumulator of a key with no values.
	CreateAccumulator() ACC
	// Add folds v into acc and returns the new accumulator. An ACC that
	// refers to memory (a pointer, slice or map) must not be modified in
	// place: return a new one, as a snapshot being written may still read
	// the old.
	Add(v IN, acc ACC) ACC
	// GetResult computes the result from an accumulator.
	GetResult(acc ACC) OUT
}

// AggregatingState holds, per key, the accumulator of an AggregateFunction
// over the values added to it; only the accumulator is stored, and
// checkpointed (so ACC needs a codec when the job takes checkpoints).
type AggregatingState[IN, ACC, OUT any] interface {
	// Get returns the result for the current key's accumulator, and false
	// when no value was added since the last Clear.
	Get() (OUT, bool)
	// Add folds v into the current key's accumulator, created with
	// CreateAccumulator for the first value.
	Add(v IN)
	// Clear removes the current key's accumulator.
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
	c.chain.sized = append(c.chain.sized, sizedBackend{op: c.idx, b: b})
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

// checkName rejects the names reserved for the runtime's own states.
func checkName[K comparable](b *keyedBackend[K], name string) error {
	if strings.HasPrefix(name, "_") {
		return fmt.Errorf("operator %q: state name %q: names starting with \"_\" are reserved", b.op, name)
	}
	return nil
}

// NewValueState creates a value state called name; call it from Open. State
// names starting with "_" are reserved.
func NewValueState[V any, K comparable](ctx *OpenContext[K], name string) (ValueState[V], error) {
	if err := checkName(ctx.b, name); err != nil {
		return nil, err
	}
	return newValue[V](ctx.b, name)
}

// NewListState creates a list state called name; call it from Open.
func NewListState[V any, K comparable](ctx *OpenContext[K], name string) (ListState[V], error) {
	if err := checkName(ctx.b, name); err != nil {
		return nil, err
	}
	l, err := state.NewList[V](ctx.b.Backend, name)
	if err != nil {
		return nil, fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	return l, nil
}

// NewMapState creates a map state called name; call it from Open.
func NewMapState[MK comparable, MV any, K comparable](ctx *OpenContext[K], name string) (MapState[MK, MV], error) {
	if err := checkName(ctx.b, name); err != nil {
		return nil, err
	}
	m, err := state.NewMap[MK, MV](ctx.b.Backend, name)
	if err != nil {
		return nil, fmt.Errorf("operator %q: %w", ctx.b.op, err)
	}
	return m, nil
}

// snapshot freezes the state copy-on-write; it is serialized off the task
// goroutine.
func (b *keyedBackend[K]) snapshot() ([]byte, task.FrozenState, error) { return nil, b.Freeze(), nil }
func (b *keyedBackend[K]) restore(snaps [][]byte) error                { return b.Restore(snaps...) }

// NewReducingState creates a reducing state called name that combines values
// with reduce; call it from Open. It is stored as a value state of V, so V
// needs a codec when the job takes checkpoints. As with an
// AggregateFunction's Add, reduce returns a new value rather than modify
// memory that acc refers to.
func NewReducingState[V any, K comparable](ctx *OpenContext[K], name string, reduce func(acc, v V) V) (ReducingState[V], error) {
	if err := checkName(ctx.b, name); err != nil {
		return nil, err
	}
	v, err := newValue[V](ctx.b, name)
	if err != nil {
		return nil, err
	}
	return &reducingState[V]{v: v, reduce: reduce}, nil
}

type reducingState[V any] struct {
	v      *state.Value[V]
	reduce func(acc, v V) V
}

func (s *reducingState[V]) Get() (V, bool) { return s.v.Get() }
func (s *reducingState[V]) Clear()         { s.v.Clear() }

func (s *reducingState[V]) Add(v V) {
	if acc, ok := s.v.Get(); ok {
		v = s.reduce(acc, v)
	}
	s.v.Set(v)
}

// NewAggregatingState creates an aggregating state called name that folds
// values with agg; call it from Open. It is stored as a value state of the
// accumulator, so ACC needs a codec when the job takes checkpoints.
func NewAggregatingState[IN, ACC, OUT any, K comparable](ctx *OpenContext[K], name string, agg AggregateFunction[IN, ACC, OUT]) (AggregatingState[IN, ACC, OUT], error) {
	if err := checkName(ctx.b, name); err != nil {
		return nil, err
	}
	v, err := newValue[ACC](ctx.b, name)
	if err != nil {
		return nil, err
	}
	return &aggregatingState[IN, ACC, OUT]{acc: v, agg: agg}, nil
}

type aggregatingState[IN, ACC, OUT any] struct {
	acc *state.Value[ACC]
	agg AggregateFunction[IN, ACC, OUT]
}

func (s *aggregatingState[IN, ACC, OUT]) Get() (OUT, bool) {
	acc, ok := s.acc.Get()
	if !ok {
		var zero OUT
		return zero, false
	}
	return s.agg.GetResult(acc), true
}

func (s *aggregatingState[IN, ACC, OUT]) Add(v IN) {
	acc, ok := s.acc.Get()
	if !ok {
		acc = s.agg.CreateAccumulator()
	}
	s.acc.Set(s.agg.Add(v, acc))
}

func (s *aggregatingState[IN, ACC, OUT]) Clear() { s.acc.Clear() }
