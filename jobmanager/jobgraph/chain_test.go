package jobgraph

import (
	"reflect"
	"testing"
)

// pair returns the valid graph a(source) -> b(map), one forward edge, both
// with parallelism 2.
func pair() *Graph {
	return &Graph{
		Version:   FormatVersion,
		Name:      "pair",
		Operators: []Operator{newOp("a", "a", "source", 2), newOp("b", "b", "map", 2)},
		Edges:     []Edge{edge("a", "b", Forward)},
	}
}

func TestChainable(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(g *Graph)
		want   bool
	}{
		{"forward, equal parallelism, same group", func(g *Graph) {}, true},
		{"rebalance edge", func(g *Graph) { g.Edges[0].Partitioning = Rebalance }, false},
		{"hash edge", func(g *Graph) { g.Edges[0].Partitioning = Hash }, false},
		{"broadcast edge", func(g *Graph) { g.Edges[0].Partitioning = Broadcast }, false},
		{"different parallelism", func(g *Graph) { g.Operators[1].Parallelism = 3 }, false},
		{"different max parallelism does not matter", func(g *Graph) { g.Operators[1].MaxParallelism = 64 }, true},
		{"different slot-sharing group", func(g *Graph) { g.Operators[1].SlotSharingGroup = "io" }, false},
		{"same non-default slot-sharing group", func(g *Graph) {
			g.Operators[0].SlotSharingGroup, g.Operators[1].SlotSharingGroup = "io", "io"
		}, true},
		{"chaining disabled for the job", func(g *Graph) { g.ChainingDisabled = true }, false},
		{"source ChainHead may chain to its successor", func(g *Graph) { g.Operators[0].Chaining = ChainHead }, true},
		{"source ChainNever", func(g *Graph) { g.Operators[0].Chaining = ChainNever }, false},
		{"target ChainHead starts a new chain", func(g *Graph) { g.Operators[1].Chaining = ChainHead }, false},
		{"target ChainNever", func(g *Graph) { g.Operators[1].Chaining = ChainNever }, false},
		{"two-input target", func(g *Graph) {
			g.Operators = append(g.Operators, newOp("c", "c", "source", 2))
			g.Edges = append(g.Edges, edge("c", "b", Forward))
		}, false},
		{"target with the same input twice", func(g *Graph) { g.Edges = append(g.Edges, g.Edges[0]) }, false},
		{"source with a second output is still chainable", func(g *Graph) {
			g.Operators = append(g.Operators, newOp("c", "c", "sink", 2))
			g.Edges = append(g.Edges, edge("a", "c", Rebalance))
		}, true},
		{"unknown target", func(g *Graph) { g.Edges[0].Target = "ghost" }, false},
		{"unknown source", func(g *Graph) { g.Edges[0].Source = "ghost" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := pair()
			tt.mutate(g)
			if got := g.Chainable(g.Edges[0]); got != tt.want {
				t.Errorf("Chainable(%+v) = %v, want %v", g.Edges[0], got, tt.want)
			}
		})
	}
}

func TestTasks(t *testing.T) {
	keyByMiddle := func() *Graph {
		g := pipeline()
		g.Name = "keyby"
		g.Operators[2] = newOp("red", "sum", "reduce", 2)
		g.Operators[2].Keyed = true
		g.Edges = []Edge{edge("src", "map", Forward), edge("map", "red", Hash), edge("red", "snk", Forward)}
		return g
	}
	fanOut := func() *Graph {
		return &Graph{
			Version: FormatVersion,
			Name:    "fanout",
			Operators: []Operator{
				newOp("src", "source", "source", 3),
				newOp("map", "parse", "map", 3),
				newOp("s1", "to-db", "sink", 3),
				newOp("s2", "to-log", "sink", 3),
			},
			Edges: []Edge{edge("src", "map", Forward), edge("map", "s1", Forward), edge("map", "s2", Forward)},
		}
	}
	diamond := func() *Graph {
		return &Graph{
			Version: FormatVersion,
			Name:    "diamond",
			Operators: []Operator{
				newOp("src", "source", "source", 2),
				newOp("l", "left", "map", 2),
				newOp("r", "right", "map", 2),
				newOp("j", "join", "process", 2),
			},
			Edges: []Edge{edge("src", "l", Forward), edge("src", "r", Forward), edge("l", "j", Forward), edge("r", "j", Forward)},
		}
	}
	task := func(name string, p int, group string, uids ...string) Task {
		return Task{ID: uids[0], Name: name, Operators: uids, Parallelism: p, MaxParallelism: DefaultMaxParallelism, SlotSharingGroup: group}
	}
	te := func(e Edge, src, tgt string) TaskEdge { return TaskEdge{Edge: e, SourceTask: src, TargetTask: tgt} }

	tests := []struct {
		name      string
		graph     func() *Graph
		wantTasks []Task
		wantEdges []TaskEdge
	}{
		{
			name:      "source -> map -> filter -> sink is one task",
			graph:     pipeline,
			wantTasks: []Task{task("source -> parse -> drop-empty -> print", 2, "default", "src", "map", "flt", "snk")},
		},
		{
			name:  "keyBy in the middle gives two tasks",
			graph: keyByMiddle,
			wantTasks: []Task{
				task("source -> parse", 2, "default", "src", "map"),
				task("sum -> print", 2, "default", "red", "snk"),
			},
			wantEdges: []TaskEdge{te(edge("map", "red", Hash), "src", "red")},
		},
		{
			name:      "fan-out chain keeps both branches",
			graph:     fanOut,
			wantTasks: []Task{task("source -> parse -> to-db -> to-log", 3, "default", "src", "map", "s1", "s2")},
		},
		{
			name: "fan-out with one branch not chainable",
			graph: func() *Graph {
				g := fanOut()
				g.Edges[2].Partitioning = Broadcast
				return g
			},
			wantTasks: []Task{
				task("source -> parse -> to-db", 3, "default", "src", "map", "s1"),
				task("to-log", 3, "default", "s2"),
			},
			wantEdges: []TaskEdge{te(edge("map", "s2", Broadcast), "src", "s2")},
		},
		{
			name:  "diamond: the two-input join starts a task",
			graph: diamond,
			wantTasks: []Task{
				task("source -> left -> right", 2, "default", "src", "l", "r"),
				task("join", 2, "default", "j"),
			},
			wantEdges: []TaskEdge{te(edge("l", "j", Forward), "src", "j"), te(edge("r", "j", Forward), "src", "j")},
		},
		{
			name: "chaining disabled: one task per operator",
			graph: func() *Graph {
				g := pipeline()
				g.ChainingDisabled = true
				return g
			},
			wantTasks: []Task{
				task("source", 2, "default", "src"),
				task("parse", 2, "default", "map"),
				task("drop-empty", 2, "default", "flt"),
				task("print", 2, "default", "snk"),
			},
			wantEdges: []TaskEdge{
				te(edge("src", "map", Forward), "src", "map"),
				te(edge("map", "flt", Forward), "map", "flt"),
				te(edge("flt", "snk", Forward), "flt", "snk"),
			},
		},
		{
			name: "StartNewChain in the middle",
			graph: func() *Graph {
				g := pipeline()
				g.Operators[2].Chaining = ChainHead
				return g
			},
			wantTasks: []Task{
				task("source -> parse", 2, "default", "src", "map"),
				task("drop-empty -> print", 2, "default", "flt", "snk"),
			},
			wantEdges: []TaskEdge{te(edge("map", "flt", Forward), "src", "flt")},
		},
		{
			name: "DisableChaining in the middle",
			graph: func() *Graph {
				g := pipeline()
				g.Operators[2].Chaining = ChainNever
				return g
			},
			wantTasks: []Task{
				task("source -> parse", 2, "default", "src", "map"),
				task("drop-empty", 2, "default", "flt"),
				task("print", 2, "default", "snk"),
			},
			wantEdges: []TaskEdge{te(edge("map", "flt", Forward), "src", "flt"), te(edge("flt", "snk", Forward), "flt", "snk")},
		},
		{
			name: "slot-sharing group boundary",
			graph: func() *Graph {
				g := pipeline()
				g.Operators[3].SlotSharingGroup = "io"
				return g
			},
			wantTasks: []Task{
				task("source -> parse -> drop-empty", 2, "default", "src", "map", "flt"),
				task("print", 2, "io", "snk"),
			},
			wantEdges: []TaskEdge{te(edge("flt", "snk", Forward), "src", "snk")},
		},
		{
			name:  "word count: rebalance and hash edges",
			graph: wordCount,
			wantTasks: []Task{
				task("lines", 1, "default", "lines"),
				task("tokenize", 2, "default", "tok"),
				task("count -> print", 4, "default", "count", "out"),
			},
			wantEdges: []TaskEdge{
				te(edge("lines", "tok", Rebalance), "lines", "tok"),
				te(edge("tok", "count", Hash), "tok", "count"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.graph()
			if err := g.Validate(); err != nil {
				t.Fatalf("test graph is invalid: %v", err)
			}
			tasks, edges := g.Tasks()
			if !reflect.DeepEqual(tasks, tt.wantTasks) {
				t.Errorf("tasks:\n got %+v\nwant %+v", tasks, tt.wantTasks)
			}
			if !reflect.DeepEqual(edges, tt.wantEdges) {
				t.Errorf("task edges:\n got %+v\nwant %+v", edges, tt.wantEdges)
			}
			checkTasksAgreeWithChainable(t, g, tasks, edges)
		})
	}
}

// checkTasksAgreeWithChainable checks the invariants of Tasks: every
// operator is in exactly one task, every task's operators share parallelism
// and slot-sharing group, and an edge is a task edge exactly when it is not
// chainable.
func checkTasksAgreeWithChainable(t *testing.T, g *Graph, tasks []Task, edges []TaskEdge) {
	t.Helper()
	taskOf := map[string]string{}
	for _, task := range tasks {
		if task.Operators[0] != task.ID {
			t.Errorf("task %s does not start with its head: %v", task.ID, task.Operators)
		}
		for _, uid := range task.Operators {
			if prev, dup := taskOf[uid]; dup {
				t.Errorf("operator %s in tasks %s and %s", uid, prev, task.ID)
			}
			taskOf[uid] = task.ID
			op, _ := g.Operator(uid)
			if op.Parallelism != task.Parallelism || op.SlotSharingGroup != task.SlotSharingGroup {
				t.Errorf("operator %s (p %d, group %q) in task %s (p %d, group %q)", uid, op.Parallelism, op.SlotSharingGroup, task.ID, task.Parallelism, task.SlotSharingGroup)
			}
		}
	}
	if len(taskOf) != len(g.Operators) {
		t.Errorf("%d operators in tasks, graph has %d", len(taskOf), len(g.Operators))
	}
	var want []TaskEdge
	for _, e := range g.Edges {
		if !g.Chainable(e) {
			want = append(want, TaskEdge{Edge: e, SourceTask: taskOf[e.Source], TargetTask: taskOf[e.Target]})
		} else if taskOf[e.Source] != taskOf[e.Target] {
			t.Errorf("chainable edge %+v crosses tasks", e)
		}
	}
	if !reflect.DeepEqual(edges, want) {
		t.Errorf("task edges %+v, want the non-chainable edges %+v", edges, want)
	}
}

func TestTasksOfLongChainIsLinear(t *testing.T) {
	const n = 20000
	g := &Graph{Version: FormatVersion, Name: "long"}
	prev := ""
	for i := range n {
		kind := "map"
		var inputs []string
		if i == 0 {
			kind = "source"
		} else {
			inputs = []string{prev}
		}
		uid := DeriveUID(kind, inputs, 0)
		g.Operators = append(g.Operators, newOp(uid, kind, kind, 1))
		if prev != "" {
			g.Edges = append(g.Edges, edge(prev, uid, Forward))
		}
		prev = uid
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	tasks, edges := g.Tasks()
	if len(tasks) != 1 || len(tasks[0].Operators) != n || len(edges) != 0 {
		t.Fatalf("got %d tasks, %d edges", len(tasks), len(edges))
	}
}

func TestTasksOnInvalidGraphDoesNotPanic(t *testing.T) {
	g := pair()
	g.Operators[0].Kind = "map"
	g.Edges = append(g.Edges, edge("b", "a", Forward), edge("b", "ghost", Forward))
	g.Operators = append(g.Operators, newOp("a", "dup", "map", 2))
	g.Tasks() // a chained cycle, a duplicate uid and an unknown operator
}
