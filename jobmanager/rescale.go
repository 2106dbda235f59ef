package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/savepoint"
)

// ErrRescaleUnsupported means a job cannot be rescaled in place: its
// TaskManagers are not started for it by a provider.
var ErrRescaleUnsupported = errors.New("rescale not supported")

// rescaleState is a rescale in progress: the savepoint it waits for, then
// the state read back from it.
type rescaleState struct {
	next     Submission // the job at its new parallelism
	location string     // of the savepoint
	restore  *Restore   // the savepoint, once written and read back
}

// Rescale restarts a running job as next, the same job planned at another
// parallelism, under the same id: it takes a savepoint, stops the job once
// the savepoint is written, asks the provider for the TaskManagers next
// needs (a Nomad job's group takes the new count), and restores the
// savepoint into the new graph, whose keyed state is split into key groups
// of the new parallelism. It returns the savepoint's progress at once.
//
// If the savepoint fails, or its state does not fit next's graph, the job
// goes on running as it was, and the reason is one of its exceptions.
// Only jobs whose TaskManagers a provider starts (local, Nomad) can be
// rescaled: standalone TaskManagers run the graph they were started with.
func (jm *JobManager) Rescale(jobID string, next Submission) (SavepointStatus, error) {
	if next.Resources == nil || jm.cfg.Provider == nil {
		return SavepointStatus{}, fmt.Errorf("%w: job %s runs on standalone TaskManagers, which run the graph they were started with; stop it with a savepoint, restart them at the new parallelism and submit it from the savepoint", ErrRescaleUnsupported, jobID)
	}
	if err := next.Graph.Validate(); err != nil {
		return SavepointStatus{}, fmt.Errorf("%w: %w", ErrInvalidSubmission, err)
	}
	jm.mu.Lock()
	j, ok := jm.jobs[jobID]
	same := ok && j.graph.Fingerprint == next.Graph.Fingerprint
	jm.mu.Unlock()
	if !ok {
		return SavepointStatus{}, errUnknownJob(jobID)
	}
	if same {
		return SavepointStatus{}, fmt.Errorf("%w: job %s already runs this graph; give another parallelism", ErrInvalidSubmission, jobID)
	}
	next.ID = jobID
	sp, err := jm.triggerSavepoint(jobID, fmt.Sprintf("%s/%s-rescale-%d", DefaultSavepointDir, jobID, time.Now().UnixMilli()), true, &next)
	if err == nil {
		jm.log.Info("job rescaling", "job", jobID, "savepoint", sp.Location)
	}
	return sp, err
}

// rescaleFailed ends a rescale in progress; the job goes on (lock held).
func (j *jobEntry) rescaleFailed(cause error, now time.Time) {
	j.rescale = nil
	j.exceptions = append(j.exceptions, Exception{Time: now, Attempt: max(j.attempt, 0),
		Error: fmt.Sprintf("rescale refused, the job goes on as it was: %v", cause)})
}

// rescaleFrom carries on a rescale whose savepoint is written: it reads the
// savepoint back, checks that its state fits the new graph, and stops the
// attempt, after which restart swaps the new graph in.
func (jm *JobManager) rescaleFrom(j *jobEntry, rs *rescaleState) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	restore, err := jm.OpenSavepoint(ctx, rs.location, false)
	if err == nil {
		_, err = savepoint.Assign(restore.Operators, rs.next.Graph, false)
	}
	jm.mu.Lock()
	current := j.rescale == rs // not ended meanwhile by a failed attempt
	switch {
	case current && err == nil:
		rs.restore = restore
	case current:
		j.rescaleFailed(err, time.Now())
	}
	jm.mu.Unlock()
	if !current || err != nil {
		jm.DiscardRestore(restore)
		jm.log.Warn("rescale refused", "job", j.id, "savepoint", rs.location, "err", err)
		return
	}
	jm.apply(j, j.stopForRescale)
}

// swapRescale makes a restarting job its rescaled submission, if a rescale
// stopped it: the new graph, the savepoint to restore, a new checkpoint
// coordinator (the old one's checkpoints are of the old graph and are
// discarded; the savepoint holds their state), and TaskManagers for the
// new graph instead of the old ones. It reports whether it did.
func (jm *JobManager) swapRescale(j *jobEntry) bool {
	jm.mu.Lock()
	rs := j.rescale
	if rs == nil || rs.restore == nil {
		jm.mu.Unlock()
		return false
	}
	j.rescale = nil
	var acts []checkpoint.Action
	if j.coord != nil {
		acts = j.coord.Stop(time.Now(), true, false)
		wake := j.wake
		j.coord, j.wake = nil, nil
		select { // the old coordinator's goroutine sees it is replaced
		case wake <- struct{}{}:
		default:
		}
	}
	old := j.sub
	next := rs.next
	next.Restore = rs.restore
	next.Program, next.Restart = old.Program, old.Restart
	j.sub = next
	j.rescaled(next.Graph)
	jm.mu.Unlock()
	jm.checkpointActions(j, acts)
	if r := old.Restore; r != nil && len(r.Imported) > 0 {
		jm.deleteObjects(r.Imported)
	}
	if err := jm.cfg.Provider.Release(j.id); err != nil {
		jm.log.Warn("releasing the taskmanagers of the old parallelism", "job", j.id, "err", err)
	}
	jm.log.Info("job rescaled", "job", j.id, "from", rs.location)
	return true
}
