package network

import (
	"errors"
	"io"
	"time"

	"github.com/hashicorp/yamux"
)

// serveStream reads one inbound stream into its inbox channel: the header,
// then frames, each read only after a credit has been acquired for it. So a
// consumer that does not recycle stops this reader, the stream's yamux
// window fills, and the producer's writes block: backpressure reaches
// exactly this channel's producer, and the channel holds at most credits ×
// frame size plus one window of memory.
//
// A stream that breaks the protocol is reset (closed from this end, which
// the producer sees as ErrStreamReset) and logged; the session and its other
// streams go on. A stream whose inbox is closed, or whose session or
// producer goes away, ends quietly: the JobManager handles such failures.
func (d *DataPlane) serveStream(s *session, st *yamux.Stream) {
	// yamux has no way to send a reset, so a stream is "reset" by closing
	// it from this end; closing after the end of stream is the normal
	// half of a graceful close.
	defer st.Close()
	log := d.log.With("peer", s.peer, "stream", st.StreamID())

	if err := st.SetReadDeadline(time.Now().Add(d.cfg.DialTimeout)); err != nil {
		return
	}
	h, err := readStreamHeader(st)
	if err != nil {
		if errors.Is(err, ErrProtocol) {
			if h.Inbox.Job != "" { // it parsed, but did not validate
				log = log.With("inbox", h.Inbox.String())
			}
			log.Warn("resetting a stream with a bad header", "err", err)
		} else {
			log.Debug("stream ended before its header", "err", err)
		}
		return
	}
	if err := st.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	// What follows is on behalf of the consumer subtask that owns the inbox.
	log = log.With(h.Inbox.LogAttrs()...).With("inbox", h.Inbox.String(), "channel", h.Channel)
	inbox, err := d.cfg.Exchange.Inbox(h.Inbox, h.Channels, h.Credits)
	if err != nil {
		log.Warn("resetting a stream for an inbox it does not fit", "err", err)
		return
	}
	at := attachment{inbox: inbox, channel: h.Channel}
	if !d.attach(at) {
		log.Warn("resetting a second stream for a channel that already has one")
		return
	}
	defer d.detach(at)

	// A reader parked in Read (an idle producer) stops when the inbox
	// closes too, not only one waiting for a credit.
	stop := make(chan struct{})
	defer close(stop)
	if !d.spawn(func() {
		select {
		case <-inbox.Done():
			st.SetReadDeadline(time.Unix(1, 0))
		case <-stop:
		}
	}) {
		return
	}

	ch := inbox.Channel(h.Channel)
	var hdr [FrameHeaderLen]byte
	for {
		batch, err := ch.Acquire(s.ys.CloseChan())
		if err != nil {
			log.Debug("stream stopped", "reason", stopReason(inbox, s))
			return
		}
		f, _ := batch.(*Frame)
		if f == nil {
			f = new(Frame)
		}
		ev, err := readFrame(st, f, &hdr)
		if err != nil {
			// Give the credit back, so a later stream for this
			// channel has all of them.
			inbox.Recycle(Buffer{Channel: h.Channel, Batch: f})
			switch {
			case errors.Is(err, ErrProtocol):
				log.Warn("resetting a stream with a bad frame", "err", err)
			case err == io.EOF:
				log.Debug("stream ended without end of stream")
			default:
				log.Debug("stream stopped", "reason", stopReason(inbox, s), "err", err)
			}
			return
		}
		switch ev {
		case EventBarrier:
			ch.SendBarrier(barrierID(f), f)
			continue
		case EventWatermark:
			ch.SendWatermark(watermarkOf(f), f)
			continue
		}
		ch.Send(ev, f)
		if ev == EventEndOfStream {
			log.Debug("stream ended")
			return
		}
	}
}

// stopReason names why a stream stopped other than by its producer.
func stopReason(in *Inbox, s *session) string {
	select {
	case <-in.Done():
		return "inbox closed"
	default:
	}
	if s.ys.IsClosed() {
		return "session closed"
	}
	return "stream failed"
}
