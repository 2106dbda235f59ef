package network

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
	"time"
)

func TestWatermarkFramesRoundTrip(t *testing.T) {
	type frame struct {
		ev Event
		wm int64
	}
	frames := []frame{
		{EventWatermark, 0}, {EventWatermark, 1_700_000_000_123}, {EventWatermark, -1},
		{EventWatermark, math.MinInt64}, {EventWatermark, math.MaxInt64},
		{EventIdle, 0}, {EventActive, 0},
	}
	var stream []byte
	for _, f := range frames {
		var payload []byte
		if f.ev == EventWatermark {
			payload = binary.LittleEndian.AppendUint64(nil, uint64(f.wm))
		}
		b := make([]byte, FrameHeaderLen+len(payload))
		putFrameHeader(b, f.ev, len(payload))
		copy(b[FrameHeaderLen:], payload)
		stream = append(stream, b...)
	}
	r := bytes.NewReader(stream)
	var hdr [FrameHeaderLen]byte
	got := new(Frame)
	for i, want := range frames {
		ev, err := readFrame(r, got, &hdr)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if ev != want.ev {
			t.Fatalf("frame %d: event %d, want %d", i, ev, want.ev)
		}
		if ev == EventWatermark && watermarkOf(got) != want.wm {
			t.Fatalf("frame %d: watermark %d, want %d", i, watermarkOf(got), want.wm)
		}
		if ev != EventWatermark && len(got.Data) != 0 {
			t.Fatalf("frame %d: %d payload bytes", i, len(got.Data))
		}
	}
	if _, err := readFrame(r, got, &hdr); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
}

func TestMalformedWatermarkFramesAreRefused(t *testing.T) {
	for name, frame := range map[string][]byte{
		"a 7-byte watermark":       {kindWatermark, 7, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7},
		"a 9-byte watermark":       {kindWatermark, 9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		"an empty watermark":       {kindWatermark, 0, 0, 0, 0},
		"an idle with a payload":   {kindIdle, 1, 0, 0, 0, 1},
		"an active with a payload": {kindActive, 2, 0, 0, 0, 1, 2},
		"an unknown kind":          {kindActive + 1, 0, 0, 0, 0},
	} {
		var hdr [FrameHeaderLen]byte
		if _, err := readFrame(bytes.NewReader(frame), new(Frame), &hdr); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v, want a protocol error", name, err)
		}
	}
}

func TestLocalChannelCarriesWatermarksAndStatuses(t *testing.T) {
	in := NewInbox(1, 4)
	ch := in.Channel(0)
	b, _ := ch.Acquire(nil)
	ch.SendWatermark(math.MinInt64+1, b)
	b, _ = ch.Acquire(nil)
	ch.Send(EventIdle, b)
	b, _ = ch.Acquire(nil)
	ch.Send(EventActive, b)
	b, _ = ch.Acquire(nil)
	ch.SendWatermark(77, b)
	want := []Buffer{{Event: EventWatermark, Watermark: math.MinInt64 + 1}, {Event: EventIdle}, {Event: EventActive}, {Event: EventWatermark, Watermark: 77}}
	for i, w := range want {
		got := <-in.Queue()
		if got.Event != w.Event || got.Watermark != w.Watermark || got.Channel != 0 {
			t.Fatalf("buffer %d: %+v, want %+v", i, got, w)
		}
	}
}

func TestWatermarksTravelInOrderOverTheDataPlane(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	h := header("job", 0, 2, 1, 4)
	in, err := b.x.Inbox(h.Inbox, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := a.Open(ctx, "tm-b", b.Addr(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		ev   Event
		wm   int64
		data string
	}
	steps := []step{
		{EventNone, 0, "early"}, {EventWatermark, 1000, ""}, {EventIdle, 0, ""}, {EventActive, 0, ""},
		{EventNone, 0, "late"}, {EventWatermark, -5, ""}, {EventWatermark, math.MaxInt64, ""},
	}
	for _, s := range steps {
		var err error
		switch s.ev {
		case EventWatermark:
			err = rc.SendWatermark(s.wm)
		case EventNone:
			err = rc.Send(EventNone, []byte(s.data))
		default:
			err = rc.Send(s.ev, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, step{EventEndOfStream, 0, ""})
	for i, w := range steps {
		select {
		case buf := <-in.Queue():
			if buf.Channel != 1 || buf.Event != w.ev || buf.Watermark != w.wm {
				t.Fatalf("buffer %d: channel %d event %d watermark %d, want 1 %d %d", i, buf.Channel, buf.Event, buf.Watermark, w.ev, w.wm)
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

func TestRemoteChannelRefusesEventsWithTheWrongPayload(t *testing.T) {
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
	for name, send := range map[string]func() error{
		"a short watermark":  func() error { return rc.Send(EventWatermark, []byte{1, 2, 3}) },
		"an idle payload":    func() error { return rc.Send(EventIdle, []byte{1}) },
		"an unknown event":   func() error { return rc.Send(EventActive+1, nil) },
		"a 9-byte barrier":   func() error { return rc.Send(EventBarrier, make([]byte, 9)) },
		"an active payload":  func() error { return rc.Send(EventActive, []byte{0}) },
		"an empty watermark": func() error { return rc.Send(EventWatermark, nil) },
	} {
		if err := send(); err == nil {
			t.Errorf("%s was sent", name)
		}
	}
	// Refused before anything was written: the stream is still good.
	if err := rc.SendWatermark(3); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Event{EventWatermark, EventEndOfStream} {
		select {
		case buf := <-in.Queue():
			if buf.Event != want {
				t.Fatalf("event %d, want %d", buf.Event, want)
			}
			in.Recycle(buf)
		case <-ctx.Done():
			t.Fatalf("event %d never came", want)
		}
	}
}
