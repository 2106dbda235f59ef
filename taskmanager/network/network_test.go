package network

import (
	"errors"
	"testing"

	"go.uber.org/goleak"
)

func TestCreditsBoundInFlightBatches(t *testing.T) {
	in := NewInbox(2, 3)
	ch := in.Channel(1)
	done := make(chan struct{})
	// Three credits: three fresh batches may be allocated.
	for i := range 3 {
		b, err := ch.Acquire(done)
		if err != nil || b != nil {
			t.Fatalf("acquire %d = %v, %v; want a fresh credit", i, b, err)
		}
		ch.Send(EventNone, &[]int{i})
	}
	// The fourth blocks until the consumer recycles one.
	got := make(chan any)
	go func() {
		b, _ := ch.Acquire(done)
		got <- b
	}()
	first := <-in.Queue()
	if first.Channel != 1 {
		t.Fatalf("buffer came on channel %d", first.Channel)
	}
	select {
	case b := <-got:
		t.Fatalf("acquire returned %v before any batch was recycled", b)
	default:
	}
	in.Recycle(first)
	if b := <-got; b != first.Batch {
		t.Fatalf("recycled batch not reused: %v", b)
	}
}

func TestAcquireUnblocksOnDone(t *testing.T) {
	in := NewInbox(1, 1)
	ch := in.Channel(0)
	done := make(chan struct{})
	if _, err := ch.Acquire(done); err != nil {
		t.Fatal(err)
	}
	ch.Send(EventNone, &[]int{})
	errc := make(chan error)
	go func() { _, err := ch.Acquire(done); errc <- err }()
	close(done)
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestExchangeSharesInboxes(t *testing.T) {
	x := NewExchange()
	id := InboxID{Job: "j", Task: "t", Subtask: 1}
	a, err := x.Inbox(id, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := x.Inbox(id, 4, 2)
	if a != b {
		t.Fatal("two lookups gave two inboxes")
	}
	if _, err := x.Inbox(id, 3, 2); err == nil {
		t.Fatal("want an error when sides disagree on the channel count")
	}
	x.Release("j", 0)
	if x.Len() != 0 {
		t.Fatal("Release left inboxes")
	}
	if _, err := x.Inbox(id, 4, 2); !errors.Is(err, ErrReleased) {
		t.Fatalf("an inbox of a released attempt was created again: %v", err)
	}
	if _, err := x.Inbox(InboxID{Job: "j", Attempt: 1, Task: "t"}, 4, 2); err != nil {
		t.Fatalf("the next attempt's inbox: %v", err)
	}
}

func TestInboxCloseUnblocksAcquire(t *testing.T) {
	in := NewInbox(2, 1)
	ch := in.Channel(1)
	if _, err := ch.Acquire(nil); err != nil {
		t.Fatal(err)
	}
	ch.Send(EventNone, &[]int{})
	errc := make(chan error)
	go func() { _, err := ch.Acquire(nil); errc <- err }()
	in.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked acquire: err = %v, want ErrClosed", err)
	}
	// A closed inbox refuses even a free credit.
	if _, err := in.Channel(0).Acquire(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("acquire after close: err = %v, want ErrClosed", err)
	}
	in.Close() // idempotent
	select {
	case <-in.Done():
	default:
		t.Fatal("Done not closed")
	}
}

func TestReleaseClosesInboxes(t *testing.T) {
	x := NewExchange()
	mine, _ := x.Inbox(InboxID{Job: "j", Attempt: 1, Task: "t"}, 1, 1)
	other, _ := x.Inbox(InboxID{Job: "j", Attempt: 2, Task: "t"}, 1, 1)
	x.Release("j", 1)
	select {
	case <-mine.Done():
	default:
		t.Fatal("Release did not close the released inbox")
	}
	select {
	case <-other.Done():
		t.Fatal("Release closed another attempt's inbox")
	default:
	}
	if x.Len() != 1 {
		t.Fatalf("Len = %d, want 1", x.Len())
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
