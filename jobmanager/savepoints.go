package jobmanager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/savepoint"
)

// ErrNotRunning means a job is not in a state to take a savepoint.
var ErrNotRunning = errors.New("job is not running")

// ErrNoBackend means the JobManager has no state backend.
var ErrNoBackend = errors.New("no state backend is configured")

// DefaultSavepointDir is the object-name prefix savepoints go under when
// no target is given.
const DefaultSavepointDir = "savepoints"

// Savepoint states.
const (
	SavepointInProgress = "in_progress"
	SavepointCompleted  = "completed"
	SavepointFailed     = "failed"
)

// SavepointStatus is the progress of a savepoint a user asked for.
type SavepointStatus struct {
	// ID identifies the request within its job (1, 2, ...).
	ID       int    `json:"id"`
	JobID    string `json:"jobId"`
	Location string `json:"location"`
	// Stop: the job is stopped once the savepoint is written.
	Stop   bool   `json:"stop"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Checkpoint is the id of the checkpoint that took it (0 while it
	// waits for a running checkpoint to end).
	Checkpoint int64     `json:"checkpoint,omitempty"`
	Size       int64     `json:"size"`
	Triggered  time.Time `json:"triggered"`
	Ended      time.Time `json:"ended,omitzero"`

	writing bool // the snapshots are taken and being copied to Location
}

// savepoint returns the request for location (lock held).
func (j *jobEntry) savepoint(location string) *SavepointStatus {
	for _, sp := range j.savepoints {
		if sp.Location == location {
			return sp
		}
	}
	return nil
}

// TriggerSavepoint starts a savepoint of a running job. The target is a
// location (see package savepoint); empty means
// DefaultSavepointDir/JOB-N in the state backend. With stop, the job is
// stopped once the savepoint is written and ends finished. The savepoint
// is taken at once, or as soon as a checkpoint in progress ends.
func (jm *JobManager) TriggerSavepoint(jobID, target string, stop bool) (SavepointStatus, error) {
	return jm.triggerSavepoint(jobID, target, stop, nil)
}

// triggerSavepoint is TriggerSavepoint; with next, the savepoint is a
// rescale's, and the job restarts as next once it is written.
func (jm *JobManager) triggerSavepoint(jobID, target string, stop bool, next *Submission) (SavepointStatus, error) {
	if jm.cfg.Snapshots == nil {
		return SavepointStatus{}, ErrNoBackend
	}
	jm.mu.Lock()
	j, ok := jm.jobs[jobID]
	if !ok {
		jm.mu.Unlock()
		return SavepointStatus{}, errUnknownJob(jobID)
	}
	switch {
	case j.state != StateRunning:
		jm.mu.Unlock()
		return SavepointStatus{}, fmt.Errorf("%w: job %s is %s; a savepoint needs a running job", ErrNotRunning, jobID, j.state)
	case j.anyFinished():
		jm.mu.Unlock()
		return SavepointStatus{}, fmt.Errorf("%w: job %s has subtasks that already finished, and a savepoint needs every subtask running", ErrNotRunning, jobID)
	case j.coord == nil:
		jm.mu.Unlock()
		return SavepointStatus{}, fmt.Errorf("%w: job %s cannot take checkpoints (see the JobManager's log)", ErrNotRunning, jobID)
	}
	n := len(j.savepoints) + 1
	if target == "" {
		target = fmt.Sprintf("%s/%s-%d", DefaultSavepointDir, jobID, n)
	}
	loc, err := savepoint.ParseLocation(target)
	if err != nil {
		jm.mu.Unlock()
		return SavepointStatus{}, err
	}
	if j.savepoint(loc.String()) != nil {
		jm.mu.Unlock()
		return SavepointStatus{}, fmt.Errorf("%w: %s is the target of an earlier savepoint of this job", savepoint.ErrExists, loc)
	}
	if next != nil && j.rescale != nil {
		jm.mu.Unlock()
		return SavepointStatus{}, fmt.Errorf("%w: job %s is being rescaled already; wait for it", ErrNotRunning, jobID)
	}
	cp, acts, err := j.coord.TriggerSavepoint(time.Now(), loc.String())
	if err != nil {
		jm.mu.Unlock()
		return SavepointStatus{}, fmt.Errorf("job %s: %w; wait for it to end", jobID, err)
	}
	if next != nil {
		j.rescale = &rescaleState{next: *next, location: loc.String()}
	}
	sp := &SavepointStatus{ID: n, JobID: jobID, Location: loc.String(), Stop: stop, Status: SavepointInProgress, Checkpoint: cp.ID, Triggered: time.Now()}
	j.savepoints = append(j.savepoints, sp)
	out := *sp
	jm.mu.Unlock()
	jm.log.Info("savepoint triggered", "job", jobID, "location", sp.Location, "stop", stop)
	jm.checkpointActions(j, acts)
	jm.wakeCheckpoints(j)
	return out, nil
}

// Savepoint returns the progress of a job's savepoint request id.
func (jm *JobManager) Savepoint(jobID string, id int) (SavepointStatus, error) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	j, ok := jm.jobs[jobID]
	if !ok {
		return SavepointStatus{}, errUnknownJob(jobID)
	}
	if id < 1 || id > len(j.savepoints) {
		return SavepointStatus{}, fmt.Errorf("%w: job %s has no savepoint %d", ErrUnknownJob, jobID, id)
	}
	sp := *j.savepoints[id-1]
	if sp.Checkpoint == 0 {
		for _, cp := range j.coord.History() {
			if cp.Savepoint && cp.Target == sp.Location {
				sp.Checkpoint = cp.ID
			}
		}
	}
	return sp, nil
}

// writeSavepoint copies a completed savepoint checkpoint's snapshots to its
// location with the metadata, then deletes the snapshots.
func (jm *JobManager) writeSavepoint(j *jobEntry, cp *checkpoint.Checkpoint) {
	loc, err := savepoint.ParseLocation(cp.Target)
	var size int64
	if err == nil {
		meta := &savepoint.Metadata{JobID: j.id, JobName: j.name, Checkpoint: cp.ID, Created: time.Now().UTC(),
			Fingerprint: j.graph.Fingerprint, Operators: savepoint.FromCheckpoint(cp, j.graph)}
		store := &savepoint.Store{Backend: jm.cfg.Snapshots}
		size, err = store.Write(context.Background(), loc, meta)
	}
	for _, a := range cp.AckList {
		jm.deleteStates(a)
	}
	jm.savepointEnded(j, cp.Target, size, err)
}

// savepointEnded records how a savepoint ended, and stops the job if that
// was asked for and it succeeded.
func (jm *JobManager) savepointEnded(j *jobEntry, location string, size int64, err error) {
	jm.mu.Lock()
	sp := j.savepoint(location)
	if sp == nil || sp.Status != SavepointInProgress {
		jm.mu.Unlock()
		return
	}
	sp.writing, sp.Ended, sp.Size = false, time.Now(), size
	if err != nil {
		sp.Status, sp.Error = SavepointFailed, err.Error()
	} else {
		sp.Status = SavepointCompleted
	}
	stop := sp.Stop && err == nil
	rs := j.rescale
	if rs != nil && rs.location != location {
		rs = nil
	}
	if rs != nil && err != nil {
		j.rescaleFailed(fmt.Errorf("its savepoint failed: %w", err), time.Now())
	}
	jm.mu.Unlock()
	if err != nil {
		jm.log.Warn("savepoint failed", "job", j.id, "location", location, "err", err)
		return
	}
	jm.log.Info("savepoint completed", "job", j.id, "location", location, "bytes", size)
	switch {
	case stop && rs != nil:
		jm.rescaleFrom(j, rs)
	case stop:
		jm.apply(j, j.stop)
	}
}

// OpenSavepoint reads the savepoint at location for a job to start from.
// A savepoint in a directory is imported into the state backend first.
func (jm *JobManager) OpenSavepoint(ctx context.Context, location string, allowNonRestored bool) (*Restore, error) {
	if jm.cfg.Snapshots == nil {
		return nil, ErrNoBackend
	}
	loc, err := savepoint.ParseLocation(location)
	if err != nil {
		return nil, err
	}
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	store := &savepoint.Store{Backend: jm.cfg.Snapshots}
	meta, imported, err := store.Read(ctx, loc, "imported/"+hex.EncodeToString(nonce[:]))
	if err != nil {
		return nil, err
	}
	return &Restore{Location: loc.String(), Operators: meta.Operators, AllowNonRestored: allowNonRestored, Imported: imported}, nil
}

// DiscardRestore deletes what OpenSavepoint imported for a job that was
// then not submitted.
func (jm *JobManager) DiscardRestore(r *Restore) {
	if r != nil {
		jm.deleteObjects(r.Imported)
	}
}

// DisposeSavepoint deletes the savepoint at location.
func (jm *JobManager) DisposeSavepoint(ctx context.Context, location string) error {
	loc, err := savepoint.ParseLocation(location) // bad input first, whatever the backend
	if err != nil {
		return err
	}
	if jm.cfg.Snapshots == nil {
		return ErrNoBackend
	}
	store := &savepoint.Store{Backend: jm.cfg.Snapshots}
	if err := store.Dispose(ctx, loc); err != nil {
		return err
	}
	jm.log.Info("savepoint disposed", "location", loc.String())
	return nil
}
