package provider

import (
	"testing"
	"time"
)

// receive returns the next event of q, failing the test after a while.
func receive(t *testing.T, q *LostQueue) Lost {
	t.Helper()
	select {
	case l := <-q.out:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no Lost event")
	}
	return Lost{}
}

// waitOffering waits until run offers the event with sequence number seq.
func waitOffering(t *testing.T, q *LostQueue, seq uint64) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.offering != seq {
		q.changed.Wait()
	}
}

func TestLostQueueOrder(t *testing.T) {
	q := NewLostQueue()
	defer q.Close()
	for _, tm := range []string{"a", "b", "c"} {
		q.Push(Lost{TaskManager: tm, JobID: "j"})
	}
	for _, want := range []string{"a", "b", "c"} {
		if l := receive(t, q); l.TaskManager != want {
			t.Fatalf("got %q, want %q", l.TaskManager, want)
		}
	}
}

func TestLostQueuePurge(t *testing.T) {
	q := NewLostQueue()
	defer q.Close()
	q.Push(Lost{TaskManager: "x1", JobID: "x"})
	q.Push(Lost{TaskManager: "y1", JobID: "y"})
	q.Push(Lost{TaskManager: "x2", JobID: "x"})
	// Nobody receives, so run is offering x1; purge takes it back too.
	waitOffering(t, q, 1)
	q.Purge("x")
	q.Push(Lost{TaskManager: "y2", JobID: "y"})
	for _, want := range []string{"y1", "y2"} {
		if l := receive(t, q); l.TaskManager != want {
			t.Fatalf("got %q, want %q", l.TaskManager, want)
		}
	}
	q.Purge("unknown")
}

func TestLostQueueClose(t *testing.T) {
	q := NewLostQueue()
	q.Push(Lost{TaskManager: "a", JobID: "j"})
	waitOffering(t, q, 1)
	q.Close()
	if l, ok := <-q.out; ok {
		t.Errorf("got %+v after close", l)
	}
	q.Push(Lost{TaskManager: "b", JobID: "j"}) // ignored
	q.Purge("j")
	q.Close()
}
