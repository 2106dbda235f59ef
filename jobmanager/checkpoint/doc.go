// Package checkpoint is the checkpoint coordinator's decision core. It
// decides when to trigger a checkpoint (interval, minimum pause, one at a
// time), when one completes (every subtask acknowledged), when one is
// aborted (timeout, a subtask declined, the job restarted), and which
// completed checkpoints are discarded (all but the retained number, never
// one a restore may still need, never a savepoint).
//
// It does no I/O and reads no clock: its caller passes the time in and
// carries out the Actions it returns (inject barriers at the sources, write
// the completed checkpoint's metadata, delete discarded snapshots), so that
// every decision can be tested deterministically.
package checkpoint
