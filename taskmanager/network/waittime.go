package network

import (
	"sync"
	"time"
)

// WaitTime adds up the time a producer waits to send: for a credit of an
// in-process channel, or in a data-plane write while the consumer's window
// is exhausted. A wait still in progress counts too, so that a producer
// blocked for a long time (a slow consumer that has not yet consumed half
// of a large window) shows as blocked while it is, not only once the wait
// ends. The zero value is ready; one producer goroutine waits on it at a
// time, and Load may be called from any goroutine.
type WaitTime struct {
	mu    sync.Mutex
	total time.Duration
	since time.Time // start of the wait in progress; zero when none
}

// begin marks the start of a wait.
func (w *WaitTime) begin() {
	now := time.Now()
	w.mu.Lock()
	w.since = now
	w.mu.Unlock()
}

// end adds the wait begun last to the total.
func (w *WaitTime) end() {
	now := time.Now()
	w.mu.Lock()
	w.total += now.Sub(w.since)
	w.since = time.Time{}
	w.mu.Unlock()
}

// Load returns the nanoseconds waited so far, including the wait in
// progress. Successive calls never decrease.
func (w *WaitTime) Load() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.total
	if !w.since.IsZero() {
		t += time.Since(w.since)
	}
	return int64(t)
}

// Add adds d nanoseconds, as if waited.
func (w *WaitTime) Add(d int64) {
	w.mu.Lock()
	w.total += time.Duration(d)
	w.mu.Unlock()
}
