// Package savepoint holds Sluice's savepoint format and the rules that map
// saved state onto a job graph.
//
// A savepoint is a directory-like location: a metadata object
// (MetadataName) that lists, per operator uid, the state object each old
// subtask wrote, and those objects next to it. The format is canonical and
// versioned (Format, Version) so that a job can be restored from it with
// another parallelism (keyed state is redistributed by key group), on
// another state backend (a savepoint in a local directory is imported into
// the cluster's backend) or by a newer build of the job (operators are
// matched by uid; an operator with state that no longer exists is refused
// unless non-restored state is allowed).
//
// Locations are either an object-name prefix in the cluster's state
// backend ("savepoints/ab12-7") or a directory on the JobManager's machine
// ("file:///var/sluice/savepoints/ab12-7"). Store reads, writes and
// disposes of both; Assign is the pure mapping from saved state to the
// subtasks of a graph, used for checkpoints as well.
package savepoint
