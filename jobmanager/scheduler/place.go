package scheduler

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

// ErrNotEnoughSlots means there are fewer free slots than the job needs.
// Place wraps it in a message with the numbers.
var ErrNotEnoughSlots = errors.New("scheduler: not enough free slots; add TaskManagers or slots, or lower the parallelism")

// notEnoughSlotsError is ErrNotEnoughSlots with the numbers of one attempt.
type notEnoughSlotsError struct {
	msg string
}

func (e *notEnoughSlotsError) Error() string { return e.msg }
func (e *notEnoughSlotsError) Unwrap() error { return ErrNotEnoughSlots }

// Place assigns every subtask of tasks to one of the free slots with slot
// sharing. Within a slot-sharing group, subtask i of every task goes to the
// group's i-th shared slot. The shared slots of all groups (groups in order of
// first appearance in tasks) are laid onto the free slots spread evenly over
// TaskManagers: the first slot of each TaskManager, then the second of each,
// and so on, TaskManagers in sorted order and slots by Index. Duplicate free
// slots count once, and the order of free does not change the result.
//
// If the job needs more slots than are free, Place returns an error wrapping
// ErrNotEnoughSlots that names how many slots the job needs, per group, and
// how many are free. Tasks with an empty or repeated ID or a parallelism
// below 1 are rejected.
func Place(tasks []jobgraph.Task, free []Slot) (map[SubtaskID]Slot, error) {
	if err := checkTasks(tasks); err != nil {
		return nil, err
	}
	groups := groupsOf(tasks)
	need := 0
	for _, g := range groups {
		need += g.slots
	}
	slots := spread(free)
	if need > len(slots) {
		return nil, notEnough(groups, need, len(slots))
	}

	first := make(map[string]int, len(groups)) // group -> its first shared slot in slots
	next := 0
	subtasks := 0
	for _, g := range groups {
		first[g.name] = next
		next += g.slots
	}
	for _, t := range tasks {
		subtasks += t.Parallelism
	}
	placement := make(map[SubtaskID]Slot, subtasks)
	for _, t := range tasks {
		base := first[t.SlotSharingGroup]
		for i := range t.Parallelism {
			placement[SubtaskID{Task: t.ID, Index: i}] = slots[base+i]
		}
	}
	return placement, nil
}

// checkTasks rejects task lists Place cannot place meaningfully.
func checkTasks(tasks []jobgraph.Task) error {
	seen := make(map[string]bool, len(tasks))
	for i, t := range tasks {
		switch {
		case t.ID == "":
			return fmt.Errorf("scheduler: task #%d (%q) has an empty ID; build tasks with jobgraph.Graph.Tasks", i, t.Name)
		case seen[t.ID]:
			return fmt.Errorf("scheduler: task ID %q appears twice; build tasks with jobgraph.Graph.Tasks", t.ID)
		case t.Parallelism < 1:
			return fmt.Errorf("scheduler: task %q (%s) has parallelism %d; it must be at least 1", t.ID, t.Name, t.Parallelism)
		}
		seen[t.ID] = true
	}
	return nil
}

// notEnough builds the ErrNotEnoughSlots error, for example
//
//	scheduler: job needs 6 slots (group "default": 4, group "io": 2) but 4 are free; add TaskManagers or slots, or lower the parallelism
func notEnough(groups []group, need, free int) error {
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = fmt.Sprintf("group %q: %d", g.name, g.slots)
	}
	verb := "are"
	if free == 1 {
		verb = "is"
	}
	return &notEnoughSlotsError{msg: fmt.Sprintf(
		"scheduler: job needs %d slots (%s) but %d %s free; add TaskManagers or slots, or lower the parallelism",
		need, strings.Join(parts, ", "), free, verb)}
}
