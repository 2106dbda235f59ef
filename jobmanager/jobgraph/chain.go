package jobgraph

import "strings"

// Chainable reports whether edge e can be chained, that is, whether its target
// can run in the same task (goroutine) as its source. This is the one
// chaining rule of Sluice; the scheduler and the TaskManager both call it.
// An edge is chainable when all of these hold:
//   - e.Partitioning is Forward;
//   - source and target exist and have the same parallelism;
//   - source and target are in the same slot-sharing group;
//   - g.ChainingDisabled is false;
//   - the source's Chaining is not ChainNever;
//   - the target's Chaining is ChainAlways;
//   - the target has exactly one input edge.
func (g *Graph) Chainable(e Edge) bool {
	src, ok := g.Operator(e.Source)
	if !ok {
		return false
	}
	tgt, ok := g.Operator(e.Target)
	if !ok {
		return false
	}
	inputs := 0
	for _, in := range g.Edges {
		if in.Target == e.Target {
			inputs++
		}
	}
	return chainable(g, e, src, tgt, inputs)
}

// chainable is the rule itself, with the lookups done by the caller.
func chainable(g *Graph, e Edge, src, tgt *Operator, targetInputs int) bool {
	return e.Partitioning == Forward &&
		e.Source != e.Target &&
		src.Parallelism == tgt.Parallelism &&
		src.SlotSharingGroup == tgt.SlotSharingGroup &&
		!g.ChainingDisabled &&
		src.Chaining != ChainNever &&
		tgt.Chaining == ChainAlways &&
		targetInputs == 1
}

// Task is a chain of operators run by one goroutine per subtask.
type Task struct {
	ID               string   `json:"id"`               // uid of the head operator
	Name             string   `json:"name"`             // operator names joined with " -> " in chain order
	Operators        []string `json:"operators"`        // uids, head first, in a topological order of the chain
	Parallelism      int      `json:"parallelism"`      // the same for every operator of the chain
	MaxParallelism   int      `json:"maxParallelism"`   // the head's
	SlotSharingGroup string   `json:"slotSharingGroup"` // the same for every operator of the chain
}

// TaskEdge is an edge between two tasks (an edge that is not chained).
type TaskEdge struct {
	Edge              // the operator-level edge (Source op uid, Target op uid, Partitioning)
	SourceTask string `json:"sourceTask"`
	TargetTask string `json:"targetTask"`
}

// Tasks groups a valid graph's operators into chains using Chainable. A chain
// may fan out (an operator whose several outputs are all chainable keeps them
// all in its chain), so a chain is a tree rooted at its head; Task.Operators
// lists it head first, in graph operator order. Tasks are returned in a
// topological order (by their head's position in g.Operators). The task edges
// are the edges that are not chained, in g.Edges order.
//
// Tasks is meant for graphs that passed Validate; on an invalid graph it does
// not panic, but the result is unspecified.
func (g *Graph) Tasks() ([]Task, []TaskEdge) {
	ix := newIndex(g)
	n := len(g.Operators)

	// chainedInput[i] is the position of the operator that operator i is
	// chained to, or -1 if i is the head of its chain.
	chainedInput := make([]int, n)
	for i := range g.Operators {
		chainedInput[i] = -1
		op := &g.Operators[i]
		if ix.pos[op.UID] != i {
			continue // duplicate uid (invalid graph): its own task
		}
		in := ix.in[op.UID]
		if len(in) != 1 {
			continue
		}
		e := g.Edges[in[0]]
		s, ok := ix.pos[e.Source]
		if ok && chainable(g, e, &g.Operators[s], op, len(in)) {
			chainedInput[i] = s
		}
	}

	// head[i] is the position of the head of operator i's chain, resolved
	// with memoization so that long chains stay linear. On a valid graph
	// chainedInput always points to an earlier operator; the length limit
	// only keeps a (chained) cycle in an invalid graph from looping.
	head := make([]int, n)
	for i := range head {
		head[i] = -1
	}
	for i := range g.Operators {
		var path []int
		h := i
		for head[h] < 0 && chainedInput[h] >= 0 && len(path) <= n {
			path = append(path, h)
			h = chainedInput[h]
		}
		if head[h] >= 0 {
			h = head[h]
		} else {
			head[h] = h
		}
		for _, p := range path {
			head[p] = h
		}
	}

	// Group operators by head, in g.Operators order. On a valid graph a
	// head precedes the rest of its chain, so tasks come out in the order of
	// their heads.
	taskOf := make(map[int]int) // head position -> index in tasks
	var tasks []Task
	var names [][]string
	for i := range g.Operators {
		ti, ok := taskOf[head[i]]
		if !ok {
			h := &g.Operators[head[i]]
			ti = len(tasks)
			taskOf[head[i]] = ti
			tasks = append(tasks, Task{
				ID:               h.UID,
				Parallelism:      h.Parallelism,
				MaxParallelism:   h.MaxParallelism,
				SlotSharingGroup: h.SlotSharingGroup,
			})
			names = append(names, nil)
		}
		tasks[ti].Operators = append(tasks[ti].Operators, g.Operators[i].UID)
		names[ti] = append(names[ti], g.Operators[i].Name)
	}
	for ti := range tasks {
		tasks[ti].Name = strings.Join(names[ti], " -> ")
	}

	var edges []TaskEdge
	for _, e := range g.Edges {
		s, ok1 := ix.pos[e.Source]
		t, ok2 := ix.pos[e.Target]
		if !ok1 || !ok2 || chainedInput[t] == s {
			continue // unknown operator (invalid graph) or chained
		}
		edges = append(edges, TaskEdge{
			Edge:       e,
			SourceTask: g.Operators[head[s]].UID,
			TargetTask: g.Operators[head[t]].UID,
		})
	}
	return tasks, edges
}
