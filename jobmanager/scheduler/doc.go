// Package scheduler decides where the subtasks of a job run: it places every
// parallel instance (subtask) of every task onto a TaskManager slot. It is a
// pure, deterministic core with no I/O; the JobManager feeds it the job's
// tasks (from jobgraph.Graph.Tasks) and the free slots it knows of, and acts
// on the placement it returns.
//
// # Slot sharing
//
// A slot is one unit of a TaskManager's capacity. Without sharing, a job
// would need one slot per subtask: a pipeline of three tasks at parallelism 4
// would take 12 slots, and the slots running cheap tasks would sit idle while
// others are busy. With slot sharing, subtasks of different tasks of the same
// job share a slot: within a slot-sharing group, subtask i of every task runs
// in the group's i-th shared slot. One shared slot then holds a full slice of
// the pipeline (source subtask i, map subtask i, sink subtask i, ...), which
// keeps the load even and the forward exchanges local.
//
// So a slot-sharing group needs as many slots as the highest parallelism of a
// task in it, and a job needs the sum of that over its groups (see
// [SlotsNeeded]). Operators are in the "default" group unless the program
// puts them elsewhere; a separate group keeps, for example, heavy I/O tasks
// out of the slots of the main pipeline.
//
// # Placement
//
// [Place] lays the shared slots of all groups (groups in order of first
// appearance among the tasks, each group's slots in subtask order) onto the
// free slots spread evenly over TaskManagers: it takes the first free slot of
// every TaskManager, then the second of every TaskManager, and so on, with
// TaskManagers in sorted order and each one's slots by index. The result does
// not depend on the order in which free slots are given. If there are fewer
// free slots than the job needs, Place fails with an error wrapping
// [ErrNotEnoughSlots] that says how many slots each group needs.
package scheduler
