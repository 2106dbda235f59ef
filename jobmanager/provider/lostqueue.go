package provider

import (
	"slices"
	"sync"
)

// LostQueue delivers Lost events on an unbuffered channel from an unbounded
// FIFO queue, so that pushing never blocks, and lets Release take back the
// events of a job that nobody has received yet. One goroutine (run) offers
// the head of the queue to the channel.
//
// The queue holds one event per TaskManager that died unreleased and not
// yet received, so it is bounded by the TaskManagers the provider started.
type LostQueue struct {
	out  chan Lost
	kick chan struct{} // capacity 1: the queue changed
	quit chan struct{}
	done chan struct{} // closed when run has returned

	mu          sync.Mutex
	changed     sync.Cond // on mu: offering changed
	items       []queuedLost
	seq         uint64 // sequence number of the last pushed event
	offering    uint64 // sequence number of the event run offers; 0 for none
	offeringJob string
	stopped     bool
}

type queuedLost struct {
	seq  uint64
	lost Lost
}

// NewLostQueue returns a running queue; stop it with Close.
//
// Providers use it to implement Lost: Push an event when a TaskManager
// dies, Purge a job's events in Release, return C from Lost and Close it in
// Close.
func NewLostQueue() *LostQueue {
	q := &LostQueue{
		out:  make(chan Lost),
		kick: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	q.changed.L = &q.mu
	go q.run()
	return q
}

// Push appends l to the queue; it does nothing once the queue is closed.
func (q *LostQueue) Push(l Lost) {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return
	}
	q.seq++
	q.items = append(q.items, queuedLost{seq: q.seq, lost: l})
	q.mu.Unlock()
	q.poke()
}

// Purge drops the queued events of jobID. If run is offering one of them
// at this moment, purge waits until it has either been received or been
// taken back, so that none is delivered after purge returns.
func (q *LostQueue) Purge(jobID string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = slices.DeleteFunc(q.items, func(e queuedLost) bool { return e.lost.JobID == jobID })
	if q.offering == 0 || q.offeringJob != jobID {
		return
	}
	target := q.offering
	q.poke()
	for q.offering == target {
		q.changed.Wait()
	}
}

// Close stops run, drops the queued events and closes the channel.
func (q *LostQueue) Close() {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		<-q.done
		return
	}
	q.stopped = true
	q.items = nil
	q.mu.Unlock()
	close(q.quit)
	<-q.done
}

// C is the channel events are delivered on; Close closes it.
func (q *LostQueue) C() <-chan Lost { return q.out }

// poke tells run that the queue changed.
func (q *LostQueue) poke() {
	select {
	case q.kick <- struct{}{}:
	default: // a poke is pending already
	}
}

// setOffering records what run offers. The caller holds q.mu.
func (q *LostQueue) setOffering(seq uint64, jobID string) {
	q.offering, q.offeringJob = seq, jobID
	q.changed.Broadcast()
}

// run offers the head of the queue on out until close.
func (q *LostQueue) run() {
	defer close(q.done)
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.setOffering(0, "")
			q.mu.Unlock()
			select {
			case <-q.kick:
				continue
			case <-q.quit:
				return
			}
		}
		head := q.items[0]
		q.setOffering(head.seq, head.lost.JobID)
		q.mu.Unlock()

		select {
		case q.out <- head.lost:
			q.mu.Lock()
			// purge may have dropped head while it was being received.
			if len(q.items) > 0 && q.items[0].seq == head.seq {
				q.items = slices.Delete(q.items, 0, 1)
			}
			q.setOffering(0, "")
			q.mu.Unlock()
		case <-q.kick:
			// Look at the head again: purge may have dropped it.
		case <-q.quit:
			q.mu.Lock()
			q.setOffering(0, "")
			q.mu.Unlock()
			return
		}
	}
}
