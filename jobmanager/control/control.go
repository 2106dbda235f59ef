// Package control is the JobManager's gRPC endpoint for TaskManagers. Each
// TaskManager holds one Connect stream: it registers, then sends heartbeats
// and task updates, and receives deploy, cancel and release commands. A
// TaskManager is lost when its stream ends or its heartbeats stop for longer
// than the heartbeat timeout, and its subtasks are failed at once.
package control

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/rpc"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Config tunes the control endpoint.
type Config struct {
	JobManager *jobmanager.JobManager
	// StateBackend is sent to every TaskManager that registers: the
	// backend its snapshots go to (nil: none).
	StateBackend *rpc.StateBackend
	// HeartbeatInterval is how often TaskManagers heartbeat (default 1 s).
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long without a heartbeat makes a TaskManager
	// lost (default 5 s).
	HeartbeatTimeout time.Duration
	// RegisterTimeout bounds the wait for a new stream's Register (default 10 s).
	RegisterTimeout time.Duration
	// Admit, if set, is asked before a TaskManager is registered; an
	// error refuses it with that message (a standby JobManager names the
	// leader this way).
	Admit func() error
	// Epoch, if set, returns the leadership epoch every command carries.
	Epoch  func() uint64
	Logger *slog.Logger
}

// Server implements rpc.ControlServer.
type Server struct {
	rpc.UnimplementedControlServer
	cfg Config
	log *slog.Logger
}

// New returns the control endpoint.
func New(cfg Config) (*Server, error) {
	if cfg.JobManager == nil {
		return nil, errors.New("control: Config.JobManager is nil")
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = 5 * time.Second
	}
	if cfg.HeartbeatTimeout <= cfg.HeartbeatInterval {
		return nil, fmt.Errorf("control: heartbeat timeout %v must exceed the interval %v", cfg.HeartbeatTimeout, cfg.HeartbeatInterval)
	}
	if cfg.RegisterTimeout <= 0 {
		cfg.RegisterTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, log: cfg.Logger.With("component", "control")}, nil
}

// Connect serves one TaskManager.
func (s *Server) Connect(stream rpc.Control_ConnectServer) error {
	reg, err := s.awaitRegister(stream)
	if err != nil {
		return err
	}
	gw := &remoteTM{stream: stream, epoch: s.cfg.Epoch, info: jobmanager.TaskManagerInfo{
		ID: reg.GetId(), Slots: int(reg.GetSlots()), ManagedMemory: reg.GetManagedMemory(),
		Fingerprint: reg.GetFingerprint(), Artifact: reg.GetArtifact(), DataAddress: reg.GetDataAddress(),
		MetricsAddress: reg.GetMetricsAddress(), ForJob: reg.GetForJob(),
	}, graphs: map[string][]byte{}}
	err = s.check(reg)
	if err == nil && s.cfg.Admit != nil {
		err = s.cfg.Admit()
	}
	if err != nil {
		_ = gw.send(&rpc.JobManagerMessage{Msg: &rpc.JobManagerMessage_Registered{Registered: &rpc.Registered{Error: err.Error()}}})
		return status.Error(codes.InvalidArgument, err.Error())
	}
	// Registered goes out before the JobManager knows the TaskManager:
	// registering may place a waiting job at once, and its deployments
	// must reach the TaskManager after the answer to Register.
	if err := gw.send(&rpc.JobManagerMessage{Msg: &rpc.JobManagerMessage_Registered{Registered: &rpc.Registered{
		HeartbeatIntervalMs: s.cfg.HeartbeatInterval.Milliseconds(), StateBackend: s.cfg.StateBackend,
	}}}); err != nil {
		return err
	}
	if err := s.cfg.JobManager.RegisterTaskManager(gw); err != nil {
		return status.Error(codes.AlreadyExists, err.Error())
	}
	id := gw.info.ID
	lost := func(cause error) {
		s.cfg.JobManager.TaskManagerLost(id, fmt.Errorf("TaskManager %s (%s) lost: %w", id, gw.info.DataAddress, cause))
	}

	// Messages are received on their own goroutine so that the watchdog
	// can give up on a TaskManager that went silent.
	msgs := make(chan *rpc.TaskManagerMessage)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-stream.Context().Done():
				recvErr <- stream.Context().Err()
				return
			}
		}
	}()
	watchdog := time.NewTimer(s.cfg.HeartbeatTimeout)
	defer watchdog.Stop()
	for {
		select {
		case m := <-msgs:
			s.handle(id, m)
			if m.GetHeartbeat() != nil {
				watchdog.Reset(s.cfg.HeartbeatTimeout)
			}
		case err := <-recvErr:
			lost(fmt.Errorf("connection closed: %v", err))
			return nil
		case <-watchdog.C:
			lost(fmt.Errorf("no heartbeat for %v", s.cfg.HeartbeatTimeout))
			return status.Error(codes.DeadlineExceeded, "heartbeat timeout")
		}
	}
}

func (s *Server) awaitRegister(stream rpc.Control_ConnectServer) (*rpc.Register, error) {
	type result struct {
		m   *rpc.TaskManagerMessage
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		reg := r.m.GetRegister()
		if reg == nil {
			return nil, status.Error(codes.InvalidArgument, "the first message of a TaskManager must be Register")
		}
		return reg, nil
	case <-time.After(s.cfg.RegisterTimeout):
		return nil, status.Error(codes.DeadlineExceeded, "no Register message")
	}
}

// check validates a registration.
func (s *Server) check(reg *rpc.Register) error {
	switch {
	case reg.GetVersion() != rpc.Version:
		return fmt.Errorf("TaskManager %q speaks control protocol version %d, this JobManager speaks %d; run matching Sluice versions", reg.GetId(), reg.GetVersion(), rpc.Version)
	case reg.GetId() == "":
		return errors.New("a TaskManager registered without an id")
	case reg.GetSlots() < 1:
		return fmt.Errorf("TaskManager %q offers %d slots; it needs at least one", reg.GetId(), reg.GetSlots())
	case reg.GetDataAddress() == "":
		return fmt.Errorf("TaskManager %q has no data address", reg.GetId())
	}
	return nil
}

func (s *Server) handle(tmID string, m *rpc.TaskManagerMessage) {
	switch msg := m.Msg.(type) {
	case *rpc.TaskManagerMessage_Heartbeat:
		hb := msg.Heartbeat
		stats := make([]jobmanager.SubtaskStats, 0, len(hb.GetSubtasks()))
		for _, st := range hb.GetSubtasks() {
			stats = append(stats, jobmanager.SubtaskStats{
				JobID: st.GetJobId(), Attempt: int(st.GetAttempt()), Task: st.GetTask(), Subtask: int(st.GetSubtask()),
				RecordsIn: st.GetRecordsIn(), RecordsOut: st.GetRecordsOut(), BackpressureNanos: st.GetBackpressureNanos(),
			})
		}
		usage := make(map[int]jobmanager.SlotUsage, len(hb.GetSlots()))
		for _, u := range hb.GetSlots() {
			usage[int(u.GetIndex())] = jobmanager.SlotUsage{NetworkBytes: u.GetNetworkBytes(), StateBytes: u.GetStateBytes()}
		}
		s.cfg.JobManager.Heartbeat(tmID, stats, usage)
	case *rpc.TaskManagerMessage_Update:
		u := msg.Update
		up := task.Update{JobID: u.GetJobId(), Attempt: int(u.GetAttempt()), Task: u.GetTask(), Subtask: int(u.GetSubtask()), State: task.State(u.GetState())}
		if u.GetError() != "" {
			up.Err = errors.New(u.GetError())
		} else if up.State == task.StateFailed {
			up.Err = errors.New("failed without a message")
		}
		s.cfg.JobManager.UpdateTask(up)
	case *rpc.TaskManagerMessage_Ack:
		a := msg.Ack
		s.cfg.JobManager.AcknowledgeCheckpoint(a.GetJobId(), int(a.GetAttempt()), a.GetCheckpoint(), checkpoint.Ack{
			Subtask: checkpoint.Subtask{Task: a.GetTask(), Index: int(a.GetSubtask())}, States: a.GetStates(), Size: a.GetSize(),
			SyncDuration: time.Duration(a.GetSyncNs()), AsyncDuration: time.Duration(a.GetAsyncNs()), Alignment: time.Duration(a.GetAlignmentNs()),
		})
	case *rpc.TaskManagerMessage_Decline:
		d := msg.Decline
		s.cfg.JobManager.DeclineCheckpoint(d.GetJobId(), int(d.GetAttempt()), d.GetCheckpoint(),
			checkpoint.Subtask{Task: d.GetTask(), Index: int(d.GetSubtask())}, d.GetReason())
	default:
		s.log.Warn("unexpected message from taskmanager", "id", tmID, "type", fmt.Sprintf("%T", m.Msg))
	}
}

// remoteTM is a TaskManager reached through its Connect stream.
type remoteTM struct {
	stream rpc.Control_ConnectServer
	epoch  func() uint64 // nil: no HA
	info   jobmanager.TaskManagerInfo
	mu     sync.Mutex        // serializes sends
	graphs map[string][]byte // job id -> graph JSON, marshalled once
}

func (r *remoteTM) Info() jobmanager.TaskManagerInfo { return r.info }

func (r *remoteTM) send(m *rpc.JobManagerMessage) error {
	if r.epoch != nil {
		m.Epoch = r.epoch()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stream.Send(m)
}

func (r *remoteTM) Deploy(d *task.Deployment, _ task.Program) error {
	r.mu.Lock()
	graph, ok := r.graphs[d.JobID]
	r.mu.Unlock()
	if !ok {
		var err error
		if graph, err = d.Graph.Marshal(); err != nil {
			return err
		}
		r.mu.Lock()
		r.graphs[d.JobID] = graph
		r.mu.Unlock()
	}
	locs := make([]*rpc.Location, len(d.Peers))
	for i, p := range d.Peers {
		locs[i] = &rpc.Location{Task: p.Task, Subtask: int32(p.Subtask), TaskManager: p.TaskManager, DataAddress: p.DataAddress}
	}
	cfg := d.Config.WithDefaults()
	m := &rpc.Deploy{
		JobId: d.JobID, Attempt: int32(d.Attempt), Graph: graph, Task: d.Task.ID, Subtask: int32(d.Subtask), Slot: int32(d.Slot),
		Exchange:  &rpc.ExchangeConfig{BatchSize: int32(cfg.BatchSize), BufferTimeoutNs: int64(cfg.BufferTimeout), Credits: int32(cfg.Credits)},
		Locations: locs,
	}
	if d.Checkpoints != nil {
		m.Checkpoints = &rpc.CheckpointSpec{Aligned: d.Checkpoints.Aligned, Prefix: d.Checkpoints.Prefix}
	}
	for _, uid := range slices.Sorted(maps.Keys(d.Restore)) {
		m.Restore = append(m.Restore, &rpc.OperatorRestore{OperatorUid: uid, Objects: d.Restore[uid]})
	}
	return r.send(&rpc.JobManagerMessage{Msg: &rpc.JobManagerMessage_Deploy{Deploy: m}})
}

func (r *remoteTM) CancelJob(jobID string, attempt int) {
	_ = r.send(&rpc.JobManagerMessage{Msg: &rpc.JobManagerMessage_Cancel{Cancel: &rpc.CancelJob{JobId: jobID, Attempt: int32(attempt)}}})
}

func (r *remoteTM) TriggerCheckpoint(jobID string, attempt int, taskID string, subtask int, id int64) {
	_ = r.send(&rpc.JobManagerMessage{Msg: &rpc.JobManagerMessage_Trigger{Trigger: &rpc.TriggerCheckpoint{
		JobId: jobID, Attempt: int32(attempt), Task: taskID, Subtask: int32(subtask), Checkpoint: id,
	}}})
}

func (r *remoteTM) ReleaseJob(jobID string, attempt int) {
	_ = r.send(&rpc.JobManagerMessage{Msg: &rpc.JobManagerMessage_Release{Release: &rpc.ReleaseJob{JobId: jobID, Attempt: int32(attempt)}}})
	r.mu.Lock()
	delete(r.graphs, jobID)
	r.mu.Unlock()
}
