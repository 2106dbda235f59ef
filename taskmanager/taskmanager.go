package taskmanager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Config configures a TaskManager.
type Config struct {
	// ID names the TaskManager; required.
	ID string
	// Slots is the number of task slots (default: the number of CPUs).
	Slots int
	// Exchange is where the channels of this TaskManager's subtasks meet
	// their peers'; TaskManagers of one process share it. Required.
	Exchange *network.Exchange
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// DataPlane, if set, carries records to subtasks on other
	// TaskManagers; without it every consumer must be in this process.
	DataPlane *network.DataPlane
	// ManagedMemory is split evenly among the slots (default 1 GiB).
	ManagedMemory int64
	// Fingerprint and Artifact identify the one program a TaskManager
	// process runs; both are empty for an in-process TaskManager.
	Fingerprint string
	Artifact    string
	// Snapshots is the state backend checkpoints are written to and
	// restored from; without one the TaskManager declines checkpoints.
	Snapshots plugins.Backend
}

func (c *Config) validate() error {
	if c.ID == "" {
		return errors.New("taskmanager: Config.ID is empty; give the TaskManager a name")
	}
	if c.Slots == 0 {
		c.Slots = runtime.NumCPU()
	}
	if c.Slots < 0 {
		return fmt.Errorf("taskmanager: %d slots; a TaskManager needs at least one", c.Slots)
	}
	if c.Exchange == nil {
		return errors.New("taskmanager: Config.Exchange is nil")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ManagedMemory == 0 {
		c.ManagedMemory = 1 << 30
	}
	return nil
}

// Reporter receives subtask state changes and checkpoint answers; the
// JobManager implements it.
type Reporter interface {
	UpdateTask(task.Update)
	AcknowledgeCheckpoint(jobID string, attempt int, id int64, ack checkpoint.Ack)
	DeclineCheckpoint(jobID string, attempt int, id int64, who checkpoint.Subtask, reason string)
}

// TaskManager runs subtasks.
type TaskManager struct {
	cfg      Config
	reporter Reporter
	log      *slog.Logger

	mu       sync.Mutex
	jobs     map[jobKey]*jobRun
	network  map[int]int64 // slot -> bytes reserved for network buffers
	running  map[*task.Deployment]*running
	triggers map[subtaskKey]chan int64 // source subtasks taking checkpoints
	wg       sync.WaitGroup
}

// subtaskKey names one subtask of one job attempt.
type subtaskKey struct {
	job     string
	attempt int
	task    string
	subtask int
}

// running is a subtask being executed.
type running struct {
	stats *task.Stats
	chain task.Chain
	inbox *network.Inbox // nil for a source
}

// stateSizer is a chain that can estimate the keyed state it holds.
type stateSizer interface{ StateBytes() int64 }

// operatorStateSizer is a chain that can estimate the keyed state of each
// of its operators: it calls f once per operator that has keyed state.
type operatorStateSizer interface {
	OperatorStateBytes(f func(uid string, bytes int64))
}

// SubtaskMetrics describe a running subtask for a metrics scrape.
type SubtaskMetrics struct {
	JobID, JobName   string
	Task, TaskName   string // the task's id (its head operator's uid) and name
	Subtask, Attempt int
	// Stats are the subtask's live counters; read them, never write.
	Stats *task.Stats
	// States estimate the keyed state of its operators that have some.
	States []OperatorState
}

// OperatorState is an operator's estimated keyed state.
type OperatorState struct {
	UID, Name string
	Bytes     int64
}

// Subtasks returns the running subtasks, for metrics. A subtask that ended
// is not among them.
func (tm *TaskManager) Subtasks() []SubtaskMetrics {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	out := make([]SubtaskMetrics, 0, len(tm.running))
	for d, r := range tm.running {
		m := SubtaskMetrics{JobID: d.JobID, JobName: d.Graph.Name, Task: d.Task.ID, TaskName: d.Task.Name,
			Subtask: d.Subtask, Attempt: d.Attempt, Stats: r.stats}
		if s, ok := r.chain.(operatorStateSizer); ok {
			s.OperatorStateBytes(func(uid string, bytes int64) {
				op, _ := d.Graph.Operator(uid)
				m.States = append(m.States, OperatorState{UID: uid, Name: op.Name, Bytes: bytes})
			})
		}
		out = append(out, m)
	}
	return out
}

// NetworkBuffers returns the input buffers (credits) of the running
// subtasks and how many of them are in use: being filled by a producer,
// queued, or being processed.
func (tm *TaskManager) NetworkBuffers() (used, total int) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, r := range tm.running {
		if r.inbox != nil {
			used += r.inbox.BuffersInUse()
			total += r.inbox.Buffers()
		}
	}
	return used, total
}

// DataPlaneStats returns the bytes the data plane wrote to and read from
// other TaskManagers' connections (with the framing) and its open
// sessions; ok is false for a TaskManager without a data plane.
func (tm *TaskManager) DataPlaneStats() (sent, received int64, sessions int, ok bool) {
	dp := tm.cfg.DataPlane
	if dp == nil {
		return 0, 0, 0, false
	}
	return dp.BytesSent(), dp.BytesReceived(), dp.Sessions(), true
}

// SlotsUsed returns how many slots run at least one subtask.
func (tm *TaskManager) SlotsUsed() int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	used := map[int]bool{}
	for d := range tm.running {
		used[d.Slot] = true
	}
	return len(used)
}

// Running returns the counters of every running subtask.
func (tm *TaskManager) Running() []jobmanager.SubtaskStats {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	out := make([]jobmanager.SubtaskStats, 0, len(tm.running))
	for d, r := range tm.running {
		out = append(out, jobmanager.SubtaskStats{JobID: d.JobID, Attempt: d.Attempt, Task: d.Task.ID, Subtask: d.Subtask,
			RecordsIn: r.stats.RecordsIn.Load(), RecordsOut: r.stats.RecordsOut.Load(), BackpressureNanos: r.stats.BackpressureNanos.Load()})
	}
	return out
}

// bytesPerCredit is what one credit of an input channel may hold: a batch
// of local records or a frame of serialized ones.
const bytesPerCredit = 32 << 10

// account adds (sign +1) or removes (-1) a subtask's network buffers to its
// slot's share.
func (tm *TaskManager) account(d *task.Deployment, inbox *network.Inbox, sign int64) {
	if inbox == nil {
		return
	}
	n := int64(inbox.Channels()) * int64(d.Config.WithDefaults().Credits) * bytesPerCredit
	tm.mu.Lock()
	tm.network[d.Slot] += sign * n
	tm.mu.Unlock()
}

// SlotUsage reports, per slot, the bytes reserved for network buffers and
// the estimated keyed state of its subtasks, which count against the slot's
// share of managed memory.
func (tm *TaskManager) SlotUsage() map[int]jobmanager.SlotUsage {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	out := make(map[int]jobmanager.SlotUsage, tm.cfg.Slots)
	for i := range tm.cfg.Slots {
		out[i] = jobmanager.SlotUsage{NetworkBytes: tm.network[i]}
	}
	for d, r := range tm.running {
		if s, ok := r.chain.(stateSizer); ok {
			u := out[d.Slot]
			u.StateBytes += s.StateBytes()
			out[d.Slot] = u
		}
	}
	return out
}

type jobKey struct {
	id      string
	attempt int
}

// jobRun is what a TaskManager holds for one attempt of a job.
type jobRun struct {
	done      chan struct{}
	cancelled bool
	edges     []jobgraph.TaskEdge // every task edge of the job
}

// New returns a TaskManager that reports to r.
func New(cfg Config, r Reporter) (*TaskManager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &TaskManager{cfg: cfg, reporter: r, log: cfg.Logger.With("taskmanager", cfg.ID), jobs: make(map[jobKey]*jobRun), network: make(map[int]int64), running: make(map[*task.Deployment]*running), triggers: make(map[subtaskKey]chan int64)}, nil
}

// ID returns the TaskManager's name.
func (tm *TaskManager) ID() string { return tm.cfg.ID }

// Slots returns the number of slots.
func (tm *TaskManager) Slots() int { return tm.cfg.Slots }

// Info describes the TaskManager to a JobManager.
func (tm *TaskManager) Info() jobmanager.TaskManagerInfo {
	info := jobmanager.TaskManagerInfo{ID: tm.cfg.ID, Slots: tm.cfg.Slots, ManagedMemory: tm.cfg.ManagedMemory, Fingerprint: tm.cfg.Fingerprint, Artifact: tm.cfg.Artifact}
	if tm.cfg.DataPlane != nil {
		info.DataAddress = tm.cfg.DataPlane.Addr()
	}
	return info
}

func (tm *TaskManager) job(d *task.Deployment) *jobRun {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	k := jobKey{d.JobID, d.Attempt}
	j, ok := tm.jobs[k]
	if !ok {
		j = &jobRun{done: make(chan struct{})}
		tm.jobs[k] = j
	}
	if j.edges == nil { // new, or cancelled before its first deployment
		_, j.edges = d.Graph.Tasks()
	}
	return j
}

// Deploy starts a subtask. Failures after this point, including in the job's
// code building the chain, are reported through the Reporter.
func (tm *TaskManager) Deploy(d *task.Deployment, p task.Program) error {
	j := tm.job(d)
	tm.wg.Add(1)
	go tm.run(d, p, j)
	return nil
}

func (tm *TaskManager) run(d *task.Deployment, p task.Program, j *jobRun) {
	defer tm.wg.Done()
	up := task.Update{JobID: d.JobID, Attempt: d.Attempt, Task: d.Task.ID, Subtask: d.Subtask, Stats: new(task.Stats)}
	log := d.Logger(tm.log) // every line about the subtask carries it
	err := tm.execute(d, p, j, up, log)
	switch {
	case err == nil:
		up.State = task.StateFinished
	case errors.Is(err, task.ErrCancelled):
		up.State = task.StateCancelled
	default:
		up.State, up.Err = task.StateFailed, fmt.Errorf("task %s: %w", d, err)
		log.Error("task failed", "err", err)
	}
	log.Debug("task ended", "state", up.State)
	tm.reporter.UpdateTask(up)
}

func (tm *TaskManager) execute(d *task.Deployment, p task.Program, j *jobRun, up task.Update, log *slog.Logger) (err error) {
	cfg := d.Config.WithDefaults()
	var inbox *network.Inbox
	if len(d.Inputs) > 0 {
		id := network.InboxID{Job: d.JobID, Attempt: d.Attempt, Task: d.Task.ID, Subtask: d.Subtask}
		if inbox, err = tm.cfg.Exchange.Inbox(id, task.InputChannels(d.Graph, d.Inputs), cfg.Credits); err != nil {
			return err
		}
	}
	io := &taskIO{tm: tm, d: d, job: j, stats: up.Stats, credits: cfg.Credits, log: log}
	// Remote streams are aborted on cancellation, which unblocks a send
	// waiting for the consumer's window; after a clean end they close.
	ended := make(chan struct{})
	defer func() {
		close(ended)
		io.closeRemotes(err == nil)
	}()
	go func() {
		select {
		case <-j.done:
			io.closeRemotes(false)
		case <-ended:
		}
	}()
	chain, err := newChain(p, d, io)
	if err != nil {
		return err
	}
	tm.account(d, inbox, +1)
	tm.mu.Lock()
	tm.running[d] = &running{stats: up.Stats, chain: chain, inbox: inbox}
	tm.mu.Unlock()
	defer func() {
		tm.account(d, inbox, -1)
		tm.mu.Lock()
		delete(tm.running, d)
		delete(tm.triggers, subtaskKey{d.JobID, d.Attempt, d.Task.ID, d.Subtask})
		tm.mu.Unlock()
	}()
	if err := tm.restore(d, chain, log); err != nil {
		return err
	}
	cp := tm.checkpointing(d, log)
	up.State = task.StateRunning
	tm.reporter.UpdateTask(up)
	log.Debug("task running", "slot", d.Slot, "inputs", len(d.Inputs))
	return task.Run(chain, inbox, j.done, cfg, up.Stats, cp, log)
}

// SetSnapshots sets the state backend; call it before the first Deploy.
func (tm *TaskManager) SetSnapshots(b plugins.Backend) { tm.cfg.Snapshots = b }

// restore loads the state the deployment names into the chain.
func (tm *TaskManager) restore(d *task.Deployment, chain task.Chain, log *slog.Logger) error {
	if len(d.Restore) == 0 {
		return nil
	}
	if tm.cfg.Snapshots == nil {
		return errors.New("the job restores state but this TaskManager has no state backend")
	}
	start := time.Now()
	state := map[string][][]byte{}
	objects, size := 0, 0
	for uid, names := range d.Restore {
		for _, name := range names {
			data, err := readObject(tm.cfg.Snapshots, name)
			if err != nil {
				return fmt.Errorf("restoring operator %s from %s: %w", uid, name, err)
			}
			state[uid] = append(state[uid], data)
			objects, size = objects+1, size+len(data)
		}
	}
	if err := chain.Restore(state); err != nil {
		return err
	}
	log.Debug("state restored", "operators", len(state), "objects", objects, "bytes", size, "duration", time.Since(start))
	return nil
}

func readObject(b plugins.Backend, name string) ([]byte, error) {
	r, err := b.Get(context.Background(), name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r) // reading to the end verifies the checksum
}

// checkpointing connects a subtask to its job's checkpoints: a source gets
// a trigger channel; every subtask writes its snapshots to the state
// backend, off the task goroutine, and acknowledges them.
func (tm *TaskManager) checkpointing(d *task.Deployment, log *slog.Logger) *task.Checkpointing {
	if d.Checkpoints == nil {
		return nil
	}
	who := checkpoint.Subtask{Task: d.Task.ID, Index: d.Subtask}
	cp := &task.Checkpointing{Aligned: d.Checkpoints.Aligned}
	if len(d.Inputs) == 0 { // a source task
		triggers := make(chan int64, 4)
		key := subtaskKey{d.JobID, d.Attempt, d.Task.ID, d.Subtask}
		tm.mu.Lock()
		tm.triggers[key] = triggers
		tm.mu.Unlock()
		cp.Triggers = triggers
	}
	cp.OnSnapshot = func(id int64, s *task.Snapshot, m task.SnapshotMetrics) {
		tm.wg.Add(1)
		go func() {
			defer tm.wg.Done()
			ack, err := tm.writeSnapshot(d, id, s)
			if err != nil {
				log.Warn("writing a snapshot failed; declining the checkpoint", "checkpoint", id, "err", err)
				tm.reporter.DeclineCheckpoint(d.JobID, d.Attempt, id, who, err.Error())
				return
			}
			log.Debug("snapshot written", "checkpoint", id, "objects", len(ack.States), "bytes", ack.Size, "duration", ack.AsyncDuration)
			ack.Subtask, ack.SyncDuration, ack.Alignment = who, m.Sync, m.Alignment
			tm.reporter.AcknowledgeCheckpoint(d.JobID, d.Attempt, id, ack)
		}()
	}
	return cp
}

// writeSnapshot stores each operator's state of one subtask's snapshot.
func (tm *TaskManager) writeSnapshot(d *task.Deployment, id int64, s *task.Snapshot) (checkpoint.Ack, error) {
	start := time.Now()
	defer s.Release() // whatever is left unwritten on an error
	ack := checkpoint.Ack{States: map[string]string{}}
	if tm.cfg.Snapshots == nil {
		return ack, errors.New("no state backend is configured for this TaskManager")
	}
	for _, op := range s.Operators {
		if op.Data == nil && op.Frozen == nil {
			continue
		}
		prefix := d.JobID
		if d.Checkpoints != nil && d.Checkpoints.Prefix != "" {
			prefix = d.Checkpoints.Prefix
		}
		name := fmt.Sprintf("%s/%d/chk-%d/%s/%d", prefix, d.Attempt, id, op.UID, d.Subtask)
		obj, err := putState(tm.cfg.Snapshots, name, op)
		if err != nil {
			return ack, fmt.Errorf("writing %s: %w", name, err)
		}
		ack.States[op.UID] = obj.Name
		ack.Size += obj.Size
	}
	ack.AsyncDuration = time.Since(start)
	return ack, nil
}

// putState stores one operator's state: its bytes, or its frozen state
// streamed into the backend as it is serialized.
func putState(b plugins.Backend, name string, op task.OperatorState) (plugins.Object, error) {
	if op.Frozen == nil {
		return b.Put(context.Background(), name, bytes.NewReader(op.Data))
	}
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		_, err := op.Frozen.WriteTo(pw)
		pw.CloseWithError(err)
		wrote <- err
	}()
	obj, err := b.Put(context.Background(), name, pr)
	pr.CloseWithError(errors.New("the backend stopped reading")) // unblocks the writer if Put returned early
	if werr := <-wrote; err == nil && werr != nil {
		err = werr
	}
	return obj, err
}

// TriggerCheckpoint starts checkpoint id at a source subtask. A trigger
// the source cannot take (it ended, or has too many waiting) is declined.
func (tm *TaskManager) TriggerCheckpoint(jobID string, attempt int, taskID string, subtask int, id int64) {
	tm.mu.Lock()
	ch, ok := tm.triggers[subtaskKey{jobID, attempt, taskID, subtask}]
	tm.mu.Unlock()
	who := checkpoint.Subtask{Task: taskID, Index: subtask}
	if !ok {
		tm.reporter.DeclineCheckpoint(jobID, attempt, id, who, "the source subtask is not running here")
		return
	}
	select {
	case ch <- id:
	default:
		tm.reporter.DeclineCheckpoint(jobID, attempt, id, who, "the source has earlier triggers waiting")
	}
}

// newChain builds the chain, turning a panic in the job's code into an error.
func newChain(p task.Program, d *task.Deployment, io task.IO) (c task.Chain, err error) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(task.Failure); ok {
				err = f.Err
				return
			}
			err = fmt.Errorf("building the chain panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return p.NewChain(d, io)
}

// CancelJob cancels every subtask of a job attempt on this TaskManager.
func (tm *TaskManager) CancelJob(jobID string, attempt int) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	k := jobKey{jobID, attempt}
	j, ok := tm.jobs[k]
	if !ok {
		// The cancel overtook the attempt's deployments (the JobManager
		// sends them from different goroutines): remember it, so that
		// the subtasks deployed next end at once instead of running on
		// under a job that is cancelling. ReleaseJob forgets it.
		j = &jobRun{done: make(chan struct{})}
		tm.jobs[k] = j
	}
	if !j.cancelled {
		j.cancelled = true
		close(j.done)
	}
}

// ReleaseJob forgets a job attempt whose subtasks have all ended.
func (tm *TaskManager) ReleaseJob(jobID string, attempt int) {
	tm.CancelJob(jobID, attempt)
	tm.mu.Lock()
	delete(tm.jobs, jobKey{jobID, attempt})
	tm.mu.Unlock()
	tm.cfg.Exchange.Release(jobID, attempt)
}

// CancelAll cancels every job attempt, waits for all subtasks (and the
// snapshots they are writing) to end, and releases the attempts: what a
// TaskManager does when its JobManager is gone, before it registers with
// the next leader, which deploys afresh.
func (tm *TaskManager) CancelAll() {
	tm.mu.Lock()
	var keys []jobKey
	for k, j := range tm.jobs {
		keys = append(keys, k)
		if !j.cancelled {
			j.cancelled = true
			close(j.done)
		}
	}
	tm.mu.Unlock()
	tm.wg.Wait()
	for _, k := range keys {
		tm.ReleaseJob(k.id, k.attempt)
	}
}

// Close cancels every job and waits for all subtasks to end.
func (tm *TaskManager) Close() error {
	tm.mu.Lock()
	for _, j := range tm.jobs {
		if !j.cancelled {
			j.cancelled = true
			close(j.done)
		}
	}
	tm.mu.Unlock()
	tm.wg.Wait()
	return nil
}

// taskIO gives one subtask its output channels.
type taskIO struct {
	tm      *TaskManager
	d       *task.Deployment
	job     *jobRun
	stats   *task.Stats
	credits int
	log     *slog.Logger // the subtask's

	mu      sync.Mutex
	remotes []*network.RemoteChannel
	closed  bool
}

func (io *taskIO) Done() <-chan struct{} { return io.job.done }

func (io *taskIO) Stats() *task.Stats { return io.stats }

func (io *taskIO) Logger() *slog.Logger { return io.log }

// closeRemotes closes (clean) or aborts the task's remote streams, once.
func (io *taskIO) closeRemotes(clean bool) {
	io.mu.Lock()
	defer io.mu.Unlock()
	if io.closed {
		return
	}
	io.closed = true
	for _, rc := range io.remotes {
		if clean {
			_ = rc.Close()
		} else {
			rc.Abort()
		}
	}
}

// Outputs returns the channels of edge e, indexed by consumer subtask.
func (io *taskIO) Outputs(e jobgraph.TaskEdge) ([]task.Output, error) {
	g := io.d.Graph
	target, ok := g.Operator(e.Target)
	if !ok {
		return nil, fmt.Errorf("taskmanager: edge to unknown operator %s", e.Target)
	}
	var inputs []jobgraph.TaskEdge
	edgeIdx := -1
	for _, te := range io.job.edges {
		if te.TargetTask == e.TargetTask {
			if te.Source == e.Source && te.Target == e.Target {
				edgeIdx = len(inputs)
			}
			inputs = append(inputs, te)
		}
	}
	if edgeIdx < 0 {
		return nil, fmt.Errorf("taskmanager: edge %s -> %s is not in the job's graph", e.Source, e.Target)
	}
	n := task.InputChannels(g, inputs)
	consumers := make([]int, 0, target.Parallelism)
	if e.Partitioning == jobgraph.Forward {
		consumers = append(consumers, io.d.Subtask)
	} else {
		for i := range target.Parallelism {
			consumers = append(consumers, i)
		}
	}
	outs := make([]task.Output, len(consumers))
	for i, sub := range consumers {
		id := network.InboxID{Job: io.d.JobID, Attempt: io.d.Attempt, Task: e.TargetTask, Subtask: sub}
		ch := task.ChannelIndex(g, inputs, edgeIdx, io.d.Subtask)
		peer, ok := io.d.Peer(e.TargetTask, sub)
		if !ok || peer.TaskManager == io.tm.cfg.ID || io.tm.cfg.DataPlane == nil {
			in, err := io.tm.cfg.Exchange.Inbox(id, n, io.credits)
			if err != nil {
				return nil, err
			}
			outs[i].Local = in.Channel(ch)
			outs[i].Local.CountBlocked(&io.stats.BackpressureNanos)
			continue
		}
		ctx, cancel := contextUntil(io.job.done)
		rc, err := io.tm.cfg.DataPlane.Open(ctx, peer.TaskManager, peer.DataAddress,
			network.StreamHeader{Inbox: id, Channels: n, Channel: ch, Credits: io.credits}, io.log)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("opening the channel to %s subtask %d on %s (%s): %w", e.TargetTask, sub, peer.TaskManager, peer.DataAddress, err)
		}
		io.mu.Lock()
		io.remotes = append(io.remotes, rc)
		closed := io.closed
		io.mu.Unlock()
		if closed {
			rc.Abort()
			return nil, task.ErrCancelled
		}
		rc.Count(&io.stats.BytesOut, &io.stats.BackpressureNanos)
		outs[i].Remote = rc
	}
	return outs, nil
}

// contextUntil returns a context cancelled when done is closed.
func contextUntil(done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, cancel
}
