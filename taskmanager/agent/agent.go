// Package agent runs a TaskManager process: it starts the data plane,
// connects to the JobManager's control endpoint, registers the process's
// slots, artifact digest and job-graph fingerprint, heartbeats, and carries
// out the JobManager's commands. A job binary in taskmanager mode and
// cmd/taskmanager both run it.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sluicehq/sluice/jobmanager/artifacts"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/rpc"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Environment variables a TaskManager process is configured with.
const (
	EnvMode          = "SLUICE_MODE"           // "taskmanager" makes a job binary a TaskManager
	ModeTaskManager  = "taskmanager"           //
	EnvParallelism   = "SLUICE_PARALLELISM"    // default parallelism the job is built with
	EnvJobManager    = "SLUICE_JOBMANAGER_RPC" // control address of the JobManager, host:port
	EnvID            = "SLUICE_TASKMANAGER_ID" // the TaskManager's id
	EnvSlots         = "SLUICE_SLOTS"          // number of slots
	EnvManagedMemory = "SLUICE_MANAGED_MEMORY" // bytes
	EnvDataAddr      = "SLUICE_DATA_ADDR"      // listen address of the data plane
)

// ErrRefused means the JobManager refused the registration.
var ErrRefused = errors.New("registration refused")

// Config configures a TaskManager process.
type Config struct {
	JobManager    string // required
	ID            string // default: host-pid
	Slots         int    // default: number of CPUs
	ManagedMemory int64  // default 1 GiB
	DataAddr      string // default 127.0.0.1:0
	// Program and Graph are the job code and the graph it builds.
	Program task.Program
	Graph   *jobgraph.Graph
	// Artifact is the sha256 of this executable (computed when empty).
	Artifact string
	Logger   *slog.Logger
}

func (c *Config) validate() error {
	if c.JobManager == "" {
		return fmt.Errorf("agent: no JobManager address; set %s or --jobmanager", EnvJobManager)
	}
	if c.Program == nil || c.Graph == nil {
		return errors.New("agent: Config.Program and Config.Graph are required")
	}
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.Slots == 0 {
		c.Slots = runtime.NumCPU()
	}
	if c.DataAddr == "" {
		c.DataAddr = "127.0.0.1:0"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Artifact == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("agent: locating this executable: %w", err)
		}
		if c.Artifact, err = artifacts.Digest(exe); err != nil {
			return fmt.Errorf("agent: hashing this executable: %w", err)
		}
	}
	return nil
}

// Run runs the TaskManager until ctx is done or the JobManager connection
// ends, then cancels its subtasks and waits for them.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.Logger.With("taskmanager", cfg.ID)
	exchange := network.NewExchange()
	dp, err := network.NewDataPlane(network.DataPlaneConfig{ID: cfg.ID, ListenAddr: cfg.DataAddr, Exchange: exchange, Logger: log})
	if err != nil {
		return fmt.Errorf("agent: data plane: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := dp.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("data plane stopped", "err", err)
		}
	}()
	defer func() {
		cancel()
		dp.Close()
		wg.Wait()
	}()

	conn, err := grpc.NewClient(cfg.JobManager, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("agent: JobManager address %q: %w", cfg.JobManager, err)
	}
	defer conn.Close()
	stream, err := rpc.NewControlClient(conn).Connect(ctx)
	if err != nil {
		return fmt.Errorf("agent: connecting to the JobManager at %s: %w", cfg.JobManager, err)
	}
	s := &session{cfg: cfg, log: log, stream: stream, graphs: map[string]*jobgraph.Graph{}}
	tm, err := taskmanager.New(taskmanager.Config{
		ID: cfg.ID, Slots: cfg.Slots, Exchange: exchange, Logger: log, DataPlane: dp,
		ManagedMemory: cfg.ManagedMemory, Fingerprint: cfg.Graph.Fingerprint, Artifact: cfg.Artifact,
	}, s)
	if err != nil {
		return err
	}
	s.tm = tm
	closeBackend := func() {}
	defer func() { closeBackend() }() // after the subtasks, which write snapshots, have stopped
	defer tm.Close()

	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Register{Register: &rpc.Register{
		Id: cfg.ID, Slots: int32(cfg.Slots), ManagedMemory: tm.Info().ManagedMemory, Artifact: cfg.Artifact,
		Fingerprint: cfg.Graph.Fingerprint, DataAddress: dp.Addr(), Version: rpc.Version,
	}}}); err != nil {
		return fmt.Errorf("agent: registering with %s: %w", cfg.JobManager, err)
	}
	first, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("agent: registering with %s: %w", cfg.JobManager, err)
	}
	reg := first.GetRegistered()
	if reg == nil {
		return fmt.Errorf("agent: the JobManager answered Register with %T", first.Msg)
	}
	if reg.GetError() != "" {
		return fmt.Errorf("agent: %w: %s", ErrRefused, reg.GetError())
	}
	if sb := reg.GetStateBackend(); sb != nil {
		var b plugins.Backend
		b, closeBackend = openBackend(ctx, conn, sb, log)
		tm.SetSnapshots(b)
	}
	interval := time.Duration(reg.GetHeartbeatIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = time.Second
	}
	log.Info("registered", "jobmanager", cfg.JobManager, "slots", cfg.Slots, "data", dp.Addr(), "heartbeat", interval)

	wg.Add(1)
	go func() {
		defer wg.Done()
		s.heartbeat(ctx, interval)
	}()
	for {
		m, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("agent: lost the JobManager at %s: %w", cfg.JobManager, err)
		}
		s.handle(m)
	}
}

// openBackend opens the state backend the JobManager named: its own,
// through the control connection, when it shares it; else a plugin process
// of this TaskManager. A backend that cannot be opened is logged, and every
// checkpoint and restore then fails with the reason.
func openBackend(ctx context.Context, conn *grpc.ClientConn, sb *rpc.StateBackend, log *slog.Logger) (plugins.Backend, func()) {
	if sb.GetShared() {
		log.Info("state backend", "backend", sb.GetName(), "via", "jobmanager")
		return plugins.NewShared(conn), func() {}
	}
	path := sb.GetPath()
	if st, err := os.Stat(path); path == "" || err != nil || st.IsDir() {
		// Not on this machine: look the backend up by name here.
		if path, err = plugins.Find(sb.GetName()); err != nil {
			log.Error("no state backend; checkpoints will fail", "err", err)
			return plugins.Unavailable(fmt.Errorf("this TaskManager has no state backend: %w", err)), func() {}
		}
	}
	c, err := plugins.Open(ctx, plugins.Config{Name: sb.GetName(), Path: path, Settings: sb.GetSettings(), Logger: log})
	if err != nil {
		log.Error("opening the state backend failed; checkpoints will fail", "err", err)
		return plugins.Unavailable(fmt.Errorf("this TaskManager could not open its state backend: %w", err)), func() {}
	}
	log.Info("state backend", "backend", sb.GetName(), "path", path)
	return c, func() { c.Close() }
}

// session is one registration with the JobManager.
type session struct {
	cfg    Config
	log    *slog.Logger
	tm     *taskmanager.TaskManager
	stream rpc.Control_ConnectClient
	mu     sync.Mutex // serializes sends
	graphs map[string]*jobgraph.Graph
}

func (s *session) send(m *rpc.TaskManagerMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(m)
}

// UpdateTask reports a subtask's state to the JobManager.
func (s *session) UpdateTask(u task.Update) {
	msg := &rpc.TaskUpdate{JobId: u.JobID, Attempt: int32(u.Attempt), Task: u.Task, Subtask: int32(u.Subtask), State: string(u.State)}
	if u.Err != nil {
		msg.Error = u.Err.Error()
	}
	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Update{Update: msg}}); err != nil {
		s.log.Warn("reporting a task update", "err", err)
	}
}

// AcknowledgeCheckpoint reports a subtask's snapshot to the JobManager.
func (s *session) AcknowledgeCheckpoint(jobID string, attempt int, id int64, a checkpoint.Ack) {
	msg := &rpc.CheckpointAck{JobId: jobID, Attempt: int32(attempt), Checkpoint: id, Task: a.Subtask.Task, Subtask: int32(a.Subtask.Index),
		States: a.States, Size: a.Size, SyncNs: int64(a.SyncDuration), AsyncNs: int64(a.AsyncDuration), AlignmentNs: int64(a.Alignment)}
	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Ack{Ack: msg}}); err != nil {
		s.log.Warn("acknowledging a checkpoint", "err", err)
	}
}

// DeclineCheckpoint tells the JobManager a subtask could not take one.
func (s *session) DeclineCheckpoint(jobID string, attempt int, id int64, who checkpoint.Subtask, reason string) {
	msg := &rpc.CheckpointDecline{JobId: jobID, Attempt: int32(attempt), Checkpoint: id, Task: who.Task, Subtask: int32(who.Index), Reason: reason}
	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Decline{Decline: msg}}); err != nil {
		s.log.Warn("declining a checkpoint", "err", err)
	}
}

func (s *session) heartbeat(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hb := &rpc.Heartbeat{}
		for _, st := range s.tm.Running() {
			hb.Subtasks = append(hb.Subtasks, &rpc.SubtaskStats{JobId: st.JobID, Attempt: int32(st.Attempt), Task: st.Task,
				Subtask: int32(st.Subtask), RecordsIn: st.RecordsIn, RecordsOut: st.RecordsOut})
		}
		for i, u := range s.tm.SlotUsage() {
			hb.Slots = append(hb.Slots, &rpc.SlotUsage{Index: int32(i), NetworkBytes: u.NetworkBytes, StateBytes: u.StateBytes})
		}
		if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Heartbeat{Heartbeat: hb}}); err != nil {
			return
		}
	}
}

func (s *session) handle(m *rpc.JobManagerMessage) {
	switch msg := m.Msg.(type) {
	case *rpc.JobManagerMessage_Deploy:
		s.deploy(msg.Deploy)
	case *rpc.JobManagerMessage_Cancel:
		s.tm.CancelJob(msg.Cancel.GetJobId(), int(msg.Cancel.GetAttempt()))
	case *rpc.JobManagerMessage_Trigger:
		t := msg.Trigger
		s.tm.TriggerCheckpoint(t.GetJobId(), int(t.GetAttempt()), t.GetTask(), int(t.GetSubtask()), t.GetCheckpoint())
	case *rpc.JobManagerMessage_Release:
		s.tm.ReleaseJob(msg.Release.GetJobId(), int(msg.Release.GetAttempt()))
		s.mu.Lock()
		delete(s.graphs, msg.Release.GetJobId())
		s.mu.Unlock()
	default:
		s.log.Warn("unexpected message from the JobManager", "type", fmt.Sprintf("%T", m.Msg))
	}
}

func (s *session) deploy(m *rpc.Deploy) {
	fail := func(err error) {
		s.UpdateTask(task.Update{JobID: m.GetJobId(), Attempt: int(m.GetAttempt()), Task: m.GetTask(), Subtask: int(m.GetSubtask()), State: task.StateFailed, Err: err})
	}
	s.mu.Lock()
	g, ok := s.graphs[m.GetJobId()]
	s.mu.Unlock()
	if !ok {
		var err error
		if g, err = jobgraph.Parse(m.GetGraph()); err != nil {
			fail(fmt.Errorf("the deployed job graph is invalid: %w", err))
			return
		}
		if g.Fingerprint != s.cfg.Graph.Fingerprint {
			fail(fmt.Errorf("the deployed job graph has fingerprint %s but this TaskManager's binary builds %s; submit the same binary and arguments the TaskManager runs", g.Fingerprint, s.cfg.Graph.Fingerprint))
			return
		}
		s.mu.Lock()
		s.graphs[m.GetJobId()] = g
		s.mu.Unlock()
	}
	tasks, edges := g.Tasks()
	d := &task.Deployment{JobID: m.GetJobId(), Attempt: int(m.GetAttempt()), Graph: g, Subtask: int(m.GetSubtask()), Slot: int(m.GetSlot())}
	found := false
	for _, t := range tasks {
		if t.ID == m.GetTask() {
			d.Task, found = t, true
		}
	}
	if !found || d.Subtask < 0 || d.Subtask >= d.Task.Parallelism || d.Slot < 0 || d.Slot >= s.cfg.Slots {
		fail(fmt.Errorf("deploy of task %q subtask %d into slot %d does not fit the job graph or this TaskManager", m.GetTask(), m.GetSubtask(), m.GetSlot()))
		return
	}
	for _, e := range edges {
		if e.TargetTask == d.Task.ID {
			d.Inputs = append(d.Inputs, e)
		}
		if e.SourceTask == d.Task.ID {
			d.Outputs = append(d.Outputs, e)
		}
	}
	if ex := m.GetExchange(); ex != nil {
		d.Config = task.Config{BatchSize: int(ex.GetBatchSize()), BufferTimeout: time.Duration(ex.GetBufferTimeoutNs()), Credits: int(ex.GetCredits())}
	}
	if cp := m.GetCheckpoints(); cp != nil {
		d.Checkpoints = &task.CheckpointSpec{Aligned: cp.GetAligned()}
	}
	for _, r := range m.GetRestore() {
		if d.Restore == nil {
			d.Restore = map[string][]string{}
		}
		d.Restore[r.GetOperatorUid()] = r.GetObjects()
	}
	for _, l := range m.GetLocations() {
		d.Peers = append(d.Peers, task.Peer{Task: l.GetTask(), Subtask: int(l.GetSubtask()), TaskManager: l.GetTaskManager(), DataAddress: l.GetDataAddress()})
	}
	if err := s.tm.Deploy(d, s.cfg.Program); err != nil {
		fail(err)
	}
}
