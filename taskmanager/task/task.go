package task

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/taskmanager/network"
)

// ErrCancelled is the error of a task stopped by cancellation.
var ErrCancelled = errors.New("task cancelled")

// Config tunes the data exchange of tasks.
type Config struct {
	// BatchSize is the number of records in a full in-process batch.
	BatchSize int
	// BufferTimeout bounds how long a record may wait in a partly filled
	// batch while the task is busy. A task also flushes whenever it is
	// about to wait for input.
	BufferTimeout time.Duration
	// Credits is the number of batches in flight per channel.
	Credits int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{BatchSize: 512, BufferTimeout: 10 * time.Millisecond, Credits: 4}
}

// WithDefaults fills zero fields with defaults.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.BatchSize <= 0 {
		c.BatchSize = d.BatchSize
	}
	if c.BufferTimeout <= 0 {
		c.BufferTimeout = d.BufferTimeout
	}
	if c.Credits <= 0 {
		c.Credits = d.Credits
	}
	return c
}

// Deployment describes one subtask to run.
type Deployment struct {
	JobID   string
	Attempt int
	Graph   *jobgraph.Graph
	Task    jobgraph.Task
	Subtask int
	// Inputs are the edges from other tasks into this task, Outputs the
	// edges from this task's operators to other tasks, both in graph order.
	Inputs  []jobgraph.TaskEdge
	Outputs []jobgraph.TaskEdge
	Config  Config
	// Slot is the slot of the TaskManager the subtask runs in.
	Slot int
	// Peers says where every subtask of the job attempt runs, so that
	// outputs to another TaskManager go over the data plane.
	Peers []Peer
	// Checkpoints, if set, makes the subtask take part in checkpoints.
	Checkpoints *CheckpointSpec
	// Restore names, per operator uid, the state-backend objects to
	// restore the operator from.
	Restore map[string][]string
}

// CheckpointSpec is how a subtask takes part in checkpoints.
type CheckpointSpec struct {
	// Aligned selects exactly-once barrier alignment.
	Aligned bool
	// Prefix starts the names of the subtask's snapshot objects (default:
	// the job id); a new leader gives its own so that names never clash
	// with those of the JobManager before it.
	Prefix string
}

// Peer is where one subtask of a job attempt runs.
type Peer struct {
	Task        string
	Subtask     int
	TaskManager string
	DataAddress string
}

// Peer returns where subtask `subtask` of task `taskID` runs.
func (d *Deployment) Peer(taskID string, subtask int) (Peer, bool) {
	for _, p := range d.Peers {
		if p.Task == taskID && p.Subtask == subtask {
			return p, true
		}
	}
	return Peer{}, false
}

// String names the subtask as logs and errors show it.
func (d *Deployment) String() string {
	return fmt.Sprintf("%s (%d/%d)", d.Task.Name, d.Subtask+1, d.Task.Parallelism)
}

// Logger returns base with the attributes every line logged on behalf of
// this subtask carries: job (the job id), task (the task's id, its head
// operator's uid), task_name, subtask (its index, from 0) and attempt. The
// TaskManager derives it once per deployed subtask and hands it down: to
// Run, to the chain (IO.Logger) and to the subtask's data-plane channels.
func (d *Deployment) Logger(base *slog.Logger) *slog.Logger {
	return base.With(slog.String("job", d.JobID), slog.String("task", d.Task.ID), slog.String("task_name", d.Task.Name),
		slog.Int("subtask", d.Subtask), slog.Int("attempt", d.Attempt))
}

// IO gives a chain its channels.
type IO interface {
	// Done is closed when the task is cancelled; blocking sends select on it.
	Done() <-chan struct{}
	// Outputs returns the channels of an output edge, indexed by consumer
	// subtask (one channel for a forward edge).
	Outputs(e jobgraph.TaskEdge) ([]Output, error)
	// Stats returns the task's counters; output writers add what they send.
	Stats() *Stats
	// Logger returns the subtask's logger (see Deployment.Logger): what
	// the chain's operators log goes there.
	Logger() *slog.Logger
}

// Output is the producer end of one channel: in-process (Local) when the
// consumer runs in the same TaskManager, else a data-plane stream (Remote)
// that carries serialized records.
type Output struct {
	Local  *network.Channel
	Remote *network.RemoteChannel
}

// Chain is one subtask of an operator chain, built by the job's code.
type Chain interface {
	// Open opens every operator, tail first.
	Open() error
	// IsSource reports whether the head is a source.
	IsSource() bool
	// Read asks the source head for the next records and returns how many
	// it emitted; 0 means none were ready. It returns io.EOF when a bounded
	// source is exhausted.
	Read() (int, error)
	// Process runs the records of one input buffer through the chain and
	// returns how many there were.
	Process(b *network.Buffer) int
	// EndInput tells the chain that every input has ended (or the source is
	// exhausted), so operators may emit their final results.
	EndInput() error
	// Flush sends partly filled output batches and flushes sinks.
	Flush()
	// Checkpoint snapshots the chain's state for checkpoint id and sends
	// the barrier on every output, after what came before it.
	Checkpoint(id int64) (*Snapshot, error)
	// Restore loads state before the chain opens: per operator uid, the
	// snapshots of that operator to restore from (for a keyed operator,
	// those of every subtask that wrote one; for a source, its own).
	Restore(state map[string][][]byte) error
	// EndOutputs sends end-of-stream on every output channel.
	EndOutputs()
	// Close releases the operators' resources; it is called once, also
	// after a failure.
	Close() error
	// Operator returns the name of the operator that ran user code last,
	// to attribute a panic.
	Operator() string
}

// Timers is implemented by a Chain whose operators have timers. Run checks
// for it once, when the task starts, so a chain without timers pays nothing.
//
// Run fires due timers on the task goroutine, between two input buffers (or
// two Reads of a source) and, when the task waits for input, by waking the
// wait at the next deadline. It stops firing when the input ends: timers
// still pending then are dropped, as Flink drops pending processing-time
// timers when a bounded job finishes.
type Timers interface {
	// NextTimer returns when the earliest pending timer is due, and false
	// when none is pending. It is called once per input buffer and must be
	// cheap.
	NextTimer() (time.Time, bool)
	// FireTimers fires, in timestamp order, timers due at now. Timers that
	// its own timer callbacks register may be left for the next call, so
	// one call cannot run forever.
	FireTimers(now time.Time) error
}

// Program builds chains: the job's code as the TaskManager sees it.
type Program interface {
	NewChain(d *Deployment, io IO) (Chain, error)
}

// InputChannels returns the number of channels into subtask `subtask` of a
// task with the given input edges: one per producer subtask, or one for a
// forward edge.
func InputChannels(g *jobgraph.Graph, inputs []jobgraph.TaskEdge) int {
	n := 0
	for _, e := range inputs {
		n += fanIn(g, e)
	}
	return n
}

// ChannelIndex returns the inbox index, in the consumer, of the channel that
// carries edge `edge` (an index into inputs) from producer subtask `producer`.
func ChannelIndex(g *jobgraph.Graph, inputs []jobgraph.TaskEdge, edge, producer int) int {
	base := 0
	for _, e := range inputs[:edge] {
		base += fanIn(g, e)
	}
	if inputs[edge].Partitioning == jobgraph.Forward {
		return base
	}
	return base + producer
}

// EdgeOf returns the input edge index that inbox channel ch belongs to.
func EdgeOf(g *jobgraph.Graph, inputs []jobgraph.TaskEdge, ch int) int {
	for i, e := range inputs {
		n := fanIn(g, e)
		if ch < n {
			return i
		}
		ch -= n
	}
	return -1
}

func fanIn(g *jobgraph.Graph, e jobgraph.TaskEdge) int {
	if e.Partitioning == jobgraph.Forward {
		return 1
	}
	src, _ := g.Operator(e.Source)
	return src.Parallelism
}
