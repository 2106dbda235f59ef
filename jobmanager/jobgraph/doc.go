// Package jobgraph holds Sluice's job graph: the serializable plan of a
// dataflow, its validation, its fingerprint, and the operator chaining rule.
//
// # The plan
//
// A user's program builds a dataflow of operators (sources, maps, filters,
// keyed reduces, sinks, ...) connected by edges. The program turns it into a
// [Graph]: a list of [Operator] values in the order the program created them
// (so every operator comes after its inputs) and a list of [Edge] values, each
// with a [Partitioning] that says how records travel from the producer's
// subtasks to the consumer's:
//
//   - Forward: subtask i sends to subtask i; both sides need the same
//     parallelism.
//   - Rebalance: round-robin over all consumer subtasks.
//   - Hash: by the key group of the record's key; the input of keyed
//     operators.
//   - Broadcast: every record to every consumer subtask.
//
// Operators are identified by uids. A uid is either set by the user
// (UIDExplicit) or derived with [DeriveUID] from the operator's kind, its
// inputs and its ordinal, never from its name, so renaming an operator keeps
// its uid and therefore its state.
//
// [Graph.Validate] checks a graph and reports every problem it finds as an
// [*OperatorError] naming the operator, joined with errors.Join; the sentinel
// errors ([ErrCycle], [ErrForwardParallelism], ...) let callers branch with
// errors.Is. [Graph.Seal] validates a graph and stores its fingerprint, a
// sha256 over its canonical JSON; [Graph.Marshal] writes a sealed graph as
// JSON and [Parse] reads it back, rejecting anything malformed, invalid or
// with a fingerprint that does not match its content.
//
// # Chaining
//
// Operators connected by suitable forward edges are chained into one [Task]:
// one goroutine per subtask runs the whole chain and hands records from one
// operator to the next by function call, with no queue or serialization in
// between. [Graph.Chainable] is the one place where the rule lives; the
// scheduler and the TaskManager both call it (through [Graph.Tasks]), so they
// always agree on what a task is.
//
// An edge is chained when it is a forward edge, its two operators have the
// same parallelism and are in the same slot-sharing group, chaining is not
// disabled for the whole job, the upstream operator does not forbid chaining
// (its strategy is not ChainNever), the downstream operator allows being
// chained to its predecessor (its strategy is ChainAlways, not ChainHead or
// ChainNever), and the downstream operator has exactly one input edge.
//
// Every other edge crosses a task boundary and becomes a [TaskEdge]. An
// operator whose several outputs are all chainable keeps them all in its
// chain, so a chain is a tree rooted at its head operator; the task's ID is
// the head's uid.
package jobgraph
