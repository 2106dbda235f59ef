package nomad

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/jobmanager/provider"
)

// watchWait is how long one blocking query on a job's allocations waits
// for a change.
const watchWait = 5 * time.Minute

// watch follows the allocations of one Nomad job and reports those that
// end.
type watch struct {
	jobID, nomadID string
	// since is the Raft index of the registration that started the
	// watch: allocations that had ended by then are history, not news.
	since  uint64
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	pending error
	seen    map[string]bool // allocation id → reported (or history)
}

func (w *watch) setPending(err error) {
	w.mu.Lock()
	w.pending = err
	w.mu.Unlock()
}

func (w *watch) getPending() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending
}

// stop ends the watch and waits for its goroutine.
func (w *watch) stop() {
	w.cancel()
	<-w.done
}

// watchJob returns the watch of jobID, starting it if there is none.
func (p *Provider) watchJob(jobID, nomadID string, since uint64) *watch {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.watches[jobID]; w != nil {
		return w
	}
	ctx, cancel := context.WithCancel(p.ctx)
	w := &watch{jobID: jobID, nomadID: nomadID, since: since, cancel: cancel, done: make(chan struct{}), seen: map[string]bool{}}
	p.watches[jobID] = w
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(w.done)
		p.follow(ctx, w)
	}()
	return w
}

// follow runs blocking queries on the job's allocations until ctx ends.
func (p *Provider) follow(ctx context.Context, w *watch) {
	var index uint64
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: watchWait}).WithContext(ctx)
		allocs, meta, err := p.client.Jobs().Allocations(w.nomadID, true, q)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("watching taskmanager allocations", "job", w.jobID, "nomad_job", w.nomadID, "err", p.explain("list allocations", err), "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if meta.LastIndex < index { // the index went back: start over
			index = 0
		} else {
			index = meta.LastIndex
		}
		for _, a := range allocs {
			if l, ok := w.observe(a); ok {
				p.log.Warn("taskmanager allocation ended", "job", w.jobID, "taskmanager", l.TaskManager, "alloc", a.ID, "err", l.Err)
				p.lost.Push(l)
			}
		}
	}
}

// observe returns the Lost event of an allocation that has ended (or is
// being stopped) and was not reported yet.
func (w *watch) observe(a *api.AllocationListStub) (provider.Lost, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[a.ID] {
		return provider.Lost{}, false
	}
	why, ended := allocEnded(a)
	if !ended {
		return provider.Lost{}, false
	}
	w.seen[a.ID] = true
	if a.ModifyIndex <= w.since {
		return provider.Lost{}, false // ended before this watch began
	}
	return provider.Lost{
		TaskManager: TaskManagerID(w.jobID, a.ID),
		JobID:       w.jobID,
		Err:         fmt.Errorf("nomad allocation %s (%s) on node %s %s", idPrefix(a.ID), a.Name, a.NodeName, why),
	}, true
}

// allocEnded says whether the allocation's TaskManager has ended or is
// being stopped, and how.
func allocEnded(a *api.AllocationListStub) (string, bool) {
	switch a.ClientStatus {
	case api.AllocClientStatusFailed:
		return "failed: " + taskReason(a), true
	case api.AllocClientStatusLost:
		return "was lost: " + orDefault(a.ClientDescription, "its node is down"), true
	case api.AllocClientStatusComplete:
		return "exited: " + taskReason(a), true
	}
	switch a.DesiredStatus {
	case api.AllocDesiredStatusStop, api.AllocDesiredStatusEvict:
		if a.ClientStatus == api.AllocClientStatusPending && a.DesiredDescription == "" {
			return "", false
		}
		return "is being stopped: " + orDefault(a.DesiredDescription, a.DesiredStatus), true
	}
	return "", false
}

// taskReason is the TaskManager task's last event that says something,
// such as "Failed Artifact Download: ...".
func taskReason(a *api.AllocationListStub) string {
	st := a.TaskStates[TaskName]
	if st == nil {
		return orDefault(a.ClientDescription, "no task state")
	}
	for i := len(st.Events) - 1; i >= 0; i-- {
		e := st.Events[i]
		switch e.Type {
		case api.TaskTerminated, api.TaskArtifactDownloadFailed, api.TaskDriverFailure, api.TaskSetupFailure,
			api.TaskFailedValidation, api.TaskKilled, api.TaskNotRestarting, api.TaskKilling:
		default:
			continue
		}
		msg := e.DisplayMessage
		if msg == "" {
			msg = e.Message
		}
		if e.Type == api.TaskNotRestarting || e.Type == api.TaskKilling {
			// Says only that the policy gave up; an earlier event has the cause.
			if i > 0 {
				continue
			}
		}
		return e.Type + ": " + msg
	}
	return orDefault(a.ClientDescription, "task "+st.State)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
