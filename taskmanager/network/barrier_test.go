package network

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestBarriersTravelInOrderWithRecords(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	h := header("job", 0, 1, 0, 4)
	in, err := b.x.Inbox(h.Inbox, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := a.Open(ctx, "tm-b", b.Addr(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(EventNone, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := rc.SendBarrier(7); err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(EventNone, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ev   Event
		id   int64
		data string
	}{{EventNone, 0, "before"}, {EventBarrier, 7, ""}, {EventNone, 0, "after"}, {EventEndOfStream, 0, ""}}
	for i, w := range want {
		select {
		case buf := <-in.Queue():
			if buf.Event != w.ev || buf.Checkpoint != w.id {
				t.Fatalf("buffer %d: event %d checkpoint %d, want %d %d", i, buf.Event, buf.Checkpoint, w.ev, w.id)
			}
			if w.ev == EventNone && string(buf.Batch.(*Frame).Data) != w.data {
				t.Fatalf("buffer %d: %q, want %q", i, buf.Batch.(*Frame).Data, w.data)
			}
			in.Recycle(buf)
		case <-ctx.Done():
			t.Fatalf("buffer %d never came", i)
		}
	}
}

func TestLocalBarrierCarriesItsID(t *testing.T) {
	in := NewInbox(1, 1)
	ch := in.Channel(0)
	b, _ := ch.Acquire(nil)
	ch.SendBarrier(42, b)
	if buf := <-in.Queue(); buf.Event != EventBarrier || buf.Checkpoint != 42 {
		t.Fatalf("got %+v", buf)
	}
}

func TestMalformedBarrierFrameIsRefused(t *testing.T) {
	var hdr [FrameHeaderLen]byte
	frame := []byte{kindBarrier, 3, 0, 0, 0, 1, 2, 3}
	if _, err := readFrame(bytes.NewReader(frame), new(Frame), &hdr); !errors.Is(err, ErrProtocol) {
		t.Fatalf("a 3-byte barrier frame: %v", err)
	}
	good := make([]byte, FrameHeaderLen+barrierPayload)
	putFrameHeader(good, EventBarrier, barrierPayload)
	binary.LittleEndian.PutUint64(good[FrameHeaderLen:], 99)
	f := new(Frame)
	ev, err := readFrame(bytes.NewReader(good), f, &hdr)
	if err != nil || ev != EventBarrier || barrierID(f) != 99 {
		t.Fatalf("a good barrier frame: %v %v %d", ev, err, barrierID(f))
	}
}
