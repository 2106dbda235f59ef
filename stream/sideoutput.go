package stream

import (
	"fmt"
	"reflect"

	"github.com/sluicehq/sluice/stream/codec"
)

// Side outputs.
//
// An operator may emit, besides its main output, records of other types to
// named side outputs, as Flink's OutputTag. A side output is a real output
// of the operator in the job graph: SideOutput adds an edge from the
// operator whose consumer reads the side output's records. The typed edge
// carries the side output (edge.side), and NewChain routes it apart: a
// chained consumer, or a network writer of the side output's type, goes to
// the operator's side outputs by name (opContext.sides), not to its main
// output. Watermarks, barriers and the end of the stream go to every
// output, side outputs included.

// OutputTag names a side output of records of type T. Tags are compared by
// name: two tags of one name must have the same type.
type OutputTag[T any] struct {
	name string
}

// NewOutputTag returns the tag of a side output called name, which must not
// be empty.
func NewOutputTag[T any](name string) OutputTag[T] { return OutputTag[T]{name: name} }

// Name returns the tag's name.
func (t OutputTag[T]) Name() string { return t.name }

// sideOutput is one side output of an operator: its name, its record type,
// and how to build what a consumer of it reads through.
type sideOutput struct {
	name    string
	outType reflect.Type
	// ts is the *timestamps[T] of its records, nil when they have none.
	ts       any
	writer   func(w writerSpec) any
	fanout   func(outs []any) any
	discard  func() any
	codecErr func() error
}

func newSideOutput[T any](name string, ts *timestamps[T]) *sideOutput {
	s := &sideOutput{
		name:     name,
		outType:  reflect.TypeFor[T](),
		writer:   func(w writerSpec) any { return newPartitionWriter[T](w) },
		fanout:   func(outs []any) any { return newFanout[T](outs) },
		discard:  func() any { return discard[T]{} },
		codecErr: func() error { _, err := codec.For[T](); return err },
	}
	if ts != nil {
		s.ts = ts
	}
	return s
}

// declareSideOutput records that operator n emits T records to the side
// output tag (with their timestamps ts, or nil), so that SideOutput can
// read it.
func declareSideOutput[T any](n *node, tag OutputTag[T], ts *timestamps[T]) {
	if tag.name == "" {
		n.checkAtPlan(func() error {
			return errorf("operator %q: a side output tag has an empty name; make it with NewOutputTag", n.name)
		})
		return
	}
	for _, s := range n.sides {
		if s.name == tag.name {
			n.checkAtPlan(func() error { return errorf("operator %q: side output %q is declared twice", n.name, tag.name) })
			return
		}
	}
	n.sides = append(n.sides, newSideOutput(tag.name, ts))
}

// SideOutput returns the records that the operator producing ds emits to
// the side output tag: for a window operator, the late records of
// WindowedStream.SideOutputLateData. It adds no operator: the consumers of
// the returned stream read the operator's side output, as a second output
// next to ds. The stream keeps the timestamps the operator gives its side
// output (late records keep the window input's). The plan fails if the
// operator has no side output of that name, or one of another type.
//
// The returned stream is not an operator's output: set names, uids and
// parallelism on the operator that produces ds.
func SideOutput[T, X any](ds *DataStream[X], tag OutputTag[T]) *DataStream[T] {
	n := ds.op
	if n == nil || len(ds.ins) != 1 || ds.ins[0].part != "" || ds.ins[0].side != nil {
		ds.env.fail(fmt.Errorf("%w: SideOutput(%q) was called on a union, repartitioned or side-output stream; call it on the output of the operator that has the side output", ErrInvalidJob, tag.name))
		return &DataStream[T]{env: ds.env}
	}
	want := reflect.TypeFor[T]()
	var side *sideOutput
	for _, s := range n.sides {
		if s.name == tag.name {
			side = s
		}
	}
	res := &DataStream[T]{env: ds.env, op: n}
	switch {
	case side == nil:
		n.checkAtPlan(func() error {
			return errorf("operator %q has no side output %q (a window operator has one for late records if given SideOutputLateData with that tag)", n.name, tag.name)
		})
		side = newSideOutput[T](tag.name, nil)
	case side.outType != want:
		has := side.outType
		n.checkAtPlan(func() error {
			return errorf("operator %q: side output %q has %v records, not %v as the tag given to SideOutput", n.name, tag.name, has, want)
		})
		side = newSideOutput[T](tag.name, nil)
	default:
		if ts, ok := side.ts.(*timestamps[T]); ok {
			res.ts = ts
		}
	}
	res.ins = []*edge{{from: n, side: side}}
	return res
}

// sideOutputOf returns what the operator being built writes the records of
// its side output name to: its consumers, or a discard when it has none.
func sideOutputOf[T any](c *opContext, name string) input[T] {
	outs := c.sides[name]
	switch len(outs) {
	case 0:
		return discard[T]{}
	case 1:
		return outs[0].(input[T])
	default:
		return newFanout[T](outs).(fanout[T])
	}
}

// routeSide adds out, a consumer (chained operator or network writer)
// reached through in, to the side outputs of the operator being built if
// in reads a side output, and reports whether it did.
func routeSide(sides *map[string][]any, in *edge, out any) bool {
	if in == nil || in.side == nil {
		return false
	}
	if *sides == nil {
		*sides = map[string][]any{}
	}
	(*sides)[in.side.name] = append((*sides)[in.side.name], out)
	return true
}
