package savepoint

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

// Assign maps saved state onto the subtasks of g and returns, per subtask,
// per operator uid, the objects it restores from.
//
//   - A keyed operator's subtasks each read every old subtask's object and
//     keep the key groups they own, so its parallelism may change; its max
//     parallelism (the number of key groups) may not.
//   - Any other operator with state (a source's position) restores subtask
//     i from old subtask i, so its parallelism must stay the same.
//   - State of a uid the graph does not have is an error wrapping
//     ErrNonRestored, unless allowNonRestored; then it is skipped.
//
// Every problem is reported, each naming the operator.
func Assign(ops []Operator, g *jobgraph.Graph, allowNonRestored bool) (map[checkpoint.Subtask]map[string][]string, error) {
	taskOf := map[string]jobgraph.Task{}
	tasks, _ := g.Tasks()
	for _, t := range tasks {
		for _, uid := range t.Operators {
			taskOf[uid] = t
		}
	}
	plan := map[checkpoint.Subtask]map[string][]string{}
	add := func(t jobgraph.Task, i int, uid string, names ...string) {
		who := checkpoint.Subtask{Task: t.ID, Index: i}
		if plan[who] == nil {
			plan[who] = map[string][]string{}
		}
		plan[who][uid] = append(plan[who][uid], names...)
	}
	var errs []error
	for _, saved := range ops {
		var names []string
		for _, n := range saved.States {
			if n != "" {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		op, ok := g.Operator(saved.UID)
		if !ok {
			if !allowNonRestored {
				errs = append(errs, fmt.Errorf("%w: operator %q (uid %s) has saved state but the job has no operator with that uid; give the operator that should take it this uid, or pass --allow-non-restored-state to drop it",
					ErrNonRestored, saved.Name, saved.UID))
			}
			continue
		}
		t := taskOf[op.UID]
		switch {
		case saved.Keyed != op.Keyed:
			errs = append(errs, fmt.Errorf("%w: operator %q (uid %s) was keyed=%v when saved and is keyed=%v now", ErrIncompatible, op.Name, op.UID, saved.Keyed, op.Keyed))
		case op.Keyed && saved.MaxParallelism != op.MaxParallelism:
			errs = append(errs, fmt.Errorf("%w: operator %q (uid %s) has max parallelism %d but its state was saved with %d key groups; set SetMaxParallelism(%d) on it",
				ErrIncompatible, op.Name, op.UID, op.MaxParallelism, saved.MaxParallelism, saved.MaxParallelism))
		case op.Keyed:
			slices.Sort(names)
			for i := range op.Parallelism {
				add(t, i, op.UID, names...)
			}
		case saved.Parallelism != op.Parallelism:
			errs = append(errs, fmt.Errorf("%w: operator %q (uid %s) has parallelism %d but its state was saved by %d subtasks, and only keyed state can be redistributed; set its parallelism to %d",
				ErrIncompatible, op.Name, op.UID, op.Parallelism, saved.Parallelism, saved.Parallelism))
		default:
			for i, n := range saved.States {
				if n != "" {
					add(t, i, op.UID, n)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return plan, nil
}

// FromCheckpoint describes a completed checkpoint of a job running g in the
// savepoint's terms, with the full object names of its acknowledgements.
func FromCheckpoint(cp *checkpoint.Checkpoint, g *jobgraph.Graph) []Operator {
	tasks, _ := g.Tasks()
	var ops []Operator
	for _, t := range tasks {
		for _, uid := range t.Operators {
			op, _ := g.Operator(uid)
			saved := Operator{UID: uid, Name: op.Name, Keyed: op.Keyed, Parallelism: t.Parallelism, MaxParallelism: op.MaxParallelism,
				States: make([]string, t.Parallelism)}
			found := false
			for _, a := range cp.AckList {
				if a.Subtask.Task != t.ID || a.Subtask.Index < 0 || a.Subtask.Index >= t.Parallelism {
					continue
				}
				if name, ok := a.States[uid]; ok {
					saved.States[a.Subtask.Index], found = name, true
				}
			}
			if found {
				ops = append(ops, saved)
			}
		}
	}
	return ops
}
