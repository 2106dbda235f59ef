package stream

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/network"
)

// node is one operator of the dataflow being built, with the typed closures
// that build its runtime instances.
type node struct {
	env         *Environment
	id          int
	kind        string
	name        string
	uid         string
	uidExplicit bool
	parallelism int // 0: the environment's
	maxPar      int // 0: derived
	chaining    jobgraph.ChainingStrategy
	group       string // "": inherited from the inputs
	keyed       bool
	bounded     bool
	outType     string
	inputs      []*edge
	// inheritPar, if set, is the operator whose parallelism this one takes
	// when it sets none (AssignTimestampsAndWatermarks, as in Flink).
	inheritPar *node
	// checks are run by Plan, once the operator has its final name.
	checks []func() error
	// sides are the side outputs the operator declares (see SideOutput).
	sides []*sideOutput

	// build makes one subtask of the operator: given its output (an
	// input[OUT], nil for a sink) it returns its own input (an input[IN],
	// or a sourceHead for a source).
	build func(c *opContext, out any) (any, error)
	// writer makes an input[OUT] that sends records over channels.
	writer func(w writerSpec) any
	// fanout makes an input[OUT] that passes every batch to each output.
	fanout func(outs []any) any
	// discard makes an input[OUT] that drops records, for an unread stream.
	discard func() any
	// codecErr reports whether OUT records can cross a process boundary.
	codecErr func() error
	// input makes the function that feeds one input buffer of []IN records
	// to the operator's input.
	input func(in any) func(*network.Buffer) int
}

// edge is an input of a node.
type edge struct {
	from *node
	part jobgraph.Partitioning // "": forward when parallelisms match, else rebalance
	// route, for hash edges, returns a function mapping a record to the
	// consumer subtask, for a consumer of the given max parallelism and
	// parallelism. Its hasher is private to the call.
	route func(maxPar, par int) any
	// input, on an input of a two-input operator, makes the function that
	// feeds this edge's buffers to the operator's side it belongs to (see
	// twoInputNode); nil: the node's input.
	input func(in any) func(*network.Buffer) int
	// side, if set, is the side output of from that the edge carries,
	// instead of its main output (see SideOutput).
	side *sideOutput
}

// newNode adds an operator producing OUT records.
func newNode[OUT any](env *Environment, kind, name string, inputs []*edge) *node {
	n := &node{
		env:      env,
		id:       len(env.nodes),
		kind:     kind,
		name:     name,
		chaining: jobgraph.ChainAlways,
		inputs:   inputs,
		outType:  reflect.TypeFor[OUT]().String(),
		writer:   func(w writerSpec) any { return newPartitionWriter[OUT](w) },
		fanout:   func(outs []any) any { return newFanout[OUT](outs) },
		discard:  func() any { return discard[OUT]{} },
		codecErr: func() error { _, err := codec.For[OUT](); return err },
	}
	seen := map[*node]bool{}
	for _, in := range inputs {
		if in.from.env != env {
			env.fail(fmt.Errorf("%w: operator %q reads a stream of another environment", ErrInvalidJob, name))
		}
		if seen[in.from] {
			env.fail(fmt.Errorf("%w: operator %q reads the output of %q twice; a stream cannot be unioned with itself", ErrInvalidJob, name, in.from.name))
		}
		seen[in.from] = true
	}
	env.nodes = append(env.nodes, n)
	return n
}

// consumes records that the node reads IN records.
func consumes[IN any](n *node) {
	n.input = func(in any) func(*network.Buffer) int { return feedInput(in.(input[IN]), n) }
}

// decodeFrame decodes the records of one frame into recs, in place.
func decodeFrame[T any](c codec.Codec[T], data []byte, recs []T, op string) []T {
	for len(data) > 0 {
		recs = append(recs, *new(T))
		k, err := c.Decode(data, &recs[len(recs)-1])
		if err != nil {
			fail(fmt.Errorf("operator %q: a record from the network does not decode: %w", op, err))
		}
		data = data[k:]
	}
	return recs
}

// viewRaw returns the records of a frame whose encoding is their memory
// image without copying them: a slice of T over data. Such types are byte
// arrays (alignment 1), so any frame is aligned for them. The view is valid
// while data is, which is as long as a batch from memory is: until the
// push it is handed to returns and the frame goes back to its reader.
func viewRaw[T any](data []byte, size int, op string) []T {
	if len(data)%size != 0 {
		fail(fmt.Errorf("operator %q: a frame of %d bytes is not a whole number of %d-byte records", op, len(data), size))
	}
	if len(data) == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/size)
}

func (n *node) setParallelism(p int) {
	if p < 1 {
		n.env.fail(fmt.Errorf("%w: operator %q: parallelism %d must be at least 1", ErrInvalidJob, n.name, p))
		return
	}
	n.parallelism = p
}

// par returns the effective parallelism.
func (n *node) par() int {
	if n.parallelism > 0 {
		return n.parallelism
	}
	if n.inheritPar != nil {
		return n.inheritPar.par()
	}
	return n.env.parallelism
}

// checkAtPlan adds a check that Plan runs, when the operator has the name
// its errors must show.
func (n *node) checkAtPlan(check func() error) { n.checks = append(n.checks, check) }

// maxParallelism returns the effective max parallelism: the operator's, the
// environment's, or 128 raised to 1.5 times the parallelism rounded up to a
// power of two.
func (n *node) maxParallelism() int {
	if n.maxPar > 0 {
		return n.maxPar
	}
	if n.env.maxParallelism > 0 {
		return n.env.maxParallelism
	}
	p := n.par()
	m := jobgraph.DefaultMaxParallelism
	for m < p+p/2 && m < jobgraph.UpperBoundMaxParallelism {
		m *= 2
	}
	return m
}

func (n *node) slotGroup() string {
	if n.group != "" {
		return n.group
	}
	g := ""
	for _, in := range n.inputs {
		ig := in.from.slotGroup()
		if g != "" && ig != g {
			return jobgraph.DefaultSlotSharingGroup
		}
		g = ig
	}
	if g == "" {
		return jobgraph.DefaultSlotSharingGroup
	}
	return g
}

func (e *edge) partitioning(to *node) jobgraph.Partitioning {
	if e.part != "" {
		return e.part
	}
	if e.from.par() == to.par() {
		return jobgraph.Forward
	}
	return jobgraph.Rebalance
}

// Plan builds and validates the job graph without running anything.
func (e *Environment) Plan(name string) (*jobgraph.Graph, error) {
	errs := e.errs
	for _, n := range e.nodes {
		for _, check := range n.checks {
			if err := check(); err != nil {
				errs = append(errs[:len(errs):len(errs)], err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(e.nodes) == 0 {
		return nil, fmt.Errorf("%w: job %q has no operators; add a source and a sink before Execute", ErrInvalidJob, name)
	}
	g := &jobgraph.Graph{Version: jobgraph.FormatVersion, Name: name, ChainingDisabled: e.chainingOff}
	if e.checkpoints.Interval > 0 {
		cp := e.checkpoints
		g.Checkpoints = &cp
	}
	e.byUID = make(map[string]*node, len(e.nodes))
	ordinals := map[string]int{}
	for _, n := range e.nodes {
		var inUIDs []string
		for _, in := range n.inputs {
			inUIDs = append(inUIDs, in.from.uid)
		}
		if !n.uidExplicit {
			shape := fmt.Sprint(n.kind, inUIDs)
			n.uid = jobgraph.DeriveUID(n.kind, inUIDs, ordinals[shape])
			ordinals[shape]++
		}
		if other, dup := e.byUID[n.uid]; dup {
			return nil, fmt.Errorf("%w: operators %q and %q have the same uid %q; give each a unique UID", ErrInvalidJob, other.name, n.name, n.uid)
		}
		e.byUID[n.uid] = n
		g.Operators = append(g.Operators, jobgraph.Operator{
			UID:              n.uid,
			UIDExplicit:      n.uidExplicit,
			Name:             n.name,
			Kind:             n.kind,
			Parallelism:      n.par(),
			MaxParallelism:   n.maxParallelism(),
			SlotSharingGroup: n.slotGroup(),
			Chaining:         n.chaining,
			Keyed:            n.keyed,
			Bounded:          n.bounded,
			OutType:          n.outType,
		})
		for _, in := range n.inputs {
			g.Edges = append(g.Edges, jobgraph.Edge{Source: in.from.uid, Target: n.uid, Partitioning: in.partitioning(n)})
		}
	}
	if err := g.Seal(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJob, err)
	}
	// Records of an edge that is not chained are exchanged between tasks,
	// which on a cluster means between processes: they need a codec.
	for _, edge := range g.Edges {
		if g.Chainable(edge) {
			continue
		}
		n := e.byUID[edge.Source]
		codecErr, outType := n.codecErr, n.outType
		if in := n.edgeTo(e.byUID[edge.Target]); in != nil && in.side != nil {
			codecErr, outType = in.side.codecErr, in.side.outType.String()
		}
		if err := codecErr(); err != nil {
			return nil, fmt.Errorf("%w: operator %q sends %s records to %q over an exchange, which needs a codec: %w",
				ErrInvalidJob, n.name, outType, e.byUID[edge.Target].name, err)
		}
	}
	e.planned = g
	return g, nil
}

// edgeTo returns the typed edge from n into the node with uid target.
func (n *node) edgeTo(target *node) *edge {
	i := slices.IndexFunc(target.inputs, func(e *edge) bool { return e.from == n })
	if i < 0 {
		return nil
	}
	return target.inputs[i]
}
