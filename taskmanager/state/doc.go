// Package state holds the working keyed state of one operator subtask in the
// TaskManager's memory.
//
// A Backend indexes the keys a subtask has seen: each key gets a dense slot
// number the first time it is set as the current key, and remembers its key
// group. States (Value, List, Map) are indexed by that slot, so a record
// costs one map lookup to select its key however many states it then reads or
// writes, and a state needs no knowledge of the key type.
//
// Keys are kept in the order they came, in a list that only grows; a
// snapshot lists them by key group (for checkpoints and rescaling).
//
// # Snapshots
//
// Backend.Snapshot serializes the state on the calling goroutine. Freeze
// takes a copy-on-write snapshot instead: the owner goroutine pauses only to
// copy one pointer per page of each state, and the returned Frozen is
// written (Frozen.WriteTo, Frozen.Bytes) on another goroutine while the
// owner goes on changing the state. Both produce the same bytes, those of
// the state when Snapshot or Freeze was called. Map entries are written in
// the order of their encodings, so equal states have equal snapshots.
//
// A state keeps its per-slot entries in pages of 128 slots. Every page
// carries the epoch it was created or copied in. Freeze makes the current
// epoch the snapshot's (Cursor.snap) and starts a new one; the snapshot
// keeps the page pointers of that moment. A write checks the epoch of its
// page: a page of the current epoch is written in place (the fast path, one
// comparison more than a plain slice); an older one may be shared, so the
// write first installs a shallow copy of the page for the owner, stamped
// with the current epoch, and the snapshot keeps the old one. A page is
// copied at most once per snapshot, and only while a snapshot is live.
//
// A shallow copy shares what the entries point to, so no state changes
// memory that an entry refers to in place:
//
//   - List: a list's backing array is only written beyond the length of the
//     slices that refer to it. Add appends (into spare capacity that the
//     snapshot's shorter slice does not see); Update and Clear install a new
//     slice rather than reuse the array.
//   - Map: each map carries the epoch it was made or cloned in; the first
//     change to a map from before the snapshot clones it. Clear drops the
//     map rather than empty it.
//   - Value: values are stored as they are given. A value that refers to
//     memory (a pointer, slice or map), a list element or a map value must
//     not be changed in place once it is in a state: set a new one.
//
// Keys and their key groups are appended to and never changed, so a
// snapshot shares those slices up to their length at the freeze.
//
// A Frozen snapshot is written once; the end of the write releases it, and
// Release drops one that is not to be written, or stops a write under way.
// Releasing is what stops the copying: the live snapshots are counted with an
// atomic, which the owner reads only on the slow path, when it meets a page
// older than the last snapshot; once none is live it writes such pages in
// place again. A checkpoint takes one snapshot at a time; Freeze releases
// the previous Frozen if its write has not begun (an aborted checkpoint), and
// a write already under way stays correct, as pages older than any live
// snapshot are copied. Until released (or superseded), a snapshot keeps
// the pages it shares alive; EstimatedBytes counts the copies made for it.
package state
