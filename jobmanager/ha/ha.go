// Package ha is the high availability of the JobManager: leader election,
// leader discovery and the HA store.
//
// With Consul (Consul), JobManagers contend for a session lock on the key
// <Prefix>/<Cluster>/leader. The session is bound to the node's serfHealth
// check and to a TTL check of the JobManager's own service, which the
// Consul object keeps passing while it runs, so a JobManager that dies or
// stops loses its session (and the lock) within the check's TTL; the lock
// delay is set explicitly (1 s by default, Consul's is 15 s) so that a
// standby takes over within about CheckTTL + LockDelay. The leader writes
// its addresses as the lock's value (Leader, as JSON with the format
// "sluice-leader/1", with a "scheme" of "https" when its REST API serves
// TLS); TaskManagers and jmctl read or watch that key (Discovery).
//
// Each leadership has an epoch: the lock key's modify index written by the
// acquisition, which grows with Consul's Raft index, so every acquisition
// has a greater epoch than any before it. Commands to TaskManagers carry
// it, and every write to the HA store (Store) is a Consul transaction that
// checks that the lock key is still held by this JobManager's session at
// that epoch before it writes: a deposed leader can change nothing.
//
// The store keeps job submissions (jobs/<id>) and the pointers to each
// job's latest completed checkpoint (checkpoints/<id>) in Consul KV; the
// bytes they refer to (artifacts, checkpoint metadata) are objects in the
// state backend, named by ArtifactObject and CheckpointMetadataObject.
//
// Keys, under <Prefix>/<Cluster>/ ("sluice/default/" by default):
//
//	leader             the lock; its value is the Leader (format sluice-leader/1)
//	jobs/<id>          a JobRecord (format sluice-job/1)
//	checkpoints/<id>   a Pointer (format sluice-pointer/1)
//
// A value of another format or version, or that fails validation, is
// refused and logged: Discovery reports no leader (Leader returns
// ErrForeign), Jobs skips it, Pointer returns ErrForeign.
//
// Without Consul, Local makes a single JobManager the leader at once and
// keeps the store in memory.
package ha

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Leader is what the leader publishes as the lock key's value (JSON with a
// "format": "sluice-leader/1" field; anything else found there is refused).
type Leader struct {
	ID   string `json:"id"`   // the JobManager's id
	REST string `json:"rest"` // host:port of its REST API
	RPC  string `json:"rpc"`  // host:port of its control endpoint
	// Scheme is the REST API's: "https" when it serves TLS, else "" (a
	// record written before TLS) or "http".
	Scheme string `json:"scheme,omitempty"`
	Epoch  uint64 `json:"-"` // filled in by readers: the lock's epoch
}

// IsZero reports whether l is the zero Leader (no leader).
func (l Leader) IsZero() bool { return l == Leader{} }

// RESTURL returns the base URL of the leader's REST API,
// scheme://host:port.
func (l Leader) RESTURL() string {
	scheme := l.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + l.REST
}

// Errors callers branch on (errors.Is).
var (
	ErrFenced     = errors.New("ha: fenced: this JobManager no longer leads")
	ErrNoLeader   = errors.New("ha: no leader")
	ErrForeign    = errors.New("ha: foreign or corrupt value")
	ErrPermission = errors.New("ha: permission denied")
	// ErrClosed is returned by Campaign once the elector is closed.
	ErrClosed = errors.New("ha: closed")
)

// Elector elects the leader among JobManagers.
type Elector interface {
	// Campaign blocks until this JobManager leads or ctx ends. It returns
	// the leadership's epoch (strictly greater than any earlier epoch of
	// this cluster) and a channel closed when leadership is lost (session
	// invalidated, or Consul unreachable past the grace period).
	Campaign(ctx context.Context, me Leader) (epoch uint64, lost <-chan struct{}, err error)
	// Resign gives up leadership if held and deregisters; idempotent.
	Resign(ctx context.Context) error
}

// Discovery finds the current leader.
type Discovery interface {
	// Leader returns the current leader (ErrNoLeader if none).
	Leader(ctx context.Context) (Leader, error)
	// Watch calls fn with the leader every time it changes (blocking
	// queries on the lock key), until ctx ends; fn is called with the
	// zero Leader when there is none.
	Watch(ctx context.Context, fn func(Leader)) error
}

// JobRecord is a submitted job as the HA store keeps it.
type JobRecord struct {
	ID                    string          `json:"id"`
	Name                  string          `json:"name"`
	Graph                 json.RawMessage `json:"graph"`
	Artifact              string          `json:"artifact"` // sha256; the bytes are in the state backend under ArtifactObject(digest)
	Args                  []string        `json:"args,omitempty"`
	Parallelism           int             `json:"parallelism,omitempty"`
	FromSavepoint         string          `json:"fromSavepoint,omitempty"`
	AllowNonRestoredState bool            `json:"allowNonRestoredState,omitempty"`
	Submitted             time.Time       `json:"submitted"`
	Ended                 bool            `json:"ended"` // finished, failed or cancelled: not run again
	State                 string          `json:"state,omitempty"`
}

// Pointer locates a job's latest completed checkpoint: its metadata object
// in the state backend.
type Pointer struct {
	Checkpoint int64  `json:"checkpoint"`
	Metadata   string `json:"metadata"` // object name in the state backend
	Epoch      uint64 `json:"epoch"`    // the leader's epoch that wrote it
}

// Store is the HA store. Every write takes the writer's epoch and fails
// with ErrFenced unless the writer still holds the leadership of that
// epoch (check-and-set in Consul: a transaction that checks the lock key
// is held by this JobManager's session, then writes).
type Store interface {
	PutJob(ctx context.Context, epoch uint64, j JobRecord) error
	Jobs(ctx context.Context) ([]JobRecord, error) // corrupt entries are logged and skipped
	PutPointer(ctx context.Context, epoch uint64, jobID string, p Pointer) error
	Pointer(ctx context.Context, jobID string) (Pointer, bool, error)
}

// ArtifactObject is the state-backend object holding the artifact with the
// given sha256: "artifacts/<digest>".
func ArtifactObject(digest string) string { return "artifacts/" + digest }

// CheckpointMetadataObject is the state-backend object holding the metadata
// of a job's completed checkpoint taken under leadership epoch:
// "ha/<jobID>/e<epoch>/chk-<n>/_metadata". Each leader numbers checkpoints
// from 1 again, so the epoch keeps the names of two leaders apart.
func CheckpointMetadataObject(jobID string, epoch uint64, checkpoint int64) string {
	return "ha/" + jobID + "/e" + strconv.FormatUint(epoch, 10) + "/chk-" + strconv.FormatInt(checkpoint, 10) + "/_metadata"
}

// Interface checks.
var (
	_ Elector   = (*Local)(nil)
	_ Discovery = (*Local)(nil)
	_ Store     = (*Local)(nil)
	_ Elector   = (*Consul)(nil)
	_ Discovery = (*Consul)(nil)
	_ Store     = (*Consul)(nil)
)
