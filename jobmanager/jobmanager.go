package jobmanager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/provider"
	"github.com/sluicehq/sluice/jobmanager/savepoint"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// ErrUnknownJob is returned for a job id the JobManager does not know.
var ErrUnknownJob = errors.New("unknown job")

// ErrInvalidSubmission is wrapped by errors about a submission itself.
var ErrInvalidSubmission = errors.New("invalid submission")

// TaskManagerInfo describes a registered TaskManager.
type TaskManagerInfo struct {
	ID            string
	Slots         int
	ManagedMemory int64
	// Fingerprint is the job graph the TaskManager can run; empty for an
	// in-process TaskManager, which runs whatever program it is given.
	Fingerprint string
	Artifact    string
	DataAddress string
	// MetricsAddress is the host:port of its Prometheus endpoint
	// (GET /metrics); empty when it serves none.
	MetricsAddress string
	// ForJob is the job a provider started it for: it runs that job's
	// subtasks only, and goes when that job ends. Empty for a TaskManager
	// started by hand.
	ForJob string
}

// TaskManagerGateway is how the JobManager commands a TaskManager.
type TaskManagerGateway interface {
	Info() TaskManagerInfo
	Deploy(d *task.Deployment, p task.Program) error
	CancelJob(jobID string, attempt int)
	ReleaseJob(jobID string, attempt int)
	// TriggerCheckpoint starts checkpoint id at a source subtask.
	TriggerCheckpoint(jobID string, attempt int, taskID string, subtask int, id int64)
}

// ResourceProvider starts TaskManagers for jobs (package provider).
type ResourceProvider interface {
	Ensure(ctx context.Context, req provider.Request) ([]string, error)
	Release(jobID string) error
	Lost() <-chan provider.Lost
}

// DefaultMaxEndedJobs is how many ended jobs a JobManager keeps unless
// Config.MaxEndedJobs says otherwise.
const DefaultMaxEndedJobs = 1000

// forgetEnded drops the oldest ended jobs beyond MaxEndedJobs, so that a
// JobManager running for months keeps bounded memory. The caller holds
// jm.mu.
func (jm *JobManager) forgetEnded() {
	ended := 0
	for _, id := range jm.ids {
		if jm.jobs[id].state.Terminal() {
			ended++
		}
	}
	if ended <= jm.cfg.MaxEndedJobs {
		return
	}
	keep := jm.ids[:0]
	for _, id := range jm.ids {
		if ended > jm.cfg.MaxEndedJobs && jm.jobs[id].state.Terminal() {
			delete(jm.jobs, id)
			for tm, job := range jm.started {
				if job == id {
					delete(jm.started, tm)
				}
			}
			ended--
			continue
		}
		keep = append(keep, id)
	}
	clear(jm.ids[len(keep):])
	jm.ids = keep
}

// PendingReporter is implemented by providers that can say why a job's
// TaskManagers have not come up (Nomad: no free resources); a slot
// timeout's message then carries the reason.
type PendingReporter interface {
	Pending(jobID string) error
}

// Submission is a job to run.
type Submission struct {
	Graph   *jobgraph.Graph
	Program task.Program    // the job's code, for in-process TaskManagers
	Config  task.Config     // exchange settings
	Restart RestartStrategy // nil: never restart
	// Resources, if set, is what the ResourceProvider is asked for (the
	// JobManager fills in JobID).
	Resources *provider.Request
	// Artifact and Args describe the binary, for display.
	Artifact string
	Args     []string
	// Checkpoints configures checkpointing; a zero Interval disables
	// periodic checkpoints (savepoints still work).
	Checkpoints checkpoint.Config
	// Restore, if set, is the saved state the job starts from.
	Restore *Restore
	// ID, if set, is the job's id (a job recovered by a new leader keeps
	// its id); else a new one is made.
	ID string
}

// Restore is a savepoint a job starts from (see OpenSavepoint).
type Restore struct {
	// Location is where the savepoint is, for display.
	Location string
	// Operators is its state, with full object names in the backend.
	Operators []savepoint.Operator
	// AllowNonRestored drops state of operators the job no longer has
	// instead of refusing the job.
	AllowNonRestored bool
	// Imported are objects copied into the backend for this restore;
	// they are deleted when the job ends.
	Imported []string
	// Checkpoint: Location names a checkpoint (a job recovered by a new
	// leader), not a savepoint.
	Checkpoint bool
}

// Config configures a JobManager.
type Config struct {
	Logger *slog.Logger // defaults to slog.Default()
	// SlotTimeout is how long a job waits for enough slots before it
	// fails (default 2 minutes).
	SlotTimeout time.Duration
	// MaxEndedJobs is how many ended jobs the JobManager keeps for
	// inspection (REST, jmctl); older ones are forgotten (default 1000).
	MaxEndedJobs int
	// Provider starts TaskManagers for jobs that ask for Resources.
	Provider ResourceProvider
	// Snapshots is the state backend checkpoints are written to; the
	// JobManager deletes the snapshots of discarded checkpoints there.
	Snapshots plugins.Backend
	// RecordCheckpoint, if set, records a completed checkpoint (the HA
	// store's pointer) before it counts as the latest; an error drops
	// the checkpoint. Called without the JobManager's lock.
	RecordCheckpoint func(jobID string, g *jobgraph.Graph, cp *checkpoint.Checkpoint) error
	// JobEnded, if set, is told when a job reaches a terminal state.
	JobEnded func(JobStatus)
	// Epoch, if set, returns the leadership epoch; snapshot objects are
	// then named under JOB/e<epoch> so that no two leaders' names clash.
	Epoch func() uint64
	// CheckpointEnded, if set, is told of every checkpoint (savepoints
	// aside) that completed and was recorded, or was aborted, with a copy
	// of it; called without the JobManager's lock (metrics count them).
	CheckpointEnded func(jobID, jobName string, cp *checkpoint.Checkpoint)
}

// JobManager accepts jobs and runs them on its TaskManagers.
type JobManager struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	tms  map[string]*tmEntry
	used map[scheduler.Slot]string // slot -> job id
	jobs map[string]*jobEntry
	ids  []string // submission order
	// started maps the TaskManagers the provider started to their job.
	started map[string]string
	// gone remembers TaskManagers that registered and are gone, so that
	// the provider's later report of their end is not taken for a
	// TaskManager that never came up.
	gone   recentSet
	closed bool
	timers sync.WaitGroup
	// spawnMu guards draining: Close waits for timers, and background
	// must not add to it meanwhile.
	spawnMu  sync.Mutex
	draining bool
	stop     chan struct{}
}

type tmEntry struct {
	gw            TaskManagerGateway
	info          TaskManagerInfo
	registered    time.Time
	lastHeartbeat time.Time
	usage         map[int]SlotUsage
}

// SlotUsage is what a TaskManager reports about one slot.
type SlotUsage struct {
	NetworkBytes int64
	StateBytes   int64
}

type jobEntry struct {
	*job
	sub      Submission
	done     chan struct{} // closed when the job is terminal
	waitSeq  int           // bumped whenever the job starts waiting for slots
	lastWait error         // why placement failed last
	// stopWait ends the slot timeout of the current wait, once the job
	// is placed (else its goroutine would linger for the whole timeout).
	stopWait func()

	coord *checkpoint.Coordinator // nil if the job cannot take checkpoints
	wake  chan struct{}           // wakes the coordinator's goroutine

	savepoints     []*SavepointStatus // requested savepoints, oldest first
	snapshotPrefix string             // names of its snapshot objects start with it
	rescale        *rescaleState      // a rescale in progress, or nil
}

// New returns a JobManager with no TaskManagers.
func New(cfg Config) *JobManager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SlotTimeout <= 0 {
		cfg.SlotTimeout = 2 * time.Minute
	}
	if cfg.MaxEndedJobs <= 0 {
		cfg.MaxEndedJobs = DefaultMaxEndedJobs
	}
	jm := &JobManager{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "jobmanager"),
		tms:  make(map[string]*tmEntry),
		used: make(map[scheduler.Slot]string),
		jobs: make(map[string]*jobEntry),
		stop: make(chan struct{}),

		started: make(map[string]string),
	}
	if cfg.Provider != nil {
		jm.timers.Add(1)
		go jm.watchProvider()
	}
	return jm
}

func (jm *JobManager) watchProvider() {
	defer jm.timers.Done()
	for {
		select {
		case <-jm.stop:
			return
		case l := <-jm.cfg.Provider.Lost():
			err := fmt.Errorf("TaskManager %s lost: %w", l.TaskManager, l.Err)
			if jm.TaskManagerLost(l.TaskManager, err) {
				continue
			}
			jm.mu.Lock()
			registered := jm.gone.remove(l.TaskManager)
			jm.mu.Unlock()
			if !registered {
				// It died before it registered: the job cannot get
				// its slots from it.
				jm.failWaiting(l.JobID, err)
			}
		}
	}
}

// RegisterTaskManager offers a TaskManager's slots.
func (jm *JobManager) RegisterTaskManager(tm TaskManagerGateway) error {
	info := tm.Info()
	jm.mu.Lock()
	if _, dup := jm.tms[info.ID]; dup {
		jm.mu.Unlock()
		return fmt.Errorf("a TaskManager with id %q is already registered; give each TaskManager its own id", info.ID)
	}
	now := time.Now()
	jm.tms[info.ID] = &tmEntry{gw: tm, info: info, registered: now, lastHeartbeat: now, usage: map[int]SlotUsage{}}
	// A TaskManager started for a job must run that job's binary and
	// rebuild its graph; if not, no TaskManager started the same way can.
	var mismatch error
	j, forJob := jm.jobs[jm.started[info.ID]]
	switch {
	case !forJob:
	case j.sub.Artifact != "" && info.Artifact != "" && info.Artifact != j.sub.Artifact:
		mismatch = fmt.Errorf("TaskManager %s, started for the job, runs artifact %s instead of the submitted %s; the stored binary changed or was replaced",
			info.ID, info.Artifact, j.sub.Artifact)
	case info.Fingerprint != "" && info.Fingerprint != j.graph.Fingerprint:
		mismatch = fmt.Errorf("TaskManager %s, started from the job's binary and arguments, builds job graph %s but the submitted graph is %s; the binary must build the same graph in plan and taskmanager mode (does it depend on time, randomness or files that changed?)",
			info.ID, info.Fingerprint, j.graph.Fingerprint)
	}
	jm.mu.Unlock()
	jm.log.Info("taskmanager registered", "id", info.ID, "slots", info.Slots, "data", info.DataAddress)
	if mismatch != nil {
		jm.apply(j, func(now time.Time) effects { return j.abort(mismatch, now) })
	}
	jm.placeWaiting()
	return nil
}

// Heartbeat records a TaskManager's liveness and its counters.
func (jm *JobManager) Heartbeat(tmID string, stats []SubtaskStats, usage map[int]SlotUsage) {
	now := time.Now()
	jm.mu.Lock()
	defer jm.mu.Unlock()
	if e, ok := jm.tms[tmID]; ok {
		e.lastHeartbeat = now
		e.usage = usage
	}
	for _, s := range stats {
		if j, ok := jm.jobs[s.JobID]; ok {
			j.reportStats(s.Attempt, s.Task, s.Subtask, s.RecordsIn, s.RecordsOut, s.BackpressureNanos, now)
		}
	}
}

// SubtaskStats are a remote subtask's counters.
type SubtaskStats struct {
	JobID                 string
	Attempt               int
	Task                  string
	Subtask               int
	RecordsIn, RecordsOut int64
	// BackpressureNanos is the time it waited to send output, in total.
	BackpressureNanos int64
}

// TaskManagerLost unregisters a TaskManager and fails the subtasks it ran.
// It reports whether the TaskManager was registered.
func (jm *JobManager) TaskManagerLost(id string, cause error) bool {
	jm.mu.Lock()
	if _, ok := jm.tms[id]; !ok {
		jm.mu.Unlock()
		return false
	}
	delete(jm.tms, id)
	jm.gone.add(id)
	var hit []*jobEntry
	for _, jid := range jm.ids {
		j := jm.jobs[jid]
		if !j.state.Terminal() {
			hit = append(hit, j)
		}
	}
	jm.mu.Unlock()
	jm.log.Warn("taskmanager lost", "id", id, "err", cause)
	for _, j := range hit {
		jm.apply(j, func(now time.Time) effects { return j.lostTaskManager(id, cause, now) })
	}
	return true
}

// freeSlots returns the free slots that can run job jobID, whose graph has
// fingerprint fp.
func (jm *JobManager) freeSlots(jobID, fp string) []scheduler.Slot {
	var free []scheduler.Slot
	for id, tm := range jm.tms {
		if tm.info.Fingerprint != "" && tm.info.Fingerprint != fp {
			continue
		}
		// A provider's TaskManager serves its own job only: it stops
		// when that job ends, with whatever else runs on it.
		owner := tm.info.ForJob
		if owner == "" {
			owner = jm.started[id]
		}
		if owner != "" && owner != jobID {
			continue
		}
		for i := range tm.info.Slots {
			s := scheduler.Slot{TaskManager: id, Index: i}
			if _, busy := jm.used[s]; !busy {
				free = append(free, s)
			}
		}
	}
	return free
}

// Submit validates a job and schedules it. It returns the job id; the job
// waits for slots if there are too few, and runs on.
func (jm *JobManager) Submit(ctx context.Context, sub Submission) (string, error) {
	g := sub.Graph
	if err := g.Validate(); err != nil {
		return "", fmt.Errorf("%w: job %q: %w", ErrInvalidSubmission, g.Name, err)
	}
	if sub.Program == nil && sub.Resources == nil && !jm.hasRemote(g.Fingerprint) {
		jm.log.Info("job waits for TaskManagers running its program", "name", g.Name, "fingerprint", g.Fingerprint)
	}
	if sub.Restore != nil {
		if _, err := savepoint.Assign(sub.Restore.Operators, g, sub.Restore.AllowNonRestored); err != nil {
			return "", fmt.Errorf("%w: job %q cannot restore from savepoint %s: %w", ErrInvalidSubmission, g.Name, sub.Restore.Location, err)
		}
	}
	id := sub.ID
	if id == "" {
		id = newJobID()
	}
	j := &jobEntry{job: newJob(id, g, sub.Restart, time.Now()), sub: sub, done: make(chan struct{}), snapshotPrefix: id}
	if jm.cfg.Epoch != nil {
		j.snapshotPrefix = fmt.Sprintf("%s/e%d", id, jm.cfg.Epoch())
	}
	jm.mu.Lock()
	if jm.closed {
		jm.mu.Unlock()
		return "", errors.New("the JobManager is shutting down")
	}
	jm.jobs[id] = j
	jm.ids = append(jm.ids, id)
	jm.mu.Unlock()
	jm.log.Info("job submitted", "job", id, "name", g.Name, "restart", j.strategy.String())
	if err := jm.ensureResources(ctx, j); err != nil {
		jm.apply(j, func(now time.Time) effects { return j.abort(err, now) })
		return id, nil
	}
	jm.waitForSlots(j)
	return id, nil
}

func (jm *JobManager) hasRemote(fp string) bool {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	for _, tm := range jm.tms {
		if tm.info.Fingerprint == "" || tm.info.Fingerprint == fp {
			return true
		}
	}
	return false
}

// ensureResources asks the provider for the job's TaskManagers.
func (jm *JobManager) ensureResources(ctx context.Context, j *jobEntry) error {
	if j.sub.Resources == nil || jm.cfg.Provider == nil {
		return nil
	}
	req := *j.sub.Resources
	req.JobID = j.id
	started, err := jm.cfg.Provider.Ensure(ctx, req)
	if err != nil {
		return fmt.Errorf("starting TaskManagers: %w", err)
	}
	if len(started) > 0 {
		jm.log.Info("taskmanagers started", "job", j.id, "ids", started)
		jm.mu.Lock()
		for _, id := range started {
			jm.started[id] = j.id
		}
		jm.mu.Unlock()
	}
	return nil
}

// waitForSlots places the job now if it can, else arms its slot timeout.
func (jm *JobManager) waitForSlots(j *jobEntry) {
	jm.mu.Lock()
	j.waitSeq++
	seq := j.waitSeq
	jm.mu.Unlock()
	if jm.tryPlace(j) {
		return
	}
	stop := jm.after(jm.cfg.SlotTimeout, func() {
		jm.mu.Lock()
		stale := j.waitSeq != seq || j.state != StateCreated
		cause := j.lastWait
		jm.mu.Unlock()
		if stale {
			return
		}
		if cause == nil {
			cause = errors.New("no slots")
		}
		if pr, ok := jm.cfg.Provider.(PendingReporter); ok {
			if why := pr.Pending(j.id); why != nil {
				cause = fmt.Errorf("%w; %w", cause, why)
			}
		}
		err := fmt.Errorf("no slots after waiting %v: %w", jm.cfg.SlotTimeout, cause)
		jm.apply(j, func(now time.Time) effects { return j.abort(err, now) })
	})
	jm.mu.Lock()
	if j.waitSeq == seq && j.state == StateCreated {
		j.stopWait = stop
	} else {
		stop() // placed (or ended) meanwhile
	}
	jm.mu.Unlock()
}

// placeWaiting tries to place every job waiting for slots, oldest first.
func (jm *JobManager) placeWaiting() {
	jm.mu.Lock()
	var waiting []*jobEntry
	for _, id := range jm.ids {
		if j := jm.jobs[id]; j.state == StateCreated {
			waiting = append(waiting, j)
		}
	}
	jm.mu.Unlock()
	for _, j := range waiting {
		jm.tryPlace(j)
	}
}

// tryPlace places and deploys a waiting job if there are enough slots.
func (jm *JobManager) tryPlace(j *jobEntry) bool {
	jm.mu.Lock()
	if j.state != StateCreated {
		jm.mu.Unlock()
		return false
	}
	placement, err := scheduler.Place(j.tasks, jm.freeSlots(j.id, j.graph.Fingerprint))
	if err != nil {
		j.lastWait = err
		jm.mu.Unlock()
		return false
	}
	for _, s := range placement {
		jm.used[s] = j.id
	}
	if j.stopWait != nil {
		j.stopWait()
		j.stopWait = nil
	}
	j.placed(placement)
	attempt := j.attempt
	restore, restartActs := jm.checkpointPlan(j, time.Now())
	spec := j.checkpointSpec()
	peers := make([]task.Peer, 0, len(placement))
	for id, s := range placement {
		peers = append(peers, task.Peer{Task: id.Task, Subtask: id.Index, TaskManager: s.TaskManager, DataAddress: jm.tms[s.TaskManager].info.DataAddress})
	}
	sort.Slice(peers, func(a, b int) bool {
		if peers[a].Task != peers[b].Task {
			return peers[a].Task < peers[b].Task
		}
		return peers[a].Subtask < peers[b].Subtask
	})
	type deploy struct {
		d  *task.Deployment
		tm TaskManagerGateway
	}
	var deploys []deploy
	_, edges := j.graph.Tasks()
	for _, t := range j.tasks {
		base := task.Deployment{JobID: j.id, Attempt: attempt, Graph: j.graph, Task: t, Config: j.sub.Config, Peers: peers}
		for _, e := range edges {
			if e.TargetTask == t.ID {
				base.Inputs = append(base.Inputs, e)
			}
			if e.SourceTask == t.ID {
				base.Outputs = append(base.Outputs, e)
			}
		}
		for i := range t.Parallelism {
			d := base
			d.Subtask = i
			d.Checkpoints = spec
			d.Restore = restore[checkpoint.Subtask{Task: t.ID, Index: i}]
			slot := placement[scheduler.SubtaskID{Task: t.ID, Index: i}]
			d.Slot = slot.Index
			deploys = append(deploys, deploy{&d, jm.tms[slot.TaskManager].gw})
		}
	}
	jm.mu.Unlock()
	jm.checkpointActions(j, restartActs)
	jm.log.Info("job deploying", "job", j.id, "attempt", attempt, "subtasks", len(deploys), "restored", len(restore) > 0)
	for k, dp := range deploys {
		if err := dp.tm.Deploy(dp.d, j.sub.Program); err != nil {
			// The subtasks never deployed will not report: account
			// for them here so the attempt can end.
			jm.UpdateTask(task.Update{JobID: j.id, Attempt: attempt, Task: dp.d.Task.ID, Subtask: dp.d.Subtask, State: task.StateFailed,
				Err: fmt.Errorf("deploying %s to %s: %w", dp.d, dp.tm.Info().ID, err)})
			for _, rest := range deploys[k+1:] {
				jm.UpdateTask(task.Update{JobID: j.id, Attempt: attempt, Task: rest.d.Task.ID, Subtask: rest.d.Subtask, State: task.StateCancelled})
			}
			break
		}
	}
	return true
}

// failWaiting fails (or restarts) a job that has not been placed yet.
func (jm *JobManager) failWaiting(jobID string, cause error) {
	jm.mu.Lock()
	j, ok := jm.jobs[jobID]
	jm.mu.Unlock()
	if !ok {
		return
	}
	jm.apply(j, func(now time.Time) effects {
		if j.state != StateCreated {
			return effects{}
		}
		return j.settle(j.failure(cause, now), now)
	})
}

// UpdateTask takes a subtask's report from a TaskManager.
func (jm *JobManager) UpdateTask(u task.Update) {
	jm.mu.Lock()
	j, ok := jm.jobs[u.JobID]
	jm.mu.Unlock()
	if !ok {
		return
	}
	jm.apply(j, func(now time.Time) effects { return j.update(u, now) })
}

// Cancel cancels a job.
func (jm *JobManager) Cancel(id string) error {
	jm.mu.Lock()
	j, ok := jm.jobs[id]
	jm.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	jm.apply(j, j.cancel)
	return nil
}

// apply runs a state change under the lock, then carries out its effects.
func (jm *JobManager) apply(j *jobEntry, change func(now time.Time) effects) {
	jm.mu.Lock()
	before := j.state
	eff := change(time.Now())
	after, attempt := j.state, j.attempt
	tms := jm.tmsOf(j)
	if eff.releaseSlots || eff.terminal {
		for s, owner := range jm.used {
			if owner == j.id {
				delete(jm.used, s)
			}
		}
	}
	jm.mu.Unlock()
	if before != after {
		jm.log.Info("job state", "job", j.id, "name", j.name, "from", before, "to", after, "attempt", attempt)
	}
	if eff.cancel {
		for _, tm := range tms {
			tm.CancelJob(j.id, attempt)
		}
	}
	if eff.releaseSlots || eff.terminal {
		for _, tm := range tms {
			tm.ReleaseJob(j.id, attempt)
		}
	}
	if eff.restart {
		jm.log.Info("job restarts", "job", j.id, "attempt", attempt, "in", eff.restartDelay, "restarts", j.restarts)
		jm.after(eff.restartDelay, func() { jm.restart(j) })
	}
	if eff.terminal && j.coord != nil {
		jm.mu.Lock()
		acts := j.coord.Stop(time.Now(), after == StateFinished, after == StateCancelled)
		for _, sp := range j.savepoints {
			if sp.Status == SavepointInProgress && !sp.writing {
				sp.Status, sp.Error, sp.Ended = SavepointFailed, "the job ended before the savepoint completed", time.Now()
			}
		}
		jm.mu.Unlock()
		jm.checkpointActions(j, acts)
		jm.wakeCheckpoints(j)
	}
	if eff.terminal {
		jm.mu.Lock()
		if j.stopWait != nil {
			j.stopWait()
			j.stopWait = nil
		}
		jm.forgetEnded()
		jm.mu.Unlock()
		if jm.cfg.JobEnded != nil {
			jm.mu.Lock()
			st := j.status()
			jm.mu.Unlock()
			jm.cfg.JobEnded(st)
		}
		if r := j.sub.Restore; r != nil && len(r.Imported) > 0 {
			jm.deleteObjects(r.Imported)
		}
		if j.sub.Resources != nil && jm.cfg.Provider != nil {
			// Stopping processes takes up to a grace period: not on the
			// goroutine that delivered the last task update.
			jm.timers.Add(1)
			go func() {
				defer jm.timers.Done()
				if err := jm.cfg.Provider.Release(j.id); err != nil {
					jm.log.Warn("releasing taskmanagers", "job", j.id, "err", err)
				}
			}()
		}
		close(j.done)
	}
	if eff.releaseSlots || eff.terminal {
		jm.placeWaiting()
	}
}

// restart begins the next attempt of a restarting job.
func (jm *JobManager) restart(j *jobEntry) {
	jm.mu.Lock()
	ok := j.restartDue()
	jm.mu.Unlock()
	if !ok {
		return
	}
	jm.swapRescale(j)
	if err := jm.ensureResources(context.Background(), j); err != nil {
		jm.apply(j, func(now time.Time) effects { return j.abort(err, now) })
		return
	}
	jm.waitForSlots(j)
}

// after runs f after d unless the JobManager closes first.
func (jm *JobManager) after(d time.Duration, f func()) (cancel func()) {
	done := make(chan struct{})
	var once sync.Once
	jm.timers.Add(1)
	go func() {
		defer jm.timers.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-jm.stop:
		case <-done:
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// tmsOf returns the TaskManagers holding the job's subtasks (lock held).
func (jm *JobManager) tmsOf(j *jobEntry) []TaskManagerGateway {
	var ids []string
	for _, st := range j.subtasks {
		if !slices.Contains(ids, st.slot.TaskManager) {
			ids = append(ids, st.slot.TaskManager)
		}
	}
	var out []TaskManagerGateway
	for _, id := range ids {
		if tm, ok := jm.tms[id]; ok {
			out = append(out, tm.gw)
		}
	}
	return out
}

// Status returns a job's status.
func (jm *JobManager) Status(id string) (JobStatus, error) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	j, ok := jm.jobs[id]
	if !ok {
		return JobStatus{}, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	return j.status(), nil
}

// Submission returns what a job was submitted with.
func (jm *JobManager) Submission(id string) (Submission, error) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	j, ok := jm.jobs[id]
	if !ok {
		return Submission{}, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	return j.sub, nil
}

// List returns every job's status in submission order.
func (jm *JobManager) List() []JobStatus {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	out := make([]JobStatus, 0, len(jm.ids))
	for _, id := range jm.ids {
		out = append(out, jm.jobs[id].status())
	}
	return out
}

// TaskManagerStatus is a registered TaskManager as the JobManager sees it.
type TaskManagerStatus struct {
	Info          TaskManagerInfo
	Registered    time.Time
	LastHeartbeat time.Time
	SlotJobs      map[int]string // slot index -> job id
	Usage         map[int]SlotUsage
}

// TaskManagers lists the registered TaskManagers by id.
func (jm *JobManager) TaskManagers() []TaskManagerStatus {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	var out []TaskManagerStatus
	for id, e := range jm.tms {
		st := TaskManagerStatus{Info: e.info, Registered: e.registered, LastHeartbeat: e.lastHeartbeat, SlotJobs: map[int]string{}, Usage: e.usage}
		for s, job := range jm.used {
			if s.TaskManager == id {
				st.SlotJobs[s.Index] = job
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Info.ID < out[b].Info.ID })
	return out
}

// LastHeartbeat returns when the TaskManager was last heard of.
func (jm *JobManager) LastHeartbeat(id string) (time.Time, bool) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	e, ok := jm.tms[id]
	if !ok {
		return time.Time{}, false
	}
	return e.lastHeartbeat, true
}

// Wait blocks until the job ends or ctx is done, and returns its status.
func (jm *JobManager) Wait(ctx context.Context, id string) (JobStatus, error) {
	jm.mu.Lock()
	j, ok := jm.jobs[id]
	jm.mu.Unlock()
	if !ok {
		return JobStatus{}, fmt.Errorf("%w %q", ErrUnknownJob, id)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		s, _ := jm.Status(id)
		return s, ctx.Err()
	}
	return jm.Status(id)
}

// Close cancels every job, waits for them to end, and stops the timers.
func (jm *JobManager) Close() error {
	jm.mu.Lock()
	jm.closed = true
	ids := slices.Clone(jm.ids)
	jm.mu.Unlock()
	for _, id := range ids {
		_ = jm.Cancel(id)
	}
	// One deadline for all: TaskManagers that never answer must not hold
	// the shutdown for long.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range ids {
		if _, err := jm.Wait(ctx, id); err != nil {
			jm.log.Warn("job did not stop before shutdown", "job", id)
		}
	}
	close(jm.stop)
	jm.spawnMu.Lock()
	jm.draining = true
	jm.spawnMu.Unlock()
	jm.timers.Wait()
	return nil
}

// background runs f on its own goroutine, which Close waits for; once Close
// is waiting, f runs on the caller's goroutine instead (a late checkpoint
// acknowledgement still cleans up after itself).
func (jm *JobManager) background(f func()) {
	jm.spawnMu.Lock()
	if jm.draining {
		jm.spawnMu.Unlock()
		f()
		return
	}
	jm.timers.Add(1)
	jm.spawnMu.Unlock()
	go func() {
		defer jm.timers.Done()
		f()
	}()
}

func errUnknownJob(id string) error { return fmt.Errorf("%w %q", ErrUnknownJob, id) }

func subtaskID(s checkpoint.Subtask) scheduler.SubtaskID {
	return scheduler.SubtaskID{Task: s.Task, Index: s.Index}
}

func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
