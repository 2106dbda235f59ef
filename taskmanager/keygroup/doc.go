// Package keygroup maps record keys to key groups and key groups to operator
// subtasks.
//
// A keyed operator's state is split into MaxParallelism key groups, the unit in
// which state is routed, snapshotted and redistributed when the parallelism
// changes. A key's group depends only on a stable hash of the key (the same in
// every process and Go version), so every TaskManager routes a key to the same
// subtask, and a savepoint taken at one parallelism restores at another.
//
// Subtask i of an operator with parallelism p owns the contiguous range of key
// groups [Range(maxP, p, i)), the same split Flink uses.
package keygroup
