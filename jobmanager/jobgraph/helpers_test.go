package jobgraph

import (
	"errors"
	"testing"
)

// newOp returns a valid operator with defaults for the fields tests rarely
// care about.
func newOp(uid, name, kind string, parallelism int) Operator {
	return Operator{
		UID:              uid,
		Name:             name,
		Kind:             kind,
		Parallelism:      parallelism,
		MaxParallelism:   DefaultMaxParallelism,
		SlotSharingGroup: DefaultSlotSharingGroup,
		Chaining:         ChainAlways,
	}
}

// edge returns an edge from source to target.
func edge(source, target string, p Partitioning) Edge {
	return Edge{Source: source, Target: target, Partitioning: p}
}

// pipeline returns the valid graph source -> map -> filter -> sink, all
// forward edges with parallelism 2.
func pipeline() *Graph {
	return &Graph{
		Version: FormatVersion,
		Name:    "pipeline",
		Operators: []Operator{
			newOp("src", "source", "source", 2),
			newOp("map", "parse", "map", 2),
			newOp("flt", "drop-empty", "filter", 2),
			newOp("snk", "print", "sink", 2),
		},
		Edges: []Edge{
			edge("src", "map", Forward),
			edge("map", "flt", Forward),
			edge("flt", "snk", Forward),
		},
	}
}

// wordCount returns the valid graph
//
//	lines(1) -> tokenize(2) =hash=> count(4, keyed) -> sink(4)
//
// where lines -> tokenize is a rebalance edge.
func wordCount() *Graph {
	count := newOp("count", "count", "reduce", 4)
	count.Keyed = true
	return &Graph{
		Version: FormatVersion,
		Name:    "wordcount",
		Operators: []Operator{
			newOp("lines", "lines", "source", 1),
			newOp("tok", "tokenize", "flatmap", 2),
			count,
			newOp("out", "print", "sink", 4),
		},
		Edges: []Edge{
			edge("lines", "tok", Rebalance),
			edge("tok", "count", Hash),
			edge("count", "out", Forward),
		},
	}
}

// operatorErrors splits an error returned by Validate into its
// *OperatorError parts, failing the test if it has any other shape.
func operatorErrors(t *testing.T, err error) []*OperatorError {
	t.Helper()
	if err == nil {
		return nil
	}
	var parts []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts = j.Unwrap()
	} else {
		parts = []error{err}
	}
	out := make([]*OperatorError, 0, len(parts))
	for _, p := range parts {
		var oe *OperatorError
		if !errors.As(p, &oe) || oe != p {
			t.Fatalf("part %q of the error is %T, want *OperatorError", p, p)
		}
		out = append(out, oe)
	}
	return out
}
