package network

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestAcquireCountsOnlyTheTimeItWaits(t *testing.T) {
	in := NewInbox(2, 2)
	ch := in.Channel(1)
	var blocked WaitTime
	ch.CountBlocked(&blocked)
	if in.Buffers() != 4 || in.BuffersInUse() != 0 {
		t.Fatalf("buffers %d, in use %d; want 4 and 0", in.Buffers(), in.BuffersInUse())
	}
	for i := range 2 { // two credits: no wait
		b, err := ch.Acquire(nil)
		if err != nil || b != nil {
			t.Fatalf("acquire %d: %v %v", i, b, err)
		}
		ch.Send(EventNone, &[]int{i})
	}
	if blocked.Load() != 0 {
		t.Fatalf("%v counted without a wait", time.Duration(blocked.Load()))
	}
	if n := in.BuffersInUse(); n != 2 {
		t.Fatalf("%d buffers in use, want 2 (both queued)", n)
	}
	const hold = 30 * time.Millisecond
	midWait := make(chan int64, 1)
	go func() {
		time.Sleep(hold)
		// The producer is still waiting: its wait counts already.
		midWait <- blocked.Load()
		in.Recycle(<-in.Queue())
	}()
	start := time.Now()
	if _, err := ch.Acquire(nil); err != nil {
		t.Fatal(err)
	}
	waited := time.Since(start)
	if got := time.Duration(blocked.Load()); got < hold || got > waited {
		t.Fatalf("counted %v; the wait took %v and at least %v", got, waited, hold)
	}
	if mid := <-midWait; mid < int64(hold) || mid > blocked.Load() {
		t.Fatalf("during the wait %v counted, want at least %v and at most the final %v", time.Duration(mid), hold, time.Duration(blocked.Load()))
	}
	// One batch is back with the producer, one still queued.
	if n := in.BuffersInUse(); n != 2 {
		t.Fatalf("%d buffers in use, want 2", n)
	}
	in.Recycle(<-in.Queue())
	if n := in.BuffersInUse(); n != 1 {
		t.Fatalf("%d buffers in use after a recycle, want 1", n)
	}
}

func TestRemoteChannelCountsBytesAndWrites(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	h := header("job", 0, 1, 0, 2)
	in, _ := b.x.Inbox(h.Inbox, 1, 2)
	rc, err := a.Open(context.Background(), b.cfg.ID, b.Addr(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bytes atomic.Int64
	var blocked WaitTime
	rc.Count(&bytes, &blocked)
	const frames = 50
	errc := make(chan error, 1)
	go func() { errc <- sendFrames(rc, 7, 0, frames) }()
	if err := checkFrames(in, 7, frames); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	for seq := range frames {
		want += int64(testSize(seq))
	}
	if bytes.Load() != want {
		t.Errorf("counted %d payload bytes, sent %d (the end of stream carries none)", bytes.Load(), want)
	}
	if blocked.Load() <= 0 {
		t.Errorf("no write time counted")
	}
}
