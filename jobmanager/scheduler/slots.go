package scheduler

import (
	"cmp"
	"slices"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

// Slot is one task slot of a TaskManager.
type Slot struct {
	TaskManager string `json:"taskManager"`
	Index       int    `json:"index"`
}

// SubtaskID names one parallel instance of a task.
type SubtaskID struct {
	Task  string `json:"task"`  // jobgraph.Task.ID
	Index int    `json:"index"` // 0-based subtask index
}

// group is a slot-sharing group and the number of shared slots it needs.
type group struct {
	name  string
	slots int
}

// groupsOf returns the slot-sharing groups of tasks in order of first
// appearance, each with the highest parallelism of its tasks.
func groupsOf(tasks []jobgraph.Task) []group {
	var groups []group
	at := make(map[string]int)
	for _, t := range tasks {
		i, ok := at[t.SlotSharingGroup]
		if !ok {
			i = len(groups)
			at[t.SlotSharingGroup] = i
			groups = append(groups, group{name: t.SlotSharingGroup})
		}
		groups[i].slots = max(groups[i].slots, t.Parallelism)
	}
	return groups
}

// SlotsNeeded returns the slots a job needs with slot sharing: the sum over
// slot-sharing groups of the highest task parallelism in the group.
func SlotsNeeded(tasks []jobgraph.Task) int {
	n := 0
	for _, g := range groupsOf(tasks) {
		n += g.slots
	}
	return n
}

// spread returns the distinct free slots in placement order: the first slot
// (lowest Index) of each TaskManager, then the second of each, and so on,
// with TaskManagers in sorted order. The order of free does not matter.
func spread(free []Slot) []Slot {
	sorted := slices.Clone(free)
	slices.SortFunc(sorted, func(a, b Slot) int {
		return cmp.Or(cmp.Compare(a.TaskManager, b.TaskManager), cmp.Compare(a.Index, b.Index))
	})
	sorted = slices.Compact(sorted)

	// Split into one run per TaskManager, then deal round-robin.
	var perTM [][]Slot
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j].TaskManager == sorted[i].TaskManager {
			j++
		}
		perTM = append(perTM, sorted[i:j])
		i = j
	}
	out := make([]Slot, 0, len(sorted))
	for rank := 0; len(out) < len(sorted); rank++ {
		for _, slots := range perTM {
			if rank < len(slots) {
				out = append(out, slots[rank])
			}
		}
	}
	return out
}
