package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestNewDataPlaneValidates(t *testing.T) {
	x := NewExchange()
	for _, cfg := range []DataPlaneConfig{
		{Exchange: x},
		{ID: "a"},
		{ID: "a", Exchange: x, StreamWindow: 1024},
		{ID: "a", Exchange: x, StreamWindow: MaxStreamWindow + 1},
		{ID: "a", Exchange: x, DialTimeout: -time.Second},
		{ID: "a", Exchange: x, ListenAddr: "127.0.0.1:-1"},
	} {
		if d, err := NewDataPlane(cfg); err == nil {
			d.Close()
			t.Errorf("NewDataPlane(%+v) succeeded", cfg)
		}
	}
}

func TestDataPlaneCarriesStreamsBothWays(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	const channels, frames = 3, 200
	inA, _ := a.x.Inbox(header("job", 0, channels, 0, 2).Inbox, channels, 2)
	inB, _ := b.x.Inbox(header("job", 1, channels, 0, 2).Inbox, channels, 2)

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2*channels+2)
	open := func(from, to *plane, subtask, tag int) {
		for ch := range channels {
			rc, err := from.Open(ctx, to.cfg.ID, to.Addr(), header("job", subtask, channels, ch, 2), nil)
			if err != nil {
				errs <- err
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := sendFrames(rc, tag, ch, frames); err != nil {
					errs <- err
				}
			}()
		}
	}
	// Open from both sides at once; streams go either way over one session.
	wg.Add(4)
	go func() { defer wg.Done(); open(a, b, 1, 1) }()
	go func() { defer wg.Done(); open(b, a, 0, 2) }()
	go func() { defer wg.Done(); errs <- checkFrames(inB, 1, frames) }()
	go func() { defer wg.Done(); errs <- checkFrames(inA, 2, frames) }()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if a.Sessions() != 1 || b.Sessions() != 1 {
		t.Errorf("sessions: a %d, b %d; want 1 each", a.Sessions(), b.Sessions())
	}
	checkOneConnection(t, a, b)
	if a.BytesSent() < int64(frames*channels*testSize(1)) || b.BytesReceived() < a.BytesSent()/2 {
		t.Errorf("stats: a sent %d, b received %d", a.BytesSent(), b.BytesReceived())
	}
}

// checkOneConnection checks that a and b each have one session to the
// other, over the same TCP connection, dialed by the lower id.
func checkOneConnection(t *testing.T, a, b *plane) {
	t.Helper()
	sa, sb := a.sessionTo(b.cfg.ID), b.sessionTo(a.cfg.ID)
	if sa == nil || sb == nil {
		t.Fatalf("sessions: a→b %v, b→a %v", sa, sb)
	}
	if sa.ys.LocalAddr().String() != sb.ys.RemoteAddr().String() || sa.ys.RemoteAddr().String() != sb.ys.LocalAddr().String() {
		t.Errorf("a's session %v→%v and b's %v→%v are different connections",
			sa.ys.LocalAddr(), sa.ys.RemoteAddr(), sb.ys.LocalAddr(), sb.ys.RemoteAddr())
	}
	if sa.dialed == sb.dialed {
		t.Errorf("both sides dialed = %v", sa.dialed)
	}
}

func TestSimultaneousOpensShareOneConnection(t *testing.T) {
	t.Run("both dials in flight", func(t *testing.T) {
		// Hold both dials after connecting until both have connected,
		// so each side gets the other's hello while its own dial is in
		// flight: the connection dialed by the lower id must win.
		var connected sync.WaitGroup
		connected.Add(2)
		a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
		hook := func(string) { connected.Done(); connected.Wait() }
		a.testHookDialed, b.testHookDialed = hook, hook

		inA, _ := a.x.Inbox(header("j", 0, 1, 0, 1).Inbox, 1, 1)
		inB, _ := b.x.Inbox(header("j", 1, 1, 0, 1).Inbox, 1, 1)
		errs := make(chan error, 2)
		open := func(from, to *plane, subtask int) {
			rc, err := from.Open(context.Background(), to.cfg.ID, to.Addr(), header("j", subtask, 1, 0, 1), nil)
			if err == nil {
				err = rc.Close()
			}
			errs <- err
		}
		go open(a, b, 1)
		go open(b, a, 0)
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for _, in := range []*Inbox{inA, inB} {
			if err := checkFrames(in, 0, 0); err != nil {
				t.Fatal(err)
			}
		}
		if a.accepted.Load() != 1 || b.accepted.Load() != 1 {
			t.Fatalf("accepted connections: a %d, b %d; want both dials to connect", a.accepted.Load(), b.accepted.Load())
		}
		if a.Sessions() != 1 || b.Sessions() != 1 {
			t.Fatalf("sessions: a %d, b %d; want 1 each", a.Sessions(), b.Sessions())
		}
		checkOneConnection(t, a, b)
		if !a.sessionTo("tm-b").dialed {
			t.Error("the winner is not the connection dialed by the lower id")
		}
	})

	t.Run("many concurrent opens", func(t *testing.T) {
		for round := range 10 {
			a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
			const n = 8
			var start sync.WaitGroup
			start.Add(1)
			errs := make(chan error, 2*n)
			for ch := range n {
				for _, pair := range [][2]*plane{{a, b}, {b, a}} {
					from, to := pair[0], pair[1]
					go func() {
						start.Wait()
						rc, err := from.Open(context.Background(), to.cfg.ID, to.Addr(), header(from.cfg.ID, 0, n, ch, 1), nil)
						if err == nil {
							err = rc.Close()
						}
						errs <- err
					}()
				}
			}
			start.Done()
			for range 2 * n {
				if err := <-errs; err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if a.Sessions() != 1 || b.Sessions() != 1 {
				t.Fatalf("round %d: sessions a %d, b %d", round, a.Sessions(), b.Sessions())
			}
			checkOneConnection(t, a, b)
			a.stop(t)
			b.stop(t)
		}
	})
}

func TestBackpressureBlocksTheProducer(t *testing.T) {
	const (
		credits = 2
		frame   = 32 << 10
		window  = DefaultStreamWindow
		frames  = 3 * window / frame // far more than can be in flight
	)
	// At most credits frames in the inbox plus a window's worth in yamux,
	// plus one frame being written and framing overhead.
	bound := int64(credits*frame + window + frame + 4<<10)

	setup := func(t *testing.T) (a, b *plane, in *Inbox, rc *RemoteChannel, sent *atomic.Int64, done chan error) {
		a, b = startPlane(t, "tm-a"), startPlane(t, "tm-b")
		h := header("job", 0, 1, 0, credits)
		in, _ = b.x.Inbox(h.Inbox, 1, credits)
		rc, err := a.Open(context.Background(), "tm-b", b.Addr(), h, nil)
		if err != nil {
			t.Fatal(err)
		}
		base := b.BytesReceived()
		sent = new(atomic.Int64)
		done = make(chan error, 1)
		go func() {
			for seq := range frames {
				if err := rc.Send(EventNone, testPayload(0, 0, seq, frame)); err != nil {
					done <- err
					return
				}
				sent.Add(frame)
			}
			done <- rc.Close()
		}()
		// The consumer recycles nothing, so the reader stops after
		// `credits` frames and the window fills.
		waitFor(t, "the window to fill", func() bool {
			return len(in.Queue()) == credits && b.BytesReceived()-base >= window
		})
		// A ping round trip from the producer's side flushes whatever it
		// had queued before it.
		if _, err := a.sessionTo("tm-b").ys.Ping(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("the producer finished (%v) though the consumer recycled nothing", err)
		default:
		}
		if got := sent.Load(); got > bound {
			t.Fatalf("producer sent %d bytes without the consumer recycling; bound %d", got, bound)
		}
		if got := b.BytesReceived() - base; got > bound {
			t.Fatalf("consumer received %d bytes; bound %d", got, bound)
		}
		t.Logf("blocked after %d bytes sent (%d received); bound %d", sent.Load(), b.BytesReceived()-base, bound)
		return a, b, in, rc, sent, done
	}

	t.Run("recycling releases it", func(t *testing.T) {
		_, _, in, _, _, done := setup(t)
		tag, want := 0, frames
		if err := checkFramesOfSize(in, tag, want, frame); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("abort unblocks it", func(t *testing.T) {
		_, b, in, rc, _, done := setup(t)
		rc.Abort()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Send after Abort: %v, want ErrClosed", err)
		}
		if err := rc.Send(EventNone, nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("Send after Abort: %v, want ErrClosed", err)
		}
		// The consumer gets what was sent, then the stream ends without
		// end of stream.
		waitFor(t, "the aborted stream's reader to stop", func() bool {
			for {
				select {
				case buf := <-in.Queue():
					if buf.Event == EventEndOfStream {
						t.Fatal("an aborted stream delivered end of stream")
					}
					in.Recycle(buf)
				default:
					return b.attachedStreams() == 0
				}
			}
		})
	})
}

// checkFramesOfSize is checkFrames for fixed-size frames on one channel.
func checkFramesOfSize(in *Inbox, tag, n, size int) error {
	for seq := 0; ; seq++ {
		var b Buffer
		select {
		case b = <-in.Queue():
		case <-time.After(20 * time.Second):
			return fmt.Errorf("timed out at frame %d", seq)
		}
		f := b.Batch.(*Frame)
		if b.Event == EventEndOfStream {
			if seq != n {
				return fmt.Errorf("ended after %d frames, want %d", seq, n)
			}
			return nil
		}
		want := testPayload(tag, 0, seq, size)
		if string(f.Data) != string(want) {
			return fmt.Errorf("frame %d differs", seq)
		}
		in.Recycle(b)
	}
}

func TestBadStreamsResetOnlyThemselves(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	const channels = 4
	h := header("job", 0, channels, 0, 2)
	in, _ := b.x.Inbox(h.Inbox, channels, 2)
	ctx := context.Background()
	good, err := a.Open(ctx, "tm-b", b.Addr(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := a.sessionTo("tm-b")
	seq := 0
	// sendGood checks that the good stream still carries frames.
	sendGood := func(t *testing.T) {
		t.Helper()
		p := testPayload(0, 0, seq, 100)
		if err := good.Send(EventNone, p); err != nil {
			t.Fatal(err)
		}
		select {
		case buf := <-in.Queue():
			if buf.Channel != 0 || string(buf.Batch.(*Frame).Data) != string(p) {
				t.Fatalf("got channel %d %q", buf.Channel, buf.Batch.(*Frame).Data)
			}
			in.Recycle(buf)
		case <-time.After(10 * time.Second):
			t.Fatal("the good stream stopped")
		}
		seq++
		if a.sessionTo("tm-b") != sess || a.Sessions() != 1 || b.accepted.Load() != 1 {
			t.Fatal("the session did not survive")
		}
	}
	sendGood(t)

	// A raw stream with a bad header is closed by the consumer.
	rawStream := func(t *testing.T, data []byte) {
		t.Helper()
		st, err := sess.ys.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Write(data); err != nil {
			t.Fatal(err)
		}
		st.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := st.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("after a bad header: read err = %v, want io.EOF from the reset", err)
		}
	}
	// A stream with a good header and then bad bytes is reset too; its
	// producer sees ErrStreamReset.
	badFrame := func(t *testing.T, channel int, data []byte) {
		t.Helper()
		rc, err := a.Open(ctx, "tm-b", b.Addr(), header("job", 0, channels, channel, 2), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.st.Write(data); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the producer to see the reset", func() bool {
			select {
			case <-rc.gone:
				return true
			default:
				return false
			}
		})
		if err := rc.Send(EventNone, []byte("x")); !errors.Is(err, ErrStreamReset) {
			t.Fatalf("Send on a reset stream: %v, want ErrStreamReset", err)
		}
	}

	t.Run("malformed header", func(t *testing.T) {
		rawStream(t, []byte("SLCH\x01\x05{bad}"))
		if len(b.logs.find("WARN", "bad header", "peer=tm-a")) == 0 {
			t.Error("the bad header was not logged with the peer")
		}
		sendGood(t)
	})
	t.Run("wrong magic", func(t *testing.T) {
		rawStream(t, []byte("HTTP/1.1 200 OK\r\n"))
		sendGood(t)
	})
	t.Run("header that does not fit the inbox", func(t *testing.T) {
		hdr, _ := encodeStreamHeader(header("job", 0, channels+1, 0, 2))
		rawStream(t, hdr)
		sendGood(t)
	})
	t.Run("unknown frame kind", func(t *testing.T) {
		badFrame(t, 1, frameBytes(9, 0, nil))
		if len(b.logs.find("WARN", "bad frame", "unknown frame kind", "peer=tm-a", "inbox=job/0/sink/0", "channel=1")) == 0 {
			t.Error("the bad frame was not logged with the peer and inbox")
		}
		sendGood(t)
	})
	t.Run("frame over MaxFramePayload", func(t *testing.T) {
		badFrame(t, 2, frameBytes(kindRecords, MaxFramePayload+1, nil))
		if len(b.logs.find("WARN", "too large", "peer=tm-a")) == 0 {
			t.Error("the long frame was not logged")
		}
		sendGood(t)
	})
	t.Run("second stream for a channel", func(t *testing.T) {
		// Channel 0 is fed by the good stream already.
		badFrame(t, 0, nil)
		sendGood(t)
	})
	if err := good.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPeerDeathEndsStreamsAndRedials(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	ctx := context.Background()
	h := header("job", 0, 1, 0, 2)
	out, err := a.Open(ctx, "tm-b", b.Addr(), h, nil) // a → b
	if err != nil {
		t.Fatal(err)
	}
	inA, _ := a.x.Inbox(h.Inbox, 1, 2)
	if _, err := b.Open(ctx, "tm-a", a.Addr(), h, nil); err != nil { // b → a
		t.Fatal(err)
	}
	waitFor(t, "a's inbound stream to attach", func() bool { return a.attachedStreams() == 1 })

	b.stop(t)

	waitFor(t, "a to drop the session", func() bool { return a.Sessions() == 0 && a.sessionTo("tm-b") == nil })
	waitFor(t, "a's inbound stream to end", func() bool { return a.attachedStreams() == 0 })
	waitFor(t, "a's outbound stream to end", func() bool {
		select {
		case <-out.gone:
			return true
		default:
			return false
		}
	})
	if err := out.Send(EventNone, []byte("x")); !errors.Is(err, ErrStreamReset) {
		t.Fatalf("Send to a dead peer: %v, want ErrStreamReset", err)
	}
	select {
	case buf := <-inA.Queue():
		t.Fatalf("a's inbox got %v from a dead stream", buf.Event)
	default:
	}

	// The peer comes back at a new address; the next Open dials again.
	b2 := startPlane(t, "tm-b")
	in2, _ := b2.x.Inbox(h.Inbox, 1, 2)
	rc, err := a.Open(ctx, "tm-b", b2.Addr(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sendFrames(rc, 5, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := checkFrames(in2, 5, 10); err != nil {
		t.Fatal(err)
	}
	if a.Sessions() != 1 || b2.accepted.Load() != 1 {
		t.Fatalf("after redial: %d sessions, %d accepted", a.Sessions(), b2.accepted.Load())
	}
}

func TestInboxCloseStopsTheReader(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	ctx := context.Background()
	gone := func(rc *RemoteChannel) func() bool {
		return func() bool {
			select {
			case <-rc.gone:
				return true
			default:
				return false
			}
		}
	}

	t.Run("waiting for a credit", func(t *testing.T) {
		h := header("credit", 0, 1, 0, 1)
		in, _ := b.x.Inbox(h.Inbox, 1, 1)
		rc, err := a.Open(ctx, "tm-b", b.Addr(), h, nil)
		if err != nil {
			t.Fatal(err)
		}
		for seq := range 3 {
			if err := rc.Send(EventNone, testPayload(0, 0, seq, 10)); err != nil {
				t.Fatal(err)
			}
		}
		// One credit: the reader delivers one frame, then waits.
		waitFor(t, "the first frame", func() bool { return len(in.Queue()) == 1 })
		in.Close()
		waitFor(t, "the reader to stop", func() bool { return b.attachedStreams() == 0 })
		waitFor(t, "the producer to see the reset", gone(rc))
		if err := rc.Send(EventNone, nil); !errors.Is(err, ErrStreamReset) {
			t.Fatalf("Send: %v, want ErrStreamReset", err)
		}
	})

	t.Run("idle, released by the exchange", func(t *testing.T) {
		h := header("idle", 0, 1, 0, 1)
		rc, err := a.Open(ctx, "tm-b", b.Addr(), h, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the stream to attach", func() bool { return b.attachedStreams() == 1 })
		b.x.Release("idle", 0)
		waitFor(t, "the reader to stop", func() bool { return b.attachedStreams() == 0 })
		waitFor(t, "the producer to see the reset", gone(rc))
	})
	if a.Sessions() != 1 {
		t.Fatal("the session did not survive")
	}
}

func TestRemoteChannelCloseAndSendErrors(t *testing.T) {
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	h := header("job", 0, 1, 0, 2)
	in, _ := b.x.Inbox(h.Inbox, 1, 2)
	ctx := context.Background()
	if _, err := a.Open(ctx, "tm-a", a.Addr(), h, nil); err == nil {
		t.Error("Open to itself succeeded")
	}
	if _, err := a.Open(ctx, "tm-b", b.Addr(), header("job", 0, 1, 1, 2), nil); err == nil {
		t.Error("Open with a channel out of range succeeded")
	}
	rc, err := a.Open(ctx, "tm-b", b.Addr(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(EventNone, make([]byte, MaxFramePayload+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized Send: %v, want ErrFrameTooLarge", err)
	}
	if err := rc.Send(EventNone, make([]byte, MaxFramePayload)); err != nil {
		t.Fatalf("Send of MaxFramePayload: %v", err)
	}
	// SendFrame takes the payload behind room for the header, which it
	// writes there; the frame is what Send would have sent.
	if err := rc.SendFrame(EventNone, make([]byte, FrameHeaderLen-1)); err == nil {
		t.Error("SendFrame of a frame without room for its header succeeded")
	}
	framed := append(make([]byte, FrameHeaderLen), "records"...)
	if err := rc.SendFrame(EventNone, framed); err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(EventEndOfStream, nil); err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(EventNone, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after end of stream: %v, want ErrClosed", err)
	}
	if err := rc.Close(); err != nil { // no second end of stream
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []Event{EventNone, EventNone, EventEndOfStream} {
		buf := <-in.Queue()
		if buf.Event != want {
			t.Fatalf("got %v, want %v", buf.Event, want)
		}
		if got := string(buf.Batch.(*Frame).Data); i == 1 && got != "records" {
			t.Fatalf("SendFrame's payload arrived as %q", got)
		}
		in.Recycle(buf)
	}
	select {
	case buf := <-in.Queue():
		t.Fatalf("unexpected %v after end of stream", buf.Event)
	default:
	}

	a.stop(t)
	if _, err := a.Open(ctx, "tm-b", b.Addr(), h, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close: %v, want ErrClosed", err)
	}
}

func TestOpenFailsForAnUnreachablePeer(t *testing.T) {
	a := startPlane(t, "tm-a", func(c *DataPlaneConfig) { c.DialTimeout = 200 * time.Millisecond })
	// A listener that never answers the hello.
	silent, err := NewDataPlane(DataPlaneConfig{ID: "tm-s", Exchange: NewExchange()})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close() // never Run: connections wait in the backlog
	_, err = a.Open(context.Background(), "tm-s", silent.Addr(), header("j", 0, 1, 0, 1), nil)
	if err == nil {
		t.Fatal("Open to a peer that never answers succeeded")
	}
	if a.Sessions() != 0 {
		t.Fatal("a failed dial left a session")
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	a, b := startPlane(t, "tm-a"), startPlane(t, "tm-b")
	ctx := context.Background()
	// A producer blocked on the window, a reader blocked on a credit, an
	// idle stream each way, and a dial in flight to a silent listener.
	h := header("job", 0, 2, 0, 1)
	b.x.Inbox(h.Inbox, 2, 1)
	rc, err := a.Open(ctx, "tm-b", b.Addr(), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		for {
			if err := rc.Send(EventNone, make([]byte, 32<<10)); err != nil {
				blocked <- err
				return
			}
		}
	}()
	h.Channel = 1
	if _, err := b.Open(ctx, "tm-a", a.Addr(), h, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Open(ctx, "tm-b", b.Addr(), h, nil); err != nil {
		t.Fatal(err)
	}
	silent, err := NewDataPlane(DataPlaneConfig{ID: "tm-s", Exchange: NewExchange()})
	if err != nil {
		t.Fatal(err)
	}
	dialing := make(chan error, 1)
	go func() {
		_, err := a.Open(ctx, "tm-s", silent.Addr(), header("j", 0, 1, 0, 1), nil)
		dialing <- err
	}()
	waitFor(t, "streams to attach", func() bool { return a.attachedStreams() == 1 && b.attachedStreams() == 2 })

	a.stop(t)
	b.stop(t)
	silent.Close()
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Send after Close: %v, want ErrClosed", err)
	}
	if err := <-dialing; err == nil {
		t.Error("Open during Close succeeded")
	}
	goleak.VerifyNone(t, before)
}
