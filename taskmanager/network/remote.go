package network

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// RemoteChannel is the producer end of a channel whose consumer runs on
// another TaskManager: a yamux stream that carries frames. It is used by one
// producer goroutine; Abort may be called from any goroutine.
type RemoteChannel struct {
	d      *DataPlane
	log    *slog.Logger
	st     *yamux.Stream
	peer   string
	header StreamHeader

	buf     []byte // frame being written (producer goroutine)
	ended   bool   // end of stream sent (producer goroutine)
	closed  bool   // Close called (producer goroutine)
	aborted atomic.Bool
	gone    chan struct{} // closed when the consumer end is gone

	// Set by Count: where record payload bytes and the time spent in
	// writes are added up (the producer's metrics).
	bytes   *atomic.Int64
	blocked *WaitTime
}

// Count makes Send add the payload bytes of every record frame to bytes
// and the time each write takes, which is long while the consumer's
// window is exhausted, to blocked. Either may be nil. The producer calls
// it before its first Send.
func (c *RemoteChannel) Count(bytes *atomic.Int64, blocked *WaitTime) {
	c.bytes, c.blocked = bytes, blocked
}

// Open opens a stream to the consumer on TaskManager peerID at peerAddr and
// writes the header. The first Open to a peer dials it; later ones, and
// concurrent ones, share the session. ctx bounds waiting for the session.
// log is the producer subtask's logger, which the channel logs to (nil:
// the DataPlane's).
func (d *DataPlane) Open(ctx context.Context, peerID, peerAddr string, h StreamHeader, log *slog.Logger) (*RemoteChannel, error) {
	switch {
	case peerID == "":
		return nil, errors.New("network: Open: empty peer id")
	case peerID == d.cfg.ID:
		return nil, fmt.Errorf("network: Open: %s is this TaskManager; use the Exchange for local consumers", peerID)
	}
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("network: Open: invalid stream header: %w", err)
	}
	header, err := encodeStreamHeader(h)
	if err != nil {
		return nil, err
	}
	for retried := false; ; retried = true {
		s, err := d.session(ctx, peerID, peerAddr)
		if err != nil {
			return nil, err
		}
		st, err := s.ys.OpenStream()
		if err != nil {
			if errSessionGone(err) && !retried {
				continue // it died since we looked it up; dial again
			}
			if d.isClosed() {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("network: opening a stream to %s: %w", peerID, err)
		}
		if _, err := st.Write(header); err != nil {
			st.Close()
			if d.isClosed() {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("network: writing the stream header to %s: %w", peerID, err)
		}
		if log == nil {
			log = d.log
		}
		c := &RemoteChannel{d: d, log: log, st: st, peer: peerID, header: h, gone: make(chan struct{})}
		if !d.spawn(c.watch) {
			st.Close()
			return nil, ErrClosed
		}
		return c, nil
	}
}

// watch waits for the consumer end to go away. The consumer never writes to
// the stream, so Read returns only when the consumer closes its end (after
// the end of stream, or to reset the stream), when the session ends, or when
// Abort sets a deadline. Then it marks the channel gone and closes this end,
// which wakes a Send blocked on the window.
func (c *RemoteChannel) watch() {
	var b [1]byte
	_, err := c.st.Read(b[:])
	close(c.gone)
	c.st.Close()
	c.log.Debug("remote channel finished", "peer", c.peer, "inbox", c.header.Inbox.String(),
		"channel", c.header.Channel, "err", err)
}

// Send writes one frame: records (EventNone), the end of stream, whose
// payload is usually empty, or another event with its payload (see
// SendBarrier and SendWatermark; EventIdle and EventActive have none). It blocks while the stream's window is
// exhausted, that is while the consumer applies backpressure. The payload
// may be at most MaxFramePayload bytes and may be reused once Send returns.
//
// Send returns ErrClosed after Abort or Close, or once the DataPlane is
// closed, and ErrStreamReset once the consumer end is gone.
func (c *RemoteChannel) Send(ev Event, payload []byte) error {
	if len(payload) > MaxFramePayload { // before copying it anywhere
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(payload), MaxFramePayload)
	}
	// One Write per frame: header and payload go to yamux together, so a
	// frame costs one yamux data message per window's worth.
	n := FrameHeaderLen + len(payload)
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	frame := c.buf[:n]
	copy(frame[FrameHeaderLen:], payload)
	return c.SendFrame(ev, frame)
}

// SendFrame is Send for a producer that serializes its records behind
// FrameHeaderLen bytes of room it leaves for the header: frame is that
// room and then the payload. SendFrame writes the header into the room and
// the frame to the stream as it is, saving Send's copy of the payload. The
// frame may be reused once SendFrame returns.
func (c *RemoteChannel) SendFrame(ev Event, frame []byte) error {
	if len(frame) < FrameHeaderLen {
		return fmt.Errorf("network: a frame of %d bytes has no room for its %d-byte header", len(frame), FrameHeaderLen)
	}
	payload := len(frame) - FrameHeaderLen
	if c.aborted.Load() || c.closed {
		return ErrClosed
	}
	if c.ended {
		return fmt.Errorf("%w: send after end of stream", ErrClosed)
	}
	if ev > EventActive {
		return fmt.Errorf("network: event %d cannot be sent to a remote channel", ev)
	}
	if want, fixed := eventPayload(ev); fixed && payload != want {
		// The reader would reset the stream for such a frame.
		return fmt.Errorf("network: %s frame needs %d payload bytes, got %d", eventName(ev), want, payload)
	}
	if payload > MaxFramePayload {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, payload, MaxFramePayload)
	}
	select {
	case <-c.gone:
		return c.sendErr(nil)
	default:
	}
	// Frames are capped at MaxFramePayload, and yamux queues one chunk of
	// at most the window per stream at a time, so streams sharing the
	// connection take turns chunk by chunk: one stream's large writes
	// cannot starve the others.
	putFrameHeader(frame, ev, payload)
	if err := c.write(frame); err != nil {
		return c.sendErr(err)
	}
	if ev == EventNone && c.bytes != nil {
		c.bytes.Add(int64(payload))
	}
	if ev == EventEndOfStream {
		c.ended = true
	}
	return nil
}

// write writes one frame, timing it if Count asked for it.
func (c *RemoteChannel) write(frame []byte) error {
	if c.blocked == nil {
		_, err := c.st.Write(frame)
		return err
	}
	c.blocked.begin()
	_, err := c.st.Write(frame)
	c.blocked.end()
	return err
}

// SendBarrier writes the barrier of checkpoint id.
func (c *RemoteChannel) SendBarrier(id int64) error {
	var p [barrierPayload]byte
	binary.LittleEndian.PutUint64(p[:], uint64(id))
	return c.Send(EventBarrier, p[:])
}

// SendWatermark writes watermark wm.
func (c *RemoteChannel) SendWatermark(wm int64) error {
	var p [watermarkPayload]byte
	binary.LittleEndian.PutUint64(p[:], uint64(wm))
	return c.Send(EventWatermark, p[:])
}

// sendErr classifies why a frame could not be written.
func (c *RemoteChannel) sendErr(err error) error {
	switch {
	case c.aborted.Load():
		return ErrClosed
	case c.d.isClosed():
		return fmt.Errorf("%w: data plane closed", ErrClosed)
	case err == nil:
		return fmt.Errorf("%w: channel %d of %s on %s", ErrStreamReset, c.header.Channel, c.header.Inbox, c.peer)
	}
	// Any failed write leaves the stream unusable (part of the frame may
	// have gone out), whatever the cause.
	return fmt.Errorf("%w: channel %d of %s on %s: %w", ErrStreamReset, c.header.Channel, c.header.Inbox, c.peer, err)
}

// Close ends the stream gracefully: it sends the end of stream unless Send
// already did, then closes the stream. It does not wait for the consumer to
// read the last frames. Close is idempotent; after Abort it returns
// ErrClosed.
func (c *RemoteChannel) Close() error {
	if c.closed {
		return nil
	}
	var err error
	if !c.ended {
		err = c.Send(EventEndOfStream, nil)
	}
	c.closed = true
	c.st.Close()
	return err
}

// Abort cancels the stream: a Send blocked on the window returns ErrClosed
// at once, as does every later Send, and the stream is reset, so the
// consumer sees it end without end of stream. Abort does not block; it may
// be called from any goroutine, also while Send runs, and more than once.
func (c *RemoteChannel) Abort() {
	c.aborted.Store(true)
	// Deadlines in the past wake both a Write waiting for the window and
	// the watcher's Read; the watcher then closes the stream (which may
	// wait for the connection, so it is not done here).
	past := time.Unix(1, 0)
	c.st.SetWriteDeadline(past)
	c.st.SetReadDeadline(past)
}
