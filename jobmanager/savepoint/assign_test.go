package savepoint

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

func graphOp(uid, name, kind string, parallelism int) jobgraph.Operator {
	return jobgraph.Operator{
		UID:              uid,
		Name:             name,
		Kind:             kind,
		Parallelism:      parallelism,
		MaxParallelism:   jobgraph.DefaultMaxParallelism,
		SlotSharingGroup: jobgraph.DefaultSlotSharingGroup,
		Chaining:         jobgraph.ChainAlways,
	}
}

// testGraph returns the valid graph
//
//	lines(srcPar) -> parse(srcPar) =hash (keyBy)=> count(p, keyed, maxPar) -> print(p)
//
// whose tasks are "src" (lines -> parse) and "count" (count -> print).
func testGraph(t *testing.T, srcPar, p, maxPar int) *jobgraph.Graph {
	t.Helper()
	count := graphOp("count", "count", "reduce", p)
	count.Keyed = true
	count.MaxParallelism = maxPar
	g := &jobgraph.Graph{
		Version: jobgraph.FormatVersion,
		Name:    "test",
		Operators: []jobgraph.Operator{
			graphOp("src", "lines", "source", srcPar),
			graphOp("map", "parse", "map", srcPar),
			count,
			graphOp("sink", "print", "sink", p),
		},
		Edges: []jobgraph.Edge{
			{Source: "src", Target: "map", Partitioning: jobgraph.Forward},
			{Source: "map", Target: "count", Partitioning: jobgraph.Hash},
			{Source: "count", Target: "sink", Partitioning: jobgraph.Forward},
		},
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("test graph is invalid: %v", err)
	}
	tasks, _ := g.Tasks()
	var ids []string
	for _, task := range tasks {
		ids = append(ids, task.ID)
	}
	if !reflect.DeepEqual(ids, []string{"src", "count"}) {
		t.Fatalf("test graph has tasks %v, want [src count]", ids)
	}
	return g
}

func sub(task string, i int) checkpoint.Subtask { return checkpoint.Subtask{Task: task, Index: i} }

type plan = map[checkpoint.Subtask]map[string][]string

func savedSource(states ...string) Operator {
	return Operator{UID: "src", Name: "lines", Parallelism: len(states), MaxParallelism: 128, States: states}
}

func savedCount(maxPar int, states ...string) Operator {
	return Operator{UID: "count", Name: "count", Keyed: true, Parallelism: len(states), MaxParallelism: maxPar, States: states}
}

func TestAssign(t *testing.T) {
	tests := []struct {
		name          string
		srcPar, p     int
		maxPar        int
		ops           []Operator
		allow         bool
		want          plan
		wantErrs      []error  // sentinels the error must wrap
		wantParts     []string // one entry per joined error: a string that part must contain
		wantInMessage []string
	}{
		{
			name: "keyed state scaled up", srcPar: 1, p: 3, maxPar: 128,
			ops: []Operator{savedCount(128, "cp/c-1", "cp/c-0")},
			want: plan{
				sub("count", 0): {"count": {"cp/c-0", "cp/c-1"}},
				sub("count", 1): {"count": {"cp/c-0", "cp/c-1"}},
				sub("count", 2): {"count": {"cp/c-0", "cp/c-1"}},
			},
		},
		{
			name: "keyed state scaled down, with a subtask that wrote none", srcPar: 1, p: 2, maxPar: 128,
			ops: []Operator{savedCount(128, "cp/c-3", "", "cp/c-0", "cp/c-2")},
			want: plan{
				sub("count", 0): {"count": {"cp/c-0", "cp/c-2", "cp/c-3"}},
				sub("count", 1): {"count": {"cp/c-0", "cp/c-2", "cp/c-3"}},
			},
		},
		{
			name: "keyed state at the same parallelism", srcPar: 1, p: 2, maxPar: 64,
			ops: []Operator{savedCount(64, "cp/c-0", "cp/c-1")},
			want: plan{
				sub("count", 0): {"count": {"cp/c-0", "cp/c-1"}},
				sub("count", 1): {"count": {"cp/c-0", "cp/c-1"}},
			},
		},
		{
			name: "source state at the same parallelism", srcPar: 3, p: 2, maxPar: 128,
			ops: []Operator{savedSource("cp/s-0", "", "cp/s-2")},
			want: plan{
				sub("src", 0): {"src": {"cp/s-0"}},
				sub("src", 2): {"src": {"cp/s-2"}},
			},
		},
		{
			name: "non-keyed state of a chained operator goes to its task", srcPar: 2, p: 2, maxPar: 128,
			ops: []Operator{
				{UID: "sink", Name: "print", Parallelism: 2, MaxParallelism: 128, States: []string{"cp/k-0", "cp/k-1"}},
				{UID: "map", Name: "parse", Parallelism: 2, MaxParallelism: 128, States: []string{"", "cp/m-1"}},
			},
			want: plan{
				sub("count", 0): {"sink": {"cp/k-0"}},
				sub("count", 1): {"sink": {"cp/k-1"}},
				sub("src", 1):   {"map": {"cp/m-1"}},
			},
		},
		{
			name: "source and keyed state together", srcPar: 2, p: 3, maxPar: 128,
			ops: []Operator{savedSource("cp/s-0", "cp/s-1"), savedCount(128, "cp/c-0")},
			want: plan{
				sub("src", 0):   {"src": {"cp/s-0"}},
				sub("src", 1):   {"src": {"cp/s-1"}},
				sub("count", 0): {"count": {"cp/c-0"}},
				sub("count", 1): {"count": {"cp/c-0"}},
				sub("count", 2): {"count": {"cp/c-0"}},
			},
		},
		{
			name: "no saved state", srcPar: 2, p: 3, maxPar: 128,
			want: plan{},
		},
		{
			name: "source parallelism changed", srcPar: 3, p: 2, maxPar: 128,
			ops:           []Operator{savedSource("cp/s-0", "cp/s-1")},
			wantErrs:      []error{ErrIncompatible},
			wantParts:     []string{"src"},
			wantInMessage: []string{`"lines"`, "uid src", "parallelism 3", "saved by 2", "set its parallelism to 2"},
		},
		{
			name: "keyed max parallelism changed", srcPar: 1, p: 2, maxPar: 256,
			ops:           []Operator{savedCount(128, "cp/c-0", "cp/c-1")},
			wantErrs:      []error{ErrIncompatible},
			wantParts:     []string{"count"},
			wantInMessage: []string{`"count"`, "uid count", "max parallelism 256", "128 key groups", "SetMaxParallelism(128)"},
		},
		{
			name: "saved keyed, now not keyed", srcPar: 2, p: 2, maxPar: 128,
			ops:           []Operator{{UID: "src", Name: "lines", Keyed: true, Parallelism: 2, MaxParallelism: 128, States: []string{"a", "b"}}},
			wantErrs:      []error{ErrIncompatible},
			wantParts:     []string{"src"},
			wantInMessage: []string{"keyed=true", "keyed=false"},
		},
		{
			name: "saved not keyed, now keyed", srcPar: 2, p: 2, maxPar: 128,
			ops:           []Operator{{UID: "count", Name: "count", Parallelism: 2, MaxParallelism: 128, States: []string{"a", "b"}}},
			wantErrs:      []error{ErrIncompatible},
			wantParts:     []string{"count"},
			wantInMessage: []string{"keyed=false", "keyed=true"},
		},
		{
			name: "state of a removed operator", srcPar: 1, p: 2, maxPar: 128,
			ops:           []Operator{{UID: "gone", Name: "old-filter", Parallelism: 1, MaxParallelism: 128, States: []string{"cp/g-0"}}},
			wantErrs:      []error{ErrNonRestored},
			wantParts:     []string{"gone"},
			wantInMessage: []string{`"old-filter"`, "uid gone", "--allow-non-restored-state"},
		},
		{
			name: "state of a removed operator, allowed", srcPar: 1, p: 2, maxPar: 128, allow: true,
			ops: []Operator{
				{UID: "gone", Name: "old-filter", Parallelism: 1, MaxParallelism: 128, States: []string{"cp/g-0"}},
				savedCount(128, "cp/c-0"),
			},
			want: plan{
				sub("count", 0): {"count": {"cp/c-0"}},
				sub("count", 1): {"count": {"cp/c-0"}},
			},
		},
		{
			name: "every problem reported", srcPar: 3, p: 2, maxPar: 256,
			ops: []Operator{
				{UID: "gone", Name: "old-filter", Parallelism: 1, MaxParallelism: 128, States: []string{"cp/g-0"}},
				savedSource("cp/s-0", "cp/s-1"),
				savedCount(128, "cp/c-0", "cp/c-1"),
				{UID: "sink", Name: "print", Keyed: true, Parallelism: 2, MaxParallelism: 128, States: []string{"cp/k-0", ""}},
			},
			wantErrs:  []error{ErrNonRestored, ErrIncompatible},
			wantParts: []string{"uid gone", "uid src", "uid count", "uid sink"},
		},
		{
			name: "operators with all-empty states are ignored", srcPar: 3, p: 2, maxPar: 256,
			ops: []Operator{
				{UID: "gone", Name: "old-filter", Parallelism: 2, MaxParallelism: 128, States: []string{"", ""}},
				savedSource("", ""),         // parallelism would not fit
				savedCount(128, "", "", ""), // max parallelism would not fit
				{UID: "sink", Name: "print", Parallelism: 0},
			},
			want: plan{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := testGraph(t, tc.srcPar, tc.p, tc.maxPar)
			got, err := Assign(tc.ops, g, tc.allow)
			if tc.wantErrs == nil {
				if err != nil {
					t.Fatalf("Assign: %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("Assign =\n %v\nwant\n %v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Assign = %v, want an error", got)
			}
			if got != nil {
				t.Errorf("Assign returned a plan %v with its error", got)
			}
			for _, s := range tc.wantErrs {
				if !errors.Is(err, s) {
					t.Errorf("error %v does not wrap %v", err, s)
				}
			}
			for _, s := range tc.wantInMessage {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			var parts []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				parts = j.Unwrap()
			} else {
				t.Fatalf("error %v is not an errors.Join", err)
			}
			if len(parts) != len(tc.wantParts) {
				t.Fatalf("error has %d parts, want %d: %v", len(parts), len(tc.wantParts), err)
			}
			for i, p := range parts {
				if !strings.Contains(p.Error(), tc.wantParts[i]) {
					t.Errorf("part %d %q does not name its operator %q", i, p, tc.wantParts[i])
				}
				if !errors.Is(p, ErrNonRestored) && !errors.Is(p, ErrIncompatible) {
					t.Errorf("part %d %q wraps neither ErrNonRestored nor ErrIncompatible", i, p)
				}
			}
		})
	}
}

// TestAssignKeyedListsAreIndependent checks that the subtasks of a keyed
// operator do not share one backing array for their object names.
func TestAssignKeyedListsAreIndependent(t *testing.T) {
	g := testGraph(t, 1, 2, 128)
	ops := []Operator{savedCount(128, "cp/c-0", "cp/c-1")}
	got, err := Assign(ops, g, false)
	if err != nil {
		t.Fatal(err)
	}
	got[sub("count", 0)]["count"][0] = "changed"
	if n := got[sub("count", 1)]["count"][0]; n != "cp/c-0" {
		t.Fatalf("changing subtask 0's names changed subtask 1's to %q", n)
	}
	if ops[0].States[0] != "cp/c-0" || ops[0].States[1] != "cp/c-1" {
		t.Fatalf("Assign changed its input: %v", ops[0].States)
	}
}

func TestFromCheckpoint(t *testing.T) {
	g := testGraph(t, 2, 3, 64)
	cp := &checkpoint.Checkpoint{
		ID: 9,
		AckList: []checkpoint.Ack{
			{Subtask: sub("count", 2), States: map[string]string{"count": "cp/9/c-2"}},
			{Subtask: sub("src", 1), States: map[string]string{"src": "cp/9/s-1"}},
			{Subtask: sub("src", 0), States: map[string]string{"src": "cp/9/s-0"}},
			{Subtask: sub("count", 0), States: map[string]string{"count": "cp/9/c-0", "sink": "cp/9/k-0"}},
			{Subtask: sub("count", 1), States: map[string]string{"count": "cp/9/c-1"}},
			// Ignored: an index out of range, a task the graph lacks,
			// and an operator of another task.
			{Subtask: sub("count", 3), States: map[string]string{"count": "cp/9/c-3"}},
			{Subtask: sub("count", -1), States: map[string]string{"count": "cp/9/c-x"}},
			{Subtask: sub("gone", 0), States: map[string]string{"gone": "cp/9/g-0"}},
			{Subtask: sub("src", 0), States: map[string]string{"sink": "cp/9/wrong"}},
		},
	}
	got := FromCheckpoint(cp, g)
	want := []Operator{
		{UID: "src", Name: "lines", Parallelism: 2, MaxParallelism: 128, States: []string{"cp/9/s-0", "cp/9/s-1"}},
		{UID: "count", Name: "count", Keyed: true, Parallelism: 3, MaxParallelism: 64, States: []string{"cp/9/c-0", "cp/9/c-1", "cp/9/c-2"}},
		{UID: "sink", Name: "print", Parallelism: 3, MaxParallelism: 128, States: []string{"cp/9/k-0", "", ""}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromCheckpoint =\n %+v\nwant\n %+v", got, want)
	}

	// What it returns restores onto the same graph.
	p, err := Assign(got, g, false)
	if err != nil {
		t.Fatalf("Assign(FromCheckpoint): %v", err)
	}
	wantPlan := plan{
		sub("src", 0):   {"src": {"cp/9/s-0"}},
		sub("src", 1):   {"src": {"cp/9/s-1"}},
		sub("count", 0): {"count": {"cp/9/c-0", "cp/9/c-1", "cp/9/c-2"}, "sink": {"cp/9/k-0"}},
		sub("count", 1): {"count": {"cp/9/c-0", "cp/9/c-1", "cp/9/c-2"}},
		sub("count", 2): {"count": {"cp/9/c-0", "cp/9/c-1", "cp/9/c-2"}},
	}
	if !reflect.DeepEqual(p, wantPlan) {
		t.Fatalf("Assign(FromCheckpoint) =\n %v\nwant\n %v", p, wantPlan)
	}

	if ops := FromCheckpoint(&checkpoint.Checkpoint{ID: 1}, g); len(ops) != 0 {
		t.Fatalf("FromCheckpoint of a checkpoint without acks = %+v, want none", ops)
	}
}
