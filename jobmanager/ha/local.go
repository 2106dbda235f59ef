package ha

import (
	"context"
	"fmt"
	"sync"
)

// Local is the HA of a single JobManager without Consul: it leads at once
// (epoch 1, never lost) and keeps the store in memory. Resign ends the
// leadership (its lost channel closes and its epoch is fenced); a later
// Campaign leads again at the next epoch.
type Local struct {
	mu       sync.Mutex
	leading  bool
	me       Leader
	epoch    uint64
	lost     chan struct{}
	changed  chan struct{} // closed and replaced when the leader changes
	jobs     map[string]JobRecord
	pointers map[string]Pointer
}

// NewLocal returns a Local that does not lead yet.
func NewLocal() *Local {
	return &Local{
		changed:  make(chan struct{}),
		jobs:     map[string]JobRecord{},
		pointers: map[string]Pointer{},
	}
}

// Campaign leads at once. Unlike Consul's, it does not check me's
// addresses: no other process reads them.
func (l *Local) Campaign(ctx context.Context, me Leader) (uint64, <-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leading {
		return 0, nil, fmt.Errorf("ha: campaign: already leading at epoch %d", l.epoch)
	}
	l.leading = true
	l.epoch++
	l.me = me
	l.me.Epoch = l.epoch
	l.lost = make(chan struct{})
	l.notifyLocked()
	return l.epoch, l.lost, nil
}

// Resign ends the leadership if held; idempotent.
func (l *Local) Resign(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leading {
		return nil
	}
	l.leading = false
	close(l.lost)
	l.notifyLocked()
	return nil
}

func (l *Local) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *Local) current() (Leader, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leading {
		return Leader{}, l.changed
	}
	return l.me, l.changed
}

// Leader returns this JobManager once it leads, else ErrNoLeader.
func (l *Local) Leader(ctx context.Context) (Leader, error) {
	if err := ctx.Err(); err != nil {
		return Leader{}, err
	}
	cur, _ := l.current()
	if cur.IsZero() {
		return Leader{}, ErrNoLeader
	}
	return cur, nil
}

// Watch calls fn with the current leader, then with each change, until
// ctx ends; it returns nil then.
func (l *Local) Watch(ctx context.Context, fn func(Leader)) error {
	first := true
	var last Leader
	for {
		cur, changed := l.current()
		if first || cur != last {
			fn(cur)
			first, last = false, cur
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

func (l *Local) fenceLocked(epoch uint64) error {
	if !l.leading {
		return fmt.Errorf("%w (epoch %d: not leading)", ErrFenced, epoch)
	}
	if epoch != l.epoch {
		return fmt.Errorf("%w (epoch %d, the leadership's is %d)", ErrFenced, epoch, l.epoch)
	}
	return nil
}

// PutJob stores a job record if epoch is the current leadership's.
func (l *Local) PutJob(ctx context.Context, epoch uint64, j JobRecord) error {
	if err := validateJob(j); err != nil {
		return fmt.Errorf("ha: put job: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fenceLocked(epoch); err != nil {
		return err
	}
	l.jobs[j.ID] = cloneJob(j)
	return nil
}

// Jobs returns the stored job records by submission time.
func (l *Local) Jobs(ctx context.Context) ([]JobRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	js := make([]JobRecord, 0, len(l.jobs))
	for _, j := range l.jobs {
		js = append(js, cloneJob(j))
	}
	l.mu.Unlock()
	sortJobs(js)
	return js, nil
}

// PutPointer stores a job's checkpoint pointer if epoch is the current
// leadership's; the pointer's Epoch is set to epoch.
func (l *Local) PutPointer(ctx context.Context, epoch uint64, jobID string, p Pointer) error {
	if err := validSegment("job id", jobID); err != nil {
		return fmt.Errorf("ha: put pointer: %w", err)
	}
	if err := validatePointer(p); err != nil {
		return fmt.Errorf("ha: put pointer of job %s: %w", jobID, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fenceLocked(epoch); err != nil {
		return err
	}
	p.Epoch = epoch
	l.pointers[jobID] = p
	return nil
}

// Pointer returns a job's checkpoint pointer, if any.
func (l *Local) Pointer(ctx context.Context, jobID string) (Pointer, bool, error) {
	if err := ctx.Err(); err != nil {
		return Pointer{}, false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.pointers[jobID]
	return p, ok, nil
}
