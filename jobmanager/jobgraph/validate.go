package jobgraph

import (
	"errors"
	"fmt"
)

// Validate checks the graph and returns nil or an error joining (errors.Join)
// one *OperatorError per problem found. The problems are reported in a
// deterministic order: problems of the graph as a whole, then per operator in
// g.Operators order, then per edge in g.Edges order, then cycles (or, for an
// acyclic graph, operators listed before their inputs).
//
// It checks that the version is FormatVersion; that there is at least one
// operator; that each uid is non-empty and unique (ErrDuplicateUID); that
// name, kind and slot-sharing group are non-empty; that parallelism is at
// least 1 (ErrParallelism); that max parallelism is in [1,
// UpperBoundMaxParallelism] and not below the parallelism (ErrMaxParallelism);
// that chaining strategies and partitionings are known values (ErrInvalid);
// that edges refer to existing operators (ErrUnknownOperator); that there are
// no cycles (ErrCycle, naming an operator on the cycle and the cycle); that
// forward edges connect equal parallelisms (ErrForwardParallelism); that a
// Keyed operator has only Hash inputs (ErrInvalid); that operators without
// inputs are sources and sources have no inputs (ErrInvalid); and that
// g.Operators lists every operator after its inputs (ErrInvalid).
func (g *Graph) Validate() error {
	v := &validator{g: g, ix: newIndex(g)}
	v.checkGraph()
	for i := range g.Operators {
		v.checkOperator(i)
	}
	for i := range g.Edges {
		v.checkEdge(i)
	}
	v.checkAcyclic()
	return errors.Join(v.errs...)
}

// validator collects the problems found in one graph.
type validator struct {
	g    *Graph
	ix   *index
	errs []error
}

// add records a problem of op (nil for the graph as a whole).
func (v *validator) add(op *Operator, sentinel error, format string, args ...any) {
	oe := &OperatorError{Err: errorf(sentinel, format, args...)}
	if op != nil {
		oe.Operator, oe.UID = op.Name, op.UID
	}
	v.errs = append(v.errs, oe)
}

// label names an operator in messages: its name, or its uid when unnamed.
func label(op *Operator) string {
	if op.Name != "" {
		return op.Name
	}
	return "uid " + op.UID
}

func (v *validator) checkGraph() {
	if v.g.Version != FormatVersion {
		v.add(nil, ErrInvalid, "plan format version is %d but this build reads version %d; re-create the plan with a matching version of sluice", v.g.Version, FormatVersion)
	}
	if len(v.g.Operators) == 0 {
		v.add(nil, ErrInvalid, "the graph has no operators; add at least one source")
	}
	if cp := v.g.Checkpoints; cp != nil {
		if err := cp.WithDefaults().Validate(); err != nil {
			v.add(nil, ErrInvalid, "checkpoints: %v", err)
		}
	}
}

func (v *validator) checkOperator(i int) {
	op := &v.g.Operators[i]
	first := v.ix.pos[op.UID]
	switch {
	case op.UID == "":
		v.add(op, ErrInvalid, "uid is empty; set a uid or let the program derive one")
	case first != i:
		v.add(op, ErrDuplicateUID, "uid %s is also used by operator %q; give each operator its own uid", op.UID, v.g.Operators[first].Name)
	}
	if op.Name == "" {
		v.add(op, ErrInvalid, "operator #%d has an empty name; give it a name", i)
	}
	if op.Kind == "" {
		v.add(op, ErrInvalid, "kind is empty; set the operator's kind (for example %q or %q)", kindSource, "map")
	}
	if op.Parallelism < 1 {
		v.add(op, ErrParallelism, "parallelism is %d; set a parallelism of at least 1", op.Parallelism)
	}
	switch {
	case op.MaxParallelism < 1 || op.MaxParallelism > UpperBoundMaxParallelism:
		v.add(op, ErrMaxParallelism, "max parallelism is %d; set it between 1 and %d (the default is %d)", op.MaxParallelism, UpperBoundMaxParallelism, DefaultMaxParallelism)
	case op.Parallelism >= 1 && op.MaxParallelism < op.Parallelism:
		v.add(op, ErrMaxParallelism, "max parallelism %d is below the parallelism %d; raise the max parallelism or lower the parallelism", op.MaxParallelism, op.Parallelism)
	}
	if !op.Chaining.known() {
		v.add(op, ErrInvalid, "chaining strategy %q is unknown; use %q, %q or %q", op.Chaining, ChainAlways, ChainHead, ChainNever)
	}
	if op.SlotSharingGroup == "" {
		v.add(op, ErrInvalid, "slot-sharing group is empty; use %q unless the operator belongs to another group", DefaultSlotSharingGroup)
	}
	if first != i {
		return // its edges cannot be told apart from the first operator's
	}
	inputs := v.ix.in[op.UID]
	switch {
	case len(inputs) == 0 && op.Kind != kindSource:
		v.add(op, ErrInvalid, "has no inputs but is of kind %q; connect an input to it, or make it a source", op.Kind)
	case len(inputs) > 0 && op.Kind == kindSource:
		v.add(op, ErrInvalid, "is a source but has %d input edge(s); sources read from outside the job, remove the edges into it", len(inputs))
	}
	if op.Keyed {
		for _, ei := range inputs {
			e := v.g.Edges[ei]
			if e.Partitioning == Hash {
				continue
			}
			from := "uid " + e.Source
			if src := v.ix.op(v.g, e.Source); src != nil {
				from = label(src)
			}
			v.add(op, ErrInvalid, "is keyed but its input from %q has partitioning %q; key the stream (hash partitioning) before this operator", from, e.Partitioning)
		}
	}
}

func (v *validator) checkEdge(i int) {
	e := v.g.Edges[i]
	src, tgt := v.ix.op(v.g, e.Source), v.ix.op(v.g, e.Target)
	switch {
	case src == nil && tgt == nil:
		v.add(nil, ErrUnknownOperator, "edge #%d goes from uid %q to uid %q but neither operator is in the graph; remove the edge or add the operators", i, e.Source, e.Target)
	case src == nil:
		v.add(tgt, ErrUnknownOperator, "input edge comes from uid %q, which is not in the graph; remove the edge or add that operator", e.Source)
	case tgt == nil:
		v.add(src, ErrUnknownOperator, "output edge goes to uid %q, which is not in the graph; remove the edge or add that operator", e.Target)
	}
	if !e.Partitioning.known() {
		owner := src
		if owner == nil {
			owner = tgt
		}
		v.add(owner, ErrInvalid, "edge from uid %q to uid %q has unknown partitioning %q; use %q, %q, %q or %q", e.Source, e.Target, e.Partitioning, Forward, Rebalance, Hash, Broadcast)
	}
	if e.Partitioning == Forward && src != nil && tgt != nil &&
		src.Parallelism >= 1 && tgt.Parallelism >= 1 && src.Parallelism != tgt.Parallelism {
		v.add(src, ErrForwardParallelism, "forward edge to %q needs equal parallelism, have %d and %d; use Rebalance() or set the same parallelism", label(tgt), src.Parallelism, tgt.Parallelism)
	}
}

// checkAcyclic reports each cycle once, on its first operator in g.Operators
// order. An acyclic graph is then checked to list operators in a topological
// order, which Tasks relies on.
func (v *validator) checkAcyclic() {
	g, ix := v.g, v.ix
	n := len(g.Operators)
	adj := make([][]int, n)
	selfLoop := make([]bool, n)
	for _, e := range g.Edges {
		s, ok1 := ix.pos[e.Source]
		t, ok2 := ix.pos[e.Target]
		if !ok1 || !ok2 {
			continue
		}
		adj[s] = append(adj[s], t)
		if s == t {
			selfLoop[s] = true
		}
	}
	cycles := 0
	for _, comp := range stronglyConnected(adj) { // ordered by first operator
		if len(comp) == 1 && !selfLoop[comp[0]] {
			continue
		}
		cycles++
		start := comp[0]
		path := cyclePath(adj, comp, start)
		v.add(&g.Operators[start], ErrCycle, "is on a cycle %s; dataflows must be acyclic, remove one of these edges", describePath(g, path))
	}
	if cycles > 0 {
		return
	}
	for _, e := range g.Edges {
		s, ok1 := ix.pos[e.Source]
		t, ok2 := ix.pos[e.Target]
		if ok1 && ok2 && s > t {
			v.add(&g.Operators[t], ErrInvalid, "is listed before its input %q; list the operators in a topological order (every operator after its inputs)", label(&g.Operators[s]))
		}
	}
}

// describePath renders operator positions as "a -> b -> a", eliding the
// middle of very long cycles.
func describePath(g *Graph, path []int) string {
	const keep = 8
	s := ""
	for i, p := range path {
		if len(path) > keep+1 && i >= keep-1 && i < len(path)-1 {
			if i == keep-1 {
				s += fmt.Sprintf(" -> … (%d more)", len(path)-keep)
			}
			continue
		}
		if i > 0 {
			s += " -> "
		}
		s += fmt.Sprintf("%q", label(&g.Operators[p]))
	}
	return s
}
