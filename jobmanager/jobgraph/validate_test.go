package jobgraph

import (
	"errors"
	"strings"
	"testing"
)

// wantErr is one expected problem: its sentinel, the operator it is
// reported on (empty for the graph as a whole) and text the message holds.
type wantErr struct {
	sentinel error
	operator string
	contains string
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		graph  func() *Graph
		mutate func(g *Graph)
		want   []wantErr
	}{
		{
			name:   "valid pipeline",
			graph:  pipeline,
			mutate: func(g *Graph) {},
		},
		{
			name:   "valid word count",
			graph:  wordCount,
			mutate: func(g *Graph) {},
		},
		{
			name:   "wrong version",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Version = 2 },
			want:   []wantErr{{ErrInvalid, "", "version is 2 but this build reads version 1"}},
		},
		{
			name:   "no operators",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators, g.Edges = nil, nil },
			want:   []wantErr{{ErrInvalid, "", "no operators; add at least one source"}},
		},
		{
			name:   "empty uid",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[3].UID = ""; g.Edges[2].Target = "" },
			want:   []wantErr{{ErrInvalid, "print", "uid is empty"}},
		},
		{
			name:   "duplicate uid",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[3].UID = "map"; g.Edges = g.Edges[:2] },
			want:   []wantErr{{ErrDuplicateUID, "print", `uid map is also used by operator "parse"`}},
		},
		{
			name:   "empty name",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[1].Name = "" },
			want:   []wantErr{{ErrInvalid, "", "operator #1 has an empty name; give it a name"}},
		},
		{
			name:   "empty kind",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[1].Kind = "" },
			want:   []wantErr{{ErrInvalid, "parse", "kind is empty"}},
		},
		{
			name:   "zero parallelism",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[2].Parallelism = 0 },
			want:   []wantErr{{ErrParallelism, "drop-empty", "parallelism is 0; set a parallelism of at least 1"}},
		},
		{
			name:   "negative parallelism",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[2].Parallelism = -3 },
			want:   []wantErr{{ErrParallelism, "drop-empty", "parallelism is -3"}},
		},
		{
			name:   "zero max parallelism",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[0].MaxParallelism = 0 },
			want:   []wantErr{{ErrMaxParallelism, "source", "max parallelism is 0; set it between 1 and 32768"}},
		},
		{
			name:   "max parallelism above the upper bound",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[0].MaxParallelism = UpperBoundMaxParallelism + 1 },
			want:   []wantErr{{ErrMaxParallelism, "source", "max parallelism is 32769"}},
		},
		{
			name: "max parallelism below parallelism",
			graph: func() *Graph {
				g := wordCount()
				g.Operators[2].MaxParallelism = 3
				return g
			},
			mutate: func(g *Graph) {},
			want:   []wantErr{{ErrMaxParallelism, "count", "max parallelism 3 is below the parallelism 4"}},
		},
		{
			name:   "max parallelism at the upper bound is fine",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[0].MaxParallelism = UpperBoundMaxParallelism },
		},
		{
			name:   "unknown chaining strategy",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[1].Chaining = "sometimes" },
			want:   []wantErr{{ErrInvalid, "parse", `chaining strategy "sometimes" is unknown`}},
		},
		{
			name:   "empty chaining strategy",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[1].Chaining = "" },
			want:   []wantErr{{ErrInvalid, "parse", `chaining strategy "" is unknown; use "always", "head" or "never"`}},
		},
		{
			name:   "empty slot-sharing group",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[1].SlotSharingGroup = "" },
			want:   []wantErr{{ErrInvalid, "parse", `slot-sharing group is empty; use "default"`}},
		},
		{
			name:   "unknown partitioning",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Edges[1].Partitioning = "shuffle" },
			want:   []wantErr{{ErrInvalid, "parse", `unknown partitioning "shuffle"`}},
		},
		{
			name:   "edge to unknown operator",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Edges = append(g.Edges, edge("flt", "ghost", Rebalance)) },
			want:   []wantErr{{ErrUnknownOperator, "drop-empty", `output edge goes to uid "ghost"`}},
		},
		{
			name:   "edge from unknown operator",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Edges[2].Source = "ghost" },
			want:   []wantErr{{ErrUnknownOperator, "print", `input edge comes from uid "ghost"`}},
		},
		{
			name:   "edge between unknown operators",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Edges = append(g.Edges, edge("ghost", "spirit", Rebalance)) },
			want:   []wantErr{{ErrUnknownOperator, "", `edge #3 goes from uid "ghost" to uid "spirit" but neither operator is in the graph`}},
		},
		{
			name:   "cycle",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Edges = append(g.Edges, edge("flt", "map", Rebalance)) },
			want:   []wantErr{{ErrCycle, "parse", `is on a cycle "parse" -> "drop-empty" -> "parse"; dataflows must be acyclic`}},
		},
		{
			name:   "self loop",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Edges = append(g.Edges, edge("snk", "snk", Rebalance)) },
			want:   []wantErr{{ErrCycle, "print", `is on a cycle "print" -> "print"`}},
		},
		{
			name: "two cycles",
			graph: func() *Graph {
				g := pipeline()
				g.Edges = append(g.Edges, edge("snk", "flt", Rebalance), edge("map", "map", Rebalance))
				return g
			},
			mutate: func(g *Graph) {},
			want: []wantErr{
				{ErrCycle, "parse", `"parse" -> "parse"`},
				{ErrCycle, "drop-empty", `"drop-empty" -> "print" -> "drop-empty"`},
			},
		},
		{
			name: "forward edge between different parallelisms",
			graph: func() *Graph {
				g := wordCount()
				g.Operators[2].Keyed = false
				g.Edges[1].Partitioning = Forward
				return g
			},
			mutate: func(g *Graph) {},
			want: []wantErr{{ErrForwardParallelism, "tokenize",
				`operator "tokenize" (uid tok): forward edge to "count" needs equal parallelism, have 2 and 4; use Rebalance() or set the same parallelism`}},
		},
		{
			name:   "keyed operator with a non-hash input",
			graph:  wordCount,
			mutate: func(g *Graph) { g.Edges[1].Partitioning = Rebalance },
			want:   []wantErr{{ErrInvalid, "count", `is keyed but its input from "tokenize" has partitioning "rebalance"`}},
		},
		{
			name:   "non-source without inputs",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Edges = g.Edges[1:] },
			want:   []wantErr{{ErrInvalid, "parse", `has no inputs but is of kind "map"; connect an input to it, or make it a source`}},
		},
		{
			name:   "source with an input",
			graph:  pipeline,
			mutate: func(g *Graph) { g.Operators[1].Kind = "source" },
			want:   []wantErr{{ErrInvalid, "parse", "is a source but has 1 input edge(s)"}},
		},
		{
			name: "operators not in topological order",
			graph: func() *Graph {
				g := pipeline()
				g.Operators[2], g.Operators[3] = g.Operators[3], g.Operators[2]
				return g
			},
			mutate: func(g *Graph) {},
			want:   []wantErr{{ErrInvalid, "print", `is listed before its input "drop-empty"; list the operators in a topological order`}},
		},
		{
			name:  "several problems, in a deterministic order",
			graph: wordCount,
			mutate: func(g *Graph) {
				g.Version = 0
				g.Operators[1].Parallelism = 0
				g.Operators[3].Chaining = "maybe"
				g.Operators[2].UID = "tok"
				g.Edges = append(g.Edges, edge("out", "ghost", Forward), edge("out", "lines", Rebalance))
			},
			want: []wantErr{
				{ErrInvalid, "", "version is 0"},
				{ErrInvalid, "lines", "is a source but has 1 input edge(s)"},
				{ErrParallelism, "tokenize", "parallelism is 0"},
				{ErrDuplicateUID, "count", `uid tok is also used by operator "tokenize"`},
				{ErrInvalid, "print", `chaining strategy "maybe"`},
				{ErrUnknownOperator, "tokenize", `output edge goes to uid "count"`},
				{ErrUnknownOperator, "print", `input edge comes from uid "count"`},
				{ErrUnknownOperator, "print", `output edge goes to uid "ghost"`},
				{ErrInvalid, "lines", `is listed before its input "print"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.graph()
			tt.mutate(g)
			err := g.Validate()
			got := operatorErrors(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() gave %d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				oe := got[i]
				msg := oe.Error()
				if !errors.Is(oe, w.sentinel) {
					t.Errorf("problem %d %q: not %v", i, msg, w.sentinel)
				}
				if !errors.Is(err, w.sentinel) {
					t.Errorf("joined error does not match %v", w.sentinel)
				}
				if oe.Operator != w.operator {
					t.Errorf("problem %d %q: on operator %q, want %q", i, msg, oe.Operator, w.operator)
				}
				if w.operator != "" && !strings.Contains(msg, `operator "`+w.operator+`"`) {
					t.Errorf("problem %d %q: message does not name operator %q", i, msg, w.operator)
				}
				if !strings.Contains(msg, w.contains) {
					t.Errorf("problem %d: message\n\t%s\ndoes not contain\n\t%s", i, msg, w.contains)
				}
			}
			// The same graph gives the same report every time.
			for range 3 {
				again := tt.graph()
				tt.mutate(again)
				if err2 := again.Validate(); errString(err2) != errString(err) {
					t.Fatalf("Validate() is not deterministic:\n%v\nthen\n%v", err, err2)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestOperatorErrorFormat(t *testing.T) {
	inner := errorf(ErrParallelism, "parallelism is 0")
	tests := []struct {
		err  *OperatorError
		want string
	}{
		{&OperatorError{Operator: "map", UID: "ab12", Err: inner}, `operator "map" (uid ab12): parallelism is 0`},
		{&OperatorError{Operator: "map", Err: inner}, `operator "map" (no uid): parallelism is 0`},
		{&OperatorError{UID: "ab12", Err: inner}, `unnamed operator (uid ab12): parallelism is 0`},
		{&OperatorError{Err: inner}, `job graph: parallelism is 0`},
		{&OperatorError{Operator: "map"}, `operator "map" (no uid): unknown error`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(tests[0].err, ErrParallelism) {
		t.Error("errors.Is(OperatorError, ErrParallelism) = false")
	}
}

func TestValidateLongCycleMessageIsBounded(t *testing.T) {
	g := &Graph{Version: FormatVersion, Name: "ring"}
	g.Operators = append(g.Operators, newOp("s", "s", "source", 1))
	const n = 50
	for i := range n {
		g.Operators = append(g.Operators, newOp(DeriveUID("map", nil, i), "m", "map", 1))
	}
	g.Edges = append(g.Edges, edge("s", g.Operators[1].UID, Rebalance))
	for i := 1; i <= n; i++ {
		next := i%n + 1
		g.Edges = append(g.Edges, edge(g.Operators[i].UID, g.Operators[next].UID, Rebalance))
	}
	got := operatorErrors(t, g.Validate())
	if len(got) != 1 || !errors.Is(got[0], ErrCycle) {
		t.Fatalf("want one cycle error, got %v", got)
	}
	msg := got[0].Error()
	if !strings.Contains(msg, "(43 more)") || len(msg) > 400 {
		t.Errorf("long cycle not elided: %s", msg)
	}
}
