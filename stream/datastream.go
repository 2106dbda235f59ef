package stream

import (
	"fmt"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

// Collector receives the records an operator emits.
type Collector[T any] interface {
	Collect(T)
}

// DataStream is a stream of T records: the output of an operator, or a
// union or repartitioning of other streams.
type DataStream[T any] struct {
	env *Environment
	op  *node          // the operator whose output this is; nil for a union
	ins []*edge        // what a consumer of the stream reads
	ts  *timestamps[T] // the records' timestamp function; nil: none (see timestampsOf)
}

func streamOf[T any](n *node) *DataStream[T] {
	return &DataStream[T]{env: n.env, op: n, ins: []*edge{{from: n}}}
}

// edges returns fresh copies of the stream's edges for a new consumer.
func (s *DataStream[T]) edges() []*edge {
	out := make([]*edge, len(s.ins))
	for i, e := range s.ins {
		c := *e
		out[i] = &c
	}
	return out
}

// Environment returns the environment the stream belongs to.
func (s *DataStream[T]) Environment() *Environment { return s.env }

// operator returns the operator to configure, or records an error when the
// stream is not an operator's output.
func (s *DataStream[T]) operator(setting string) *node {
	if s.op == nil || len(s.ins) != 1 || s.ins[0].part != "" || s.ins[0].side != nil {
		s.env.fail(fmt.Errorf("%w: %s was called on a union, repartitioned or side-output stream; set it on the operator that produces the stream", ErrInvalidJob, setting))
		return nil
	}
	return s.op
}

// Name sets the operator's name, shown in the plan, logs and errors.
func (s *DataStream[T]) Name(name string) *DataStream[T] {
	if n := s.operator("Name"); n != nil {
		n.name = name
	}
	return s
}

// UID sets the operator's stable id, under which its state is found in
// savepoints. Without one, the id is derived from the graph's shape.
func (s *DataStream[T]) UID(uid string) *DataStream[T] {
	if n := s.operator("UID"); n != nil {
		n.uid, n.uidExplicit = uid, true
	}
	return s
}

// SetParallelism sets the operator's number of parallel subtasks.
func (s *DataStream[T]) SetParallelism(p int) *DataStream[T] {
	if n := s.operator("SetParallelism"); n != nil {
		n.setParallelism(p)
	}
	return s
}

// SetMaxParallelism sets the operator's max parallelism: the number of key
// groups, and so the highest parallelism its state can be rescaled to.
func (s *DataStream[T]) SetMaxParallelism(p int) *DataStream[T] {
	if n := s.operator("SetMaxParallelism"); n != nil {
		n.maxPar = p
	}
	return s
}

// StartNewChain begins a new operator chain at this operator.
func (s *DataStream[T]) StartNewChain() *DataStream[T] {
	if n := s.operator("StartNewChain"); n != nil {
		n.chaining = jobgraph.ChainHead
	}
	return s
}

// DisableChaining keeps this operator out of any chain.
func (s *DataStream[T]) DisableChaining() *DataStream[T] {
	if n := s.operator("DisableChaining"); n != nil {
		n.chaining = jobgraph.ChainNever
	}
	return s
}

// SlotSharingGroup puts the operator in a slot-sharing group. Operators of
// different groups never share a slot. Without it, an operator inherits the
// group of its inputs.
func (s *DataStream[T]) SlotSharingGroup(group string) *DataStream[T] {
	if n := s.operator("SlotSharingGroup"); n != nil {
		n.group = group
	}
	return s
}

func (s *DataStream[T]) repartition(p jobgraph.Partitioning) *DataStream[T] {
	ins := s.edges()
	for _, e := range ins {
		e.part, e.route = p, nil
	}
	return &DataStream[T]{env: s.env, op: s.op, ins: ins, ts: s.ts}
}

// Rebalance distributes records round-robin over the consumer's subtasks.
func (s *DataStream[T]) Rebalance() *DataStream[T] { return s.repartition(jobgraph.Rebalance) }

// Broadcast sends every record to every subtask of the consumer.
func (s *DataStream[T]) Broadcast() *DataStream[T] { return s.repartition(jobgraph.Broadcast) }

// Forward sends the records of subtask i to subtask i of the consumer, which
// must have the same parallelism.
func (s *DataStream[T]) Forward() *DataStream[T] { return s.repartition(jobgraph.Forward) }

// Union merges streams of the same type into one. It adds no operator: the
// consumer reads all the streams. The union has timestamps if all the
// streams get theirs from the same function (one WatermarkStrategy or
// WithTimestamps call); otherwise give it one with WithTimestamps.
func Union[T any](first *DataStream[T], others ...*DataStream[T]) *DataStream[T] {
	u := &DataStream[T]{env: first.env, ins: first.edges(), ts: first.ts}
	for _, o := range others {
		u.ins = append(u.ins, o.edges()...)
		if o.ts != u.ts {
			u.ts = nil
		}
	}
	return u
}

// Sink is a terminal operator; its methods set the same properties as
// DataStream's.
type Sink struct{ n *node }

// Name sets the sink's name.
func (s *Sink) Name(name string) *Sink { s.n.name = name; return s }

// UID sets the sink's stable id.
func (s *Sink) UID(uid string) *Sink { s.n.uid, s.n.uidExplicit = uid, true; return s }

// SetParallelism sets the sink's number of parallel subtasks.
func (s *Sink) SetParallelism(p int) *Sink { s.n.setParallelism(p); return s }

// SetMaxParallelism sets the sink's max parallelism.
func (s *Sink) SetMaxParallelism(p int) *Sink { s.n.maxPar = p; return s }

// StartNewChain begins a new chain at the sink.
func (s *Sink) StartNewChain() *Sink { s.n.chaining = jobgraph.ChainHead; return s }

// DisableChaining keeps the sink out of any chain.
func (s *Sink) DisableChaining() *Sink { s.n.chaining = jobgraph.ChainNever; return s }

// SlotSharingGroup puts the sink in a slot-sharing group.
func (s *Sink) SlotSharingGroup(group string) *Sink { s.n.group = group; return s }
