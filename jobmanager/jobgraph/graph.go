package jobgraph

import "github.com/sluicehq/sluice/jobmanager/checkpoint"

// FormatVersion is the version of the plan format written by this package.
// Parse rejects plans of any other version.
const FormatVersion = 1

// Partitioning says how the records on an edge are distributed over the
// consumer's subtasks.
type Partitioning string

// The known partitionings.
const (
	Forward   Partitioning = "forward"   // subtask i -> subtask i; needs equal parallelism
	Rebalance Partitioning = "rebalance" // round-robin over all consumer subtasks
	Hash      Partitioning = "hash"      // by key group of the record's key
	Broadcast Partitioning = "broadcast" // every record to every consumer subtask
)

// known reports whether p is one of the defined partitionings.
func (p Partitioning) known() bool {
	switch p {
	case Forward, Rebalance, Hash, Broadcast:
		return true
	}
	return false
}

// ChainingStrategy says whether an operator may be chained to its neighbours.
type ChainingStrategy string

// The known chaining strategies.
const (
	ChainAlways ChainingStrategy = "always" // default: chain with predecessor and successor when the rule allows
	ChainHead   ChainingStrategy = "head"   // StartNewChain: never chained to its predecessor, may chain to its successor
	ChainNever  ChainingStrategy = "never"  // DisableChaining: neither
)

// known reports whether c is one of the defined chaining strategies.
func (c ChainingStrategy) known() bool {
	switch c {
	case ChainAlways, ChainHead, ChainNever:
		return true
	}
	return false
}

// DefaultSlotSharingGroup is the slot-sharing group of operators that were
// not put in a group explicitly.
const DefaultSlotSharingGroup = "default"

// DefaultMaxParallelism is the max parallelism (number of key groups) used
// when the program does not set one.
const DefaultMaxParallelism = 128

// UpperBoundMaxParallelism is the largest max parallelism allowed.
const UpperBoundMaxParallelism = 32768

// Graph is a job's dataflow plan: operators and the edges between them. It is
// what a user's program produces and what the JobManager schedules.
type Graph struct {
	Version          int        `json:"version"` // FormatVersion
	Name             string     `json:"name"`
	ChainingDisabled bool       `json:"chainingDisabled,omitempty"`
	Operators        []Operator `json:"operators"` // in the order the program created them (a topological order for valid graphs)
	Edges            []Edge     `json:"edges"`
	// Checkpoints are the job's checkpoint settings, nil when the job
	// takes none.
	Checkpoints *checkpoint.Config `json:"checkpoints,omitempty"`
	Fingerprint string             `json:"fingerprint,omitempty"`
}

// Operator is one node of the dataflow.
type Operator struct {
	UID              string           `json:"uid"`
	UIDExplicit      bool             `json:"uidExplicit,omitempty"` // set by the user, not derived
	Name             string           `json:"name"`
	Kind             string           `json:"kind"` // e.g. "source", "map", "filter", "flatmap", "reduce", "process", "sink"
	Parallelism      int              `json:"parallelism"`
	MaxParallelism   int              `json:"maxParallelism"`
	SlotSharingGroup string           `json:"slotSharingGroup"`
	Chaining         ChainingStrategy `json:"chaining"`
	Keyed            bool             `json:"keyed,omitempty"`   // consumes a keyed stream (its inputs are hash edges)
	Bounded          bool             `json:"bounded,omitempty"` // sources only: finite input
	OutType          string           `json:"outType,omitempty"` // Go type of its output records, for display
}

// kindSource is the Kind of operators that read from outside the job. They
// are exactly the operators without inputs.
const kindSource = "source"

// Edge connects the output of one operator to the input of another.
type Edge struct {
	Source       string       `json:"source"` // operator uid
	Target       string       `json:"target"` // operator uid
	Partitioning Partitioning `json:"partitioning"`
}

// Operator returns the operator with the given uid. The pointer refers into
// g.Operators, so changes through it change the graph.
func (g *Graph) Operator(uid string) (*Operator, bool) {
	for i := range g.Operators {
		if g.Operators[i].UID == uid {
			return &g.Operators[i], true
		}
	}
	return nil, false
}

// Inputs returns the edges into the operator with uid, in g.Edges order.
func (g *Graph) Inputs(uid string) []Edge {
	var in []Edge
	for _, e := range g.Edges {
		if e.Target == uid {
			in = append(in, e)
		}
	}
	return in
}

// Outputs returns the edges out of the operator with uid, in g.Edges order.
func (g *Graph) Outputs(uid string) []Edge {
	var out []Edge
	for _, e := range g.Edges {
		if e.Source == uid {
			out = append(out, e)
		}
	}
	return out
}

// index is a lookup structure over a graph, so that whole-graph algorithms
// stay linear. For duplicate uids (an invalid graph) the first operator wins.
type index struct {
	pos map[string]int   // uid -> position in g.Operators
	in  map[string][]int // uid -> positions in g.Edges of its input edges
	out map[string][]int // uid -> positions in g.Edges of its output edges
}

func newIndex(g *Graph) *index {
	ix := &index{
		pos: make(map[string]int, len(g.Operators)),
		in:  make(map[string][]int, len(g.Operators)),
		out: make(map[string][]int, len(g.Operators)),
	}
	for i, op := range g.Operators {
		if _, dup := ix.pos[op.UID]; !dup {
			ix.pos[op.UID] = i
		}
	}
	for i, e := range g.Edges {
		ix.in[e.Target] = append(ix.in[e.Target], i)
		ix.out[e.Source] = append(ix.out[e.Source], i)
	}
	return ix
}

// op returns the operator with uid, or nil.
func (ix *index) op(g *Graph, uid string) *Operator {
	i, ok := ix.pos[uid]
	if !ok {
		return nil
	}
	return &g.Operators[i]
}
