package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/savepoint"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// checkpointPlan prepares the coordinator for a new attempt of a job (lock
// held): it creates it on the first placement, or restarts it, and returns
// the state each subtask restores from and the actions of the restart.
func (jm *JobManager) checkpointPlan(j *jobEntry, now time.Time) (map[checkpoint.Subtask]map[string][]string, []checkpoint.Action) {
	var latest *checkpoint.Checkpoint
	var acts []checkpoint.Action
	if j.coord == nil {
		jm.newCoordinator(j, now)
	} else {
		latest, acts = j.coord.Restart(now, j.attempt)
		jm.wakeCheckpoints(j)
	}
	var saved []savepoint.Operator
	allow := false
	switch {
	case latest != nil:
		saved = savepoint.FromCheckpoint(latest, j.graph)
		j.restoredFrom = fmt.Sprintf("checkpoint %d", latest.ID)
	case j.sub.Restore != nil:
		saved, allow = j.sub.Restore.Operators, j.sub.Restore.AllowNonRestored
		j.restoredFrom = j.sub.Restore.Location
		if !j.sub.Restore.Checkpoint {
			j.restoredFrom = "savepoint " + j.restoredFrom
		}
	default:
		j.restoredFrom = ""
		return nil, acts
	}
	plan, err := savepoint.Assign(saved, j.graph, allow)
	if err != nil {
		// Submit checked the savepoint and a checkpoint is of this graph.
		jm.log.Error("restore plan", "job", j.id, "from", j.restoredFrom, "err", err)
		j.restoredFrom = ""
		return nil, acts
	}
	return plan, acts
}

// newCoordinator gives the job a checkpoint coordinator and its goroutine
// (lock held). Periodic checkpoints run if the job asked for them;
// savepoints work either way.
func (jm *JobManager) newCoordinator(j *jobEntry, now time.Time) {
	var subtasks, sources []checkpoint.Subtask
	for _, t := range j.tasks {
		head, _ := j.graph.Operator(t.Operators[0])
		for i := range t.Parallelism {
			s := checkpoint.Subtask{Task: t.ID, Index: i}
			subtasks = append(subtasks, s)
			if len(j.graph.Inputs(head.UID)) == 0 {
				sources = append(sources, s)
			}
		}
	}
	coord, err := checkpoint.New(j.sub.Checkpoints, subtasks, sources, now)
	if err != nil {
		jm.log.Error("checkpoints disabled", "job", j.id, "err", err)
		return
	}
	j.coord = coord
	j.wake = make(chan struct{}, 1)
	jm.timers.Add(1)
	go jm.runCheckpoints(j, coord, j.wake)
}

// checkpointSpec is how the job's subtasks take part in checkpoints.
func (j *jobEntry) checkpointSpec() *task.CheckpointSpec {
	if j.coord == nil {
		return nil
	}
	return &task.CheckpointSpec{Aligned: j.coord.Config().Mode == checkpoint.ExactlyOnce, Prefix: j.snapshotPrefix}
}

// runCheckpoints drives a job's coordinator until the job ends, or a
// rescale replaces the coordinator (and signals wake).
func (jm *JobManager) runCheckpoints(j *jobEntry, coord *checkpoint.Coordinator, wake chan struct{}) {
	defer jm.timers.Done()
	for {
		jm.mu.Lock()
		if j.state.Terminal() || j.coord != coord {
			jm.mu.Unlock()
			return
		}
		next := coord.NextTick(time.Now())
		jm.mu.Unlock()
		var fire <-chan time.Time
		if !next.IsZero() {
			t := time.NewTimer(time.Until(next))
			fire = t.C
			defer t.Stop()
		}
		select {
		case <-jm.stop:
			return
		case <-wake:
			continue
		case <-fire:
		}
		jm.mu.Lock()
		var acts []checkpoint.Action
		// Checkpoints need every subtask running: none after a
		// subtask finished, none while the job is not running.
		if j.state == StateRunning && !j.anyFinished() && j.coord == coord {
			acts = coord.Tick(time.Now())
		}
		jm.mu.Unlock()
		jm.checkpointActions(j, acts)
	}
}

func (jm *JobManager) wakeCheckpoints(j *jobEntry) {
	if j.wake == nil {
		return
	}
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// AcknowledgeCheckpoint takes a subtask's acknowledgement.
func (jm *JobManager) AcknowledgeCheckpoint(jobID string, attempt int, id int64, ack checkpoint.Ack) {
	jm.mu.Lock()
	j, ok := jm.jobs[jobID]
	if !ok || j.coord == nil || attempt != j.attempt {
		jm.mu.Unlock()
		jm.deleteStates(ack) // from an older attempt
		return
	}
	acts, err := j.coord.Acknowledge(time.Now(), id, ack)
	if err != nil {
		jm.mu.Unlock()
		jm.deleteStates(ack) // a checkpoint that was aborted meanwhile
		return
	}
	var completed *checkpoint.Checkpoint
	for _, a := range acts {
		if a.Kind == checkpoint.Complete {
			if a.Checkpoint.Savepoint {
				if sp := j.savepoint(a.Checkpoint.Target); sp != nil {
					sp.writing = true
				}
				continue
			}
			completed = a.Checkpoint
		}
	}
	var counted *checkpoint.Checkpoint
	if completed != nil && jm.cfg.RecordCheckpoint == nil {
		acts = append(acts, j.coord.Recorded(completed.ID)...)
		counted = checkpointCopy(completed)
		completed = nil
	}
	jm.mu.Unlock()
	jm.checkpointEnded(j, counted)
	jm.checkpointActions(j, acts)
	if completed != nil {
		// The HA store records the completed-checkpoint pointer before
		// the checkpoint counts: only then may older ones be discarded.
		err := jm.cfg.RecordCheckpoint(j.id, j.graph, completed)
		jm.mu.Lock()
		if err != nil {
			jm.log.Warn("recording a completed checkpoint failed; it is dropped", "job", j.id, "attempt", completed.Attempt, "checkpoint", completed.ID, "err", err)
			acts = j.coord.RecordFailed(completed.ID, err)
		} else {
			acts = j.coord.Recorded(completed.ID)
		}
		counted = checkpointCopy(completed)
		jm.mu.Unlock()
		jm.checkpointEnded(j, counted)
		jm.checkpointActions(j, acts)
	}
	jm.wakeCheckpoints(j)
}

// checkpointCopy copies a checkpoint the coordinator keeps changing (lock
// held); the acknowledgements no longer change once it completed.
func checkpointCopy(cp *checkpoint.Checkpoint) *checkpoint.Checkpoint {
	c := *cp
	return &c
}

// checkpointEnded tells Config.CheckpointEnded about a checkpoint that
// completed or was aborted (a copy; nil: nothing to tell). Savepoints are
// not checkpoints the job takes on its own, and are left out.
func (jm *JobManager) checkpointEnded(j *jobEntry, cp *checkpoint.Checkpoint) {
	if cp != nil && !cp.Savepoint && jm.cfg.CheckpointEnded != nil {
		jm.cfg.CheckpointEnded(j.id, j.name, cp)
	}
}

// DeclineCheckpoint aborts a checkpoint a subtask could not take.
func (jm *JobManager) DeclineCheckpoint(jobID string, attempt int, id int64, who checkpoint.Subtask, reason string) {
	jm.mu.Lock()
	j, ok := jm.jobs[jobID]
	if !ok || j.coord == nil || attempt != j.attempt {
		jm.mu.Unlock()
		return
	}
	acts := j.coord.Decline(time.Now(), id, who, reason)
	jm.mu.Unlock()
	if len(acts) > 0 {
		jm.log.Warn("checkpoint declined", "job", jobID, "attempt", attempt, "checkpoint", id, "task", who.Task, "subtask", who.Index, "reason", reason)
	}
	jm.checkpointActions(j, acts)
	jm.wakeCheckpoints(j)
}

// checkpointActions carries out the coordinator's actions.
func (jm *JobManager) checkpointActions(j *jobEntry, acts []checkpoint.Action) {
	for _, a := range acts {
		cp := a.Checkpoint
		switch a.Kind {
		case checkpoint.Trigger:
			jm.mu.Lock()
			attempt := j.attempt
			var targets []TaskManagerGateway
			var who []checkpoint.Subtask
			for _, s := range j.coord.Sources() {
				if st, ok := j.index[subtaskID(s)]; ok {
					if tm, ok := jm.tms[st.slot.TaskManager]; ok {
						targets, who = append(targets, tm.gw), append(who, s)
					}
				}
			}
			jm.mu.Unlock()
			for i, tm := range targets {
				tm.TriggerCheckpoint(j.id, attempt, who[i].Task, who[i].Index, cp.ID)
			}
		case checkpoint.Complete:
			jm.log.Info("checkpoint completed", "job", j.id, "attempt", cp.Attempt, "checkpoint", cp.ID, "bytes", cp.Size(), "duration", cp.Duration(), "savepoint", cp.Savepoint)
			if cp.Savepoint {
				jm.background(func() { jm.writeSavepoint(j, cp) })
			}
		case checkpoint.Abort, checkpoint.Discard:
			if a.Kind == checkpoint.Abort {
				jm.log.Warn("checkpoint aborted", "job", j.id, "attempt", cp.Attempt, "checkpoint", cp.ID, "reason", cp.Reason)
				jm.mu.Lock()
				aborted := checkpointCopy(cp)
				jm.mu.Unlock()
				jm.checkpointEnded(j, aborted)
				if cp.Savepoint {
					jm.savepointEnded(j, cp.Target, 0, errors.New(cp.Reason))
				}
			}
			for _, ack := range cp.AckList {
				jm.deleteStates(ack)
			}
		}
	}
}

// deleteStates deletes the objects of an acknowledgement, off the caller's
// goroutine.
func (jm *JobManager) deleteStates(ack checkpoint.Ack) {
	jm.deleteObjects(slices.Collect(maps.Values(ack.States)))
}

// deleteObjects deletes objects from the state backend, off the caller's
// goroutine.
func (jm *JobManager) deleteObjects(names []string) {
	if jm.cfg.Snapshots == nil || len(names) == 0 {
		return
	}
	jm.background(func() {
		for _, name := range names {
			if err := jm.cfg.Snapshots.Delete(context.Background(), name); err != nil && !errors.Is(err, context.Canceled) {
				jm.log.Warn("deleting a snapshot", "object", name, "err", err)
			}
		}
	})
}

// Checkpoints returns a job's recent checkpoints and savepoints.
func (jm *JobManager) Checkpoints(jobID string) ([]checkpoint.Checkpoint, error) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	j, ok := jm.jobs[jobID]
	if !ok {
		return nil, errUnknownJob(jobID)
	}
	if j.coord == nil {
		return nil, nil
	}
	var out []checkpoint.Checkpoint
	for _, cp := range j.coord.History() {
		c := *cp
		c.Acks = nil
		c.AckList = slices.Clone(cp.AckList)
		out = append(out, c)
	}
	return out, nil
}
