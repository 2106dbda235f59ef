package provider

import (
	"context"
	"errors"
)

// EnvTaskManagerID is the environment variable that carries a TaskManager's
// id to the TaskManager process. Providers set it themselves.
const EnvTaskManagerID = "SLUICE_TASKMANAGER_ID"

// ErrClosed is returned by Ensure once the provider is closed.
var ErrClosed = errors.New("provider: closed")

// Request asks for the TaskManagers of one job.
type Request struct {
	JobID string
	// Artifact is the sha256 (hex) of the job binary.
	Artifact string
	// Path is the local path of the verified binary (Local provider).
	Path string
	// Args are the arguments to run the binary with.
	Args []string
	// Env is extra environment (KEY=VALUE) for every TaskManager; the
	// provider adds EnvTaskManagerID itself.
	Env []string
	// TaskManagers is how many TaskManagers the job needs.
	TaskManagers int
	// SlotsPerTaskManager is the number of slots of each TaskManager.
	SlotsPerTaskManager int
	// MemoryPerTaskManager is the memory of each TaskManager in bytes; 0
	// means unspecified.
	MemoryPerTaskManager int64
	// ArtifactToken, when the JobManager checks tokens, is the bearer
	// token that may fetch the artifact and Files from its REST API
	// (providers that download them, like Nomad, send it).
	ArtifactToken string
	// Files are other binaries a TaskManager needs next to its own, such
	// as the state backend plugin it opens itself. Providers that run
	// TaskManagers on other machines (Nomad) fetch them like the artifact;
	// Local runs on the JobManager's machine and needs none.
	Files []File
}

// File is a binary from the JobManager's artifact store, placed next to a
// TaskManager's binary under Name.
type File struct {
	Name   string
	Digest string // sha256, hex
}

// Lost tells that a TaskManager the provider started has died.
type Lost struct {
	TaskManager string
	JobID       string
	// Err says how it died; for Local it is an *ExitError.
	Err error
}

// Provider provides the TaskManagers of jobs.
type Provider interface {
	// Name names the provider, e.g. "local".
	Name() string
	// Ensure makes sure req.TaskManagers TaskManagers are running (or asked
	// for) for the job, starting replacements for dead ones; calling it
	// again with the same request after a loss is how the JobManager
	// replaces lost TaskManagers. It returns the ids of the TaskManagers it
	// started this call.
	Ensure(ctx context.Context, req Request) ([]string, error)
	// Release stops the job's TaskManagers (SIGTERM, then SIGKILL after a
	// grace period) and forgets them. No Lost events for them after
	// Release.
	Release(jobID string) error
	// Lost delivers TaskManagers that died without being released. The
	// channel is closed by Close.
	Lost() <-chan Lost
	// Close releases everything and waits until every process it started
	// has exited.
	Close() error
}
