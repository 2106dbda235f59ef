// Package state holds the working keyed state of one operator subtask in the
// TaskManager's memory.
//
// A Backend indexes the keys a subtask has seen: each key gets a dense slot
// number the first time it is set as the current key, and remembers its key
// group. States (Value, List, Map) are slices indexed by that slot, so a record
// costs one map lookup to select its key however many states it then reads or
// writes, and a state needs no knowledge of the key type.
//
// Keys live in per-key-group lists that only grow, which is what snapshots by
// key group (for checkpoints and rescaling) will iterate over.
package state
