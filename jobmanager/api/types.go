package api

import (
	"encoding/json"
	"time"
)

// Prefix is the path prefix of every route.
const Prefix = "/v1"

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// SubmitRequest submits a job whose artifact was uploaded before.
type SubmitRequest struct {
	// Graph is the job graph the binary printed in plan mode.
	Graph json.RawMessage `json:"graph"`
	// Artifact is the lowercase hex sha256 of the uploaded binary.
	Artifact string `json:"artifact"`
	// Args are the arguments the binary was planned with; TaskManagers run
	// it with the same arguments to rebuild the same graph.
	Args []string `json:"args,omitempty"`
	// Parallelism, if set, is the default parallelism the plan was made
	// with (passed to the binary as SLUICE_PARALLELISM).
	Parallelism int `json:"parallelism,omitempty"`
	// FromSavepoint, if set, is the location of a savepoint the job starts
	// from: a name in the cluster's state backend or file:///DIR.
	FromSavepoint string `json:"fromSavepoint,omitempty"`
	// AllowNonRestoredState drops saved state of operators the job no
	// longer has instead of refusing the job.
	AllowNonRestoredState bool `json:"allowNonRestoredState,omitempty"`
}

// RescaleRequest is the body of POST /v1/jobs/{id}/rescale: the job's
// binary planned again (same arguments) at the new parallelism.
type RescaleRequest struct {
	// Graph is the job graph the binary printed in plan mode.
	Graph json.RawMessage `json:"graph"`
	// Parallelism is the default parallelism the plan was made with
	// (passed to the binary as SLUICE_PARALLELISM); at least 1.
	Parallelism int `json:"parallelism"`
}

// SavepointRequest is the body of POST /v1/jobs/{id}/savepoints and
// POST /v1/jobs/{id}/stop.
type SavepointRequest struct {
	// Target is where the savepoint goes: a name in the cluster's state
	// backend or file:///DIR; empty: savepoints/JOB-N in the backend.
	Target string `json:"target,omitempty"`
}

// Savepoint is the progress of a savepoint.
type Savepoint struct {
	ID       int    `json:"id"`
	JobID    string `json:"jobId"`
	Location string `json:"location"`
	Stop     bool   `json:"stop"`
	// Status is in_progress, completed or failed.
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Checkpoint int64     `json:"checkpoint,omitempty"`
	Size       int64     `json:"size"`
	Triggered  time.Time `json:"triggered"`
	Ended      time.Time `json:"ended,omitzero"`
}

// Savepoint statuses.
const (
	SavepointInProgress = "in_progress"
	SavepointCompleted  = "completed"
	SavepointFailed     = "failed"
)

// DisposeRequest is the body of POST /v1/savepoints/dispose.
type DisposeRequest struct {
	Location string `json:"location"`
}

// SubmitResponse names the new job.
type SubmitResponse struct {
	ID string `json:"id"`
}

// JobSummary is one line of the job list.
type JobSummary struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitzero"`
	Subtasks int       `json:"subtasks"`
	Restarts int       `json:"restarts"`
	Error    string    `json:"error,omitempty"`
	// RestoredFrom names what the current attempt restored its state
	// from, e.g. "checkpoint 7"; empty if it started empty.
	RestoredFrom string `json:"restoredFrom,omitempty"`
}

// JobList is the body of GET /v1/jobs.
type JobList struct {
	Jobs []JobSummary `json:"jobs"`
}

// Subtask is the status of one parallel instance of a task.
type Subtask struct {
	Task        string `json:"task"`
	Name        string `json:"name"`
	Subtask     int    `json:"subtask"`
	Parallelism int    `json:"parallelism"`
	TaskManager string `json:"taskManager"`
	Slot        int    `json:"slot"`
	State       string `json:"state"`
	RecordsIn   int64  `json:"recordsIn"`
	RecordsOut  int64  `json:"recordsOut"`
	// Backpressure is the share of time (0 to 1) the subtask waited to
	// send its output, over its last heartbeat interval.
	Backpressure float64 `json:"backpressure"`
	Error        string  `json:"error,omitempty"`
}

// Exception is a failure the job went through: a subtask that failed or a
// TaskManager that was lost.
type Exception struct {
	Time    time.Time `json:"time"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

// JobDetail is the body of GET /v1/jobs/{id}.
type JobDetail struct {
	JobSummary
	Fingerprint string      `json:"fingerprint"`
	Artifact    string      `json:"artifact"`
	Args        []string    `json:"args,omitempty"`
	Attempt     int         `json:"attempt"`
	Tasks       []Subtask   `json:"tasks"`
	Exceptions  []Exception `json:"exceptions"`
}

// Slot is one task slot of a TaskManager and what is accounted against it.
type Slot struct {
	Index int `json:"index"`
	// Job is the job whose subtasks use the slot, empty when free.
	Job      string   `json:"job,omitempty"`
	Subtasks []string `json:"subtasks,omitempty"`
	// MemoryBytes is the slot's share of the TaskManager's managed memory.
	MemoryBytes int64 `json:"memoryBytes"`
	// NetworkBytes is the memory reserved for the slot's network buffers.
	NetworkBytes int64 `json:"networkBytes"`
	// StateBytes estimates the keyed state the slot's subtasks hold.
	StateBytes int64 `json:"stateBytes"`
}

// TaskManager is a registered TaskManager.
type TaskManager struct {
	ID          string `json:"id"`
	DataAddress string `json:"dataAddress"`
	// MetricsAddress is the host:port of the TaskManager's Prometheus
	// endpoint (GET /metrics); empty when it serves none.
	MetricsAddress string    `json:"metricsAddress,omitempty"`
	Artifact       string    `json:"artifact"`
	Fingerprint    string    `json:"fingerprint"`
	Slots          []Slot    `json:"slots"`
	FreeSlots      int       `json:"freeSlots"`
	ManagedMemory  int64     `json:"managedMemory"`
	Registered     time.Time `json:"registered"`
	LastHeartbeat  time.Time `json:"lastHeartbeat"`
}

// TaskManagerList is the body of GET /v1/taskmanagers.
type TaskManagerList struct {
	TaskManagers []TaskManager `json:"taskmanagers"`
}

// Overview is the body of GET /v1/overview.
type Overview struct {
	TaskManagers int            `json:"taskmanagers"`
	Slots        int            `json:"slots"`
	FreeSlots    int            `json:"freeSlots"`
	Jobs         map[string]int `json:"jobs"` // by state
	Version      string         `json:"version"`
	// Cluster is the cluster's name (--cluster); empty for the default.
	Cluster string `json:"cluster,omitempty"`
}

// CheckpointSubtask is one subtask's part of a checkpoint.
type CheckpointSubtask struct {
	Task        string `json:"task"`
	Subtask     int    `json:"subtask"`
	Size        int64  `json:"size"`
	SyncMs      int64  `json:"syncMs"`
	AsyncMs     int64  `json:"asyncMs"`
	AlignmentMs int64  `json:"alignmentMs"`
}

// Checkpoint is one checkpoint or savepoint of a job.
type Checkpoint struct {
	ID         int64               `json:"id"`
	Savepoint  bool                `json:"savepoint"`
	Status     string              `json:"status"` // pending, completed, aborted, discarded
	Attempt    int                 `json:"attempt"`
	Triggered  time.Time           `json:"triggered"`
	Ended      time.Time           `json:"ended,omitzero"`
	DurationMs int64               `json:"durationMs"`
	Size       int64               `json:"size"`
	Reason     string              `json:"reason,omitempty"`
	Subtasks   []CheckpointSubtask `json:"subtasks"`
}

// CheckpointList is the body of GET /v1/jobs/{id}/checkpoints, oldest first.
type CheckpointList struct {
	Checkpoints []Checkpoint `json:"checkpoints"`
}

// JobGraph is the body of GET /v1/jobs/{id}/graph: the job's operators
// grouped into tasks (operator chains, as the scheduler places them) and
// the edges between tasks.
type JobGraph struct {
	JobID       string `json:"jobId"`
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	// Tasks are in a topological order (sources first).
	Tasks []GraphTask `json:"tasks"`
	// Edges are the edges that are not chained, between tasks.
	Edges []GraphEdge `json:"edges"`
}

// GraphTask is one task: a chain of operators run by one goroutine per
// subtask. Its subtasks are the Subtasks of JobDetail whose Task is ID.
type GraphTask struct {
	ID               string `json:"id"`   // uid of the head operator
	Name             string `json:"name"` // operator names joined by " -> "
	Parallelism      int    `json:"parallelism"`
	MaxParallelism   int    `json:"maxParallelism"`
	SlotSharingGroup string `json:"slotSharingGroup"`
	// Operators are head first; a chain may fan out, so each but the head
	// names the operator of the chain it is chained to.
	Operators []GraphOperator `json:"operators"`
}

// GraphOperator is an operator of a task's chain.
type GraphOperator struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
	Kind string `json:"kind"` // source, map, filter, flatmap, reduce, process, sink, ...
	// ChainedTo is the uid of the operator of the same chain it is chained
	// to; empty for the chain's head.
	ChainedTo string `json:"chainedTo,omitempty"`
	Keyed     bool   `json:"keyed,omitempty"`
	Bounded   bool   `json:"bounded,omitempty"`
	OutType   string `json:"outType,omitempty"`
}

// GraphEdge is an edge from one task to another.
type GraphEdge struct {
	Source string `json:"source"` // task id
	Target string `json:"target"` // task id
	// SourceOperator and TargetOperator are the uids of the operators the
	// edge connects, inside those tasks.
	SourceOperator string `json:"sourceOperator"`
	TargetOperator string `json:"targetOperator"`
	// Partitioning is forward, hash, rebalance or broadcast.
	Partitioning string `json:"partitioning"`
}
