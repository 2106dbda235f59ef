// Package minicluster runs a whole Sluice cluster in one process: a
// JobManager and N TaskManagers with their slots, exchanging records through
// in-process channels. It is what a job binary runs with no mode set, and
// what tests use to run several jobs side by side.
package minicluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/network"
)

// Config shapes a mini-cluster.
type Config struct {
	TaskManagers        int          // default 1
	SlotsPerTaskManager int          // default: the number of CPUs
	Logger              *slog.Logger // default: slog.Default()
}

// MiniCluster is a JobManager and TaskManagers in one process.
type MiniCluster struct {
	jm        *jobmanager.JobManager
	tms       []*taskmanager.TaskManager
	snapshots plugins.Backend
}

// Snapshots returns the cluster's state backend.
func (m *MiniCluster) Snapshots() plugins.Backend { return m.snapshots }

// New starts a mini-cluster.
func New(cfg Config) (*MiniCluster, error) {
	if cfg.TaskManagers <= 0 {
		cfg.TaskManagers = 1
	}
	// Checkpoints of embedded jobs go to an in-memory state backend that
	// lives as long as the cluster.
	snapshots := memstore.New()
	m := &MiniCluster{jm: jobmanager.New(jobmanager.Config{Logger: cfg.Logger, Snapshots: snapshots}), snapshots: snapshots}
	x := network.NewExchange()
	for i := range cfg.TaskManagers {
		tm, err := taskmanager.New(taskmanager.Config{
			ID: fmt.Sprintf("tm-%d", i+1), Slots: cfg.SlotsPerTaskManager, Exchange: x, Logger: cfg.Logger, Snapshots: snapshots,
		}, m.jm)
		if err != nil {
			return nil, err
		}
		m.tms = append(m.tms, tm)
		m.jm.RegisterTaskManager(tm)
	}
	return m, nil
}

// JobManager returns the cluster's JobManager.
func (m *MiniCluster) JobManager() *jobmanager.JobManager { return m.jm }

// Submit runs a job; sub names its graph and the code to run it.
func (m *MiniCluster) Submit(ctx context.Context, sub jobmanager.Submission) (*JobClient, error) {
	id, err := m.jm.Submit(ctx, sub)
	if err != nil {
		return nil, err
	}
	return &JobClient{jm: m.jm, id: id}, nil
}

// Close cancels every job and stops the TaskManagers once their subtasks
// have ended.
func (m *MiniCluster) Close() error {
	m.jm.Close()
	for _, tm := range m.tms {
		tm.Close()
	}
	return nil
}

// JobClient follows and controls one submitted job.
type JobClient struct {
	jm      *jobmanager.JobManager
	id      string
	mu      sync.Mutex
	onClose []func() error
}

// ID returns the job id.
func (c *JobClient) ID() string { return c.id }

// Status returns the job's current status.
func (c *JobClient) Status() jobmanager.JobStatus {
	s, _ := c.jm.Status(c.id)
	return s
}

// Wait blocks until the job ends or ctx is done.
func (c *JobClient) Wait(ctx context.Context) (jobmanager.JobStatus, error) {
	return c.jm.Wait(ctx, c.id)
}

// Cancel asks the job to stop; Wait tells when it has.
func (c *JobClient) Cancel() error { return c.jm.Cancel(c.id) }

// OnClose registers f to run on Close.
func (c *JobClient) OnClose(f func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onClose = append(c.onClose, f)
}

// Close runs the functions registered with OnClose (for a client from
// stream's ExecuteAsync: cancels the job and stops its cluster).
func (c *JobClient) Close() error {
	c.mu.Lock()
	fs := c.onClose
	c.onClose = nil
	c.mu.Unlock()
	for _, f := range fs {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}
