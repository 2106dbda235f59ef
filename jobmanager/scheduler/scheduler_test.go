package scheduler

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

func task(id string, parallelism int, group string) jobgraph.Task {
	return jobgraph.Task{ID: id, Name: id, Operators: []string{id}, Parallelism: parallelism, MaxParallelism: 128, SlotSharingGroup: group}
}

// slots returns count slots (indexes 0..count-1) of each named TaskManager.
func slots(count int, taskManagers ...string) []Slot {
	var out []Slot
	for _, tm := range taskManagers {
		for i := range count {
			out = append(out, Slot{TaskManager: tm, Index: i})
		}
	}
	return out
}

func s(tm string, i int) Slot { return Slot{TaskManager: tm, Index: i} }

func TestSlotsNeeded(t *testing.T) {
	tests := []struct {
		name  string
		tasks []jobgraph.Task
		want  int
	}{
		{"no tasks", nil, 0},
		{"one task", []jobgraph.Task{task("a", 3, "default")}, 3},
		{"one group takes the highest parallelism", []jobgraph.Task{
			task("src", 1, "default"), task("map", 4, "default"), task("sink", 2, "default"),
		}, 4},
		{"two groups add up", []jobgraph.Task{
			task("src", 2, "default"), task("map", 4, "default"), task("io", 2, "io"), task("io2", 1, "io"),
		}, 6},
		{"interleaved groups", []jobgraph.Task{
			task("a", 1, "x"), task("b", 5, "y"), task("c", 3, "x"), task("d", 2, "y"),
		}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SlotsNeeded(tt.tasks); got != tt.want {
				t.Errorf("SlotsNeeded() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	type st = SubtaskID
	tests := []struct {
		name  string
		tasks []jobgraph.Task
		free  []Slot
		want  map[SubtaskID]Slot
	}{
		{
			name:  "no tasks",
			tasks: nil,
			free:  slots(2, "tm-a"),
			want:  map[SubtaskID]Slot{},
		},
		{
			name:  "sharing within a group",
			tasks: []jobgraph.Task{task("src", 2, "default"), task("map", 4, "default")},
			free:  slots(2, "tm-a", "tm-b"),
			want: map[SubtaskID]Slot{
				{"src", 0}: s("tm-a", 0), {"src", 1}: s("tm-b", 0),
				{"map", 0}: s("tm-a", 0), {"map", 1}: s("tm-b", 0), {"map", 2}: s("tm-a", 1), {"map", 3}: s("tm-b", 1),
			},
		},
		{
			name:  "two groups get separate slots, in order of first appearance",
			tasks: []jobgraph.Task{task("sink", 2, "io"), task("src", 2, "default"), task("map", 2, "default")},
			free:  slots(2, "tm-a", "tm-b"),
			want: map[SubtaskID]Slot{
				{"sink", 0}: s("tm-a", 0), {"sink", 1}: s("tm-b", 0),
				{"src", 0}: s("tm-a", 1), {"src", 1}: s("tm-b", 1),
				{"map", 0}: s("tm-a", 1), {"map", 1}: s("tm-b", 1),
			},
		},
		{
			name:  "even spread over 2 TaskManagers",
			tasks: []jobgraph.Task{task("t", 4, "default")},
			free:  slots(4, "tm-1", "tm-2"),
			want: map[SubtaskID]Slot{
				{"t", 0}: s("tm-1", 0), {"t", 1}: s("tm-2", 0), {"t", 2}: s("tm-1", 1), {"t", 3}: s("tm-2", 1),
			},
		},
		{
			name:  "even spread over 3 TaskManagers",
			tasks: []jobgraph.Task{task("t", 6, "default")},
			free:  slots(3, "tm-3", "tm-1", "tm-2"),
			want: map[SubtaskID]Slot{
				{"t", 0}: s("tm-1", 0), {"t", 1}: s("tm-2", 0), {"t", 2}: s("tm-3", 0),
				{"t", 3}: s("tm-1", 1), {"t", 4}: s("tm-2", 1), {"t", 5}: s("tm-3", 1),
			},
		},
		{
			name:  "TaskManagers with different free slots",
			tasks: []jobgraph.Task{task("t", 4, "default")},
			free:  []Slot{s("b", 7), s("a", 2), s("b", 3), s("b", 5)},
			want: map[SubtaskID]Slot{
				{"t", 0}: s("a", 2), {"t", 1}: s("b", 3), {"t", 2}: s("b", 5), {"t", 3}: s("b", 7),
			},
		},
		{
			name:  "duplicate free slots count once",
			tasks: []jobgraph.Task{task("t", 2, "default")},
			free:  []Slot{s("a", 0), s("a", 0), s("a", 1)},
			want:  map[SubtaskID]Slot{{"t", 0}: s("a", 0), {"t", 1}: s("a", 1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Place(tt.tasks, tt.free)
			if err != nil {
				t.Fatalf("Place() = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Place():\n got %v\nwant %v", got, tt.want)
			}
			checkPlacement(t, tt.tasks, tt.free, got)
		})
	}
}

// checkPlacement checks the slot-sharing invariants of a placement.
func checkPlacement(t *testing.T, tasks []jobgraph.Task, free []Slot, got map[SubtaskID]Slot) {
	t.Helper()
	isFree := map[Slot]bool{}
	for _, sl := range free {
		isFree[sl] = true
	}
	type shared struct {
		group string
		index int
	}
	slotOf := map[shared]Slot{}
	owner := map[Slot]shared{}
	n := 0
	for _, tk := range tasks {
		for i := range tk.Parallelism {
			n++
			sl, ok := got[SubtaskID{tk.ID, i}]
			if !ok {
				t.Errorf("subtask %s[%d] not placed", tk.ID, i)
				continue
			}
			if !isFree[sl] {
				t.Errorf("subtask %s[%d] placed on %v, which is not free", tk.ID, i, sl)
			}
			key := shared{tk.SlotSharingGroup, i}
			if prev, ok := slotOf[key]; ok && prev != sl {
				t.Errorf("subtask %d of group %q on both %v and %v", i, key.group, prev, sl)
			}
			slotOf[key] = sl
			if prev, ok := owner[sl]; ok && prev != key {
				t.Errorf("slot %v shared by %+v and %+v", sl, prev, key)
			}
			owner[sl] = key
		}
	}
	if len(got) != n {
		t.Errorf("placement has %d subtasks, want %d", len(got), n)
	}
	if len(owner) != SlotsNeeded(tasks) {
		t.Errorf("placement uses %d slots, SlotsNeeded says %d", len(owner), SlotsNeeded(tasks))
	}
}

func TestPlaceNotEnoughSlots(t *testing.T) {
	twoGroups := []jobgraph.Task{
		task("src", 2, "default"), task("map", 4, "default"), task("sink", 2, "io"),
	}
	tests := []struct {
		name  string
		tasks []jobgraph.Task
		free  []Slot
		want  string
	}{
		{
			name:  "two groups",
			tasks: twoGroups,
			free:  slots(2, "tm-a", "tm-b"),
			want:  `scheduler: job needs 6 slots (group "default": 4, group "io": 2) but 4 are free; add TaskManagers or slots, or lower the parallelism`,
		},
		{
			name:  "one free slot",
			tasks: []jobgraph.Task{task("t", 2, "default")},
			free:  slots(1, "tm-a"),
			want:  `scheduler: job needs 2 slots (group "default": 2) but 1 is free; add TaskManagers or slots, or lower the parallelism`,
		},
		{
			name:  "no free slots",
			tasks: []jobgraph.Task{task("t", 1, "default")},
			free:  nil,
			want:  `scheduler: job needs 1 slots (group "default": 1) but 0 are free; add TaskManagers or slots, or lower the parallelism`,
		},
		{
			name:  "duplicates do not count",
			tasks: []jobgraph.Task{task("t", 2, "default")},
			free:  []Slot{s("a", 0), s("a", 0)},
			want:  `scheduler: job needs 2 slots (group "default": 2) but 1 is free; add TaskManagers or slots, or lower the parallelism`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Place(tt.tasks, tt.free)
			if err == nil {
				t.Fatalf("Place() = %v, want an error", got)
			}
			if got != nil {
				t.Errorf("Place() returned a placement with the error")
			}
			if !errors.Is(err, ErrNotEnoughSlots) {
				t.Errorf("Place() = %v, want ErrNotEnoughSlots", err)
			}
			if err.Error() != tt.want {
				t.Errorf("Place() error\n\t%s\nwant\n\t%s", err, tt.want)
			}
		})
	}
}

func TestPlaceRejectsBadTasks(t *testing.T) {
	tests := []struct {
		name     string
		tasks    []jobgraph.Task
		contains string
	}{
		{"empty id", []jobgraph.Task{task("", 1, "default")}, "empty ID"},
		{"duplicate id", []jobgraph.Task{task("a", 1, "default"), task("a", 2, "io")}, `task ID "a" appears twice`},
		{"zero parallelism", []jobgraph.Task{task("a", 0, "default")}, "has parallelism 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Place(tt.tasks, slots(4, "tm"))
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("Place() = %v, want an error containing %q", err, tt.contains)
			}
			if errors.Is(err, ErrNotEnoughSlots) {
				t.Errorf("Place() = %v, must not be ErrNotEnoughSlots", err)
			}
		})
	}
}

func TestPlaceIsDeterministicWhateverTheOrderOfFree(t *testing.T) {
	tasks := []jobgraph.Task{
		task("src", 3, "default"), task("map", 5, "default"), task("sink", 2, "io"), task("log", 1, "audit"),
	}
	free := append(slots(3, "tm-c", "tm-a", "tm-b"), s("tm-d", 9), s("tm-d", 4))
	want, err := Place(tasks, free)
	if err != nil {
		t.Fatal(err)
	}
	checkPlacement(t, tasks, free, want)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		shuffled := append([]Slot(nil), free...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		before := fmt.Sprint(shuffled)
		got, err := Place(tasks, shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("shuffle %d: placement differs:\n got %v\nwant %v", i, got, want)
		}
		if fmt.Sprint(shuffled) != before {
			t.Fatal("Place modified its free argument")
		}
	}
}

func TestPlaceWithTasksFromJobGraph(t *testing.T) {
	op := func(uid, kind string, p int, group string) jobgraph.Operator {
		return jobgraph.Operator{UID: uid, Name: uid, Kind: kind, Parallelism: p, MaxParallelism: 128, SlotSharingGroup: group, Chaining: jobgraph.ChainAlways}
	}
	g := &jobgraph.Graph{
		Version: jobgraph.FormatVersion,
		Name:    "job",
		Operators: []jobgraph.Operator{
			op("src", "source", 2, "default"), op("map", "map", 2, "default"),
			op("agg", "reduce", 4, "default"), op("out", "sink", 1, "io"),
		},
		Edges: []jobgraph.Edge{
			{Source: "src", Target: "map", Partitioning: jobgraph.Forward},
			{Source: "map", Target: "agg", Partitioning: jobgraph.Rebalance},
			{Source: "agg", Target: "out", Partitioning: jobgraph.Rebalance},
		},
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	tasks, _ := g.Tasks()
	if got := SlotsNeeded(tasks); got != 5 {
		t.Fatalf("SlotsNeeded() = %d, want 5", got)
	}
	free := slots(3, "tm-1", "tm-2")
	placement, err := Place(tasks, free)
	if err != nil {
		t.Fatal(err)
	}
	checkPlacement(t, tasks, free, placement)
	if got, want := placement[SubtaskID{"out", 0}], s("tm-1", 2); got != want {
		t.Errorf("io group placed on %v, want %v", got, want)
	}
}
