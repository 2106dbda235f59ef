package network

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

// yamux settings that are not configurable.
const (
	// acceptBacklog bounds the streams waiting for AcceptStream and the
	// streams one side may have opened but not yet seen acknowledged. Our
	// stream accept loop only hands streams to goroutines, so the backlog
	// stays short; it is large so a burst of Opens (a job deployment) is
	// never reset for exceeding it.
	acceptBacklog = 1024
	// keepAliveInterval is how often an idle session pings its peer; a
	// ping unanswered within connectionWriteTimeout ends the session, so a
	// dead peer is noticed within about 15 s even without traffic.
	keepAliveInterval = 5 * time.Second
	// connectionWriteTimeout is the longest a frame may wait to be written
	// to the connection (not for the stream's window) before the write
	// fails.
	connectionWriteTimeout = 10 * time.Second
	// streamOpenTimeout is the longest an opened stream may wait for its
	// acknowledgement; yamux closes the whole session after it, which is
	// why the accept loops must never block.
	streamOpenTimeout = 30 * time.Second
)

// yamuxConfig returns the session configuration, set field by field rather
// than from yamux.DefaultConfig so that nothing (like logging to stderr)
// comes from a default.
func yamuxConfig(window uint32) *yamux.Config {
	return &yamux.Config{
		AcceptBacklog:          acceptBacklog,
		EnableKeepAlive:        true,
		KeepAliveInterval:      keepAliveInterval,
		ConnectionWriteTimeout: connectionWriteTimeout,
		MaxStreamWindowSize:    window,
		StreamOpenTimeout:      streamOpenTimeout,
		// No close timeout: after a producer's graceful Close its last
		// frames may sit unread for as long as the consumer applies
		// backpressure, and yamux's timeout would reset the stream and
		// drop them. Both ends always close their streams, and a session
		// that dies closes all of its streams.
		StreamCloseTimeout: 0,
		Logger:             yamuxLogger{slog.New(slog.DiscardHandler)},
	}
}

// session is a yamux session over the one TCP connection to a peer.
type session struct {
	peer   string
	ys     *yamux.Session
	dialed bool // this side dialed the connection
}

// dialer returns the id of the TaskManager that dialed the connection.
func (s *session) dialer(self string) string {
	if s.dialed {
		return self
	}
	return s.peer
}

// dialCall is one dial in flight; concurrent Opens to a peer share it.
type dialCall struct {
	done chan struct{} // closed when sess and err are set
	sess *session
	err  error
	lost bool // the peer refused the connection as a duplicate (under d.mu)
}

// session returns the live session to peer, dialing addr if there is none.
// Concurrent callers share one dial.
func (d *DataPlane) session(ctx context.Context, peer, addr string) (*session, error) {
	for dials := 1; ; dials++ {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, ErrClosed
		}
		if s := d.sessions[peer]; s != nil {
			if !s.ys.IsClosed() {
				d.mu.Unlock()
				return s, nil
			}
			// Dead but not yet dropped by its accept loop.
			d.dropLocked(s)
		}
		call := d.dials[peer]
		if call == nil {
			call = &dialCall{done: make(chan struct{})}
			d.dials[peer] = call
			d.spawnLocked(func() { d.dial(call, peer, addr) })
		}
		d.mu.Unlock()

		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("network: connecting to %s: %w", peer, ctx.Err())
		}
		if call.err != nil {
			return nil, call.err
		}
		if !call.sess.ys.IsClosed() {
			return call.sess, nil
		}
		// The session died already; dial again, but not forever.
		if dials == 3 {
			return nil, fmt.Errorf("network: sessions to %s keep closing as soon as they start: %w", peer, yamux.ErrSessionShutdown)
		}
	}
}

// dial runs one dial for the Opens sharing call.
func (d *DataPlane) dial(call *dialCall, peer, addr string) {
	s, err := d.dialPeer(call, peer, addr)
	d.mu.Lock()
	if d.dials[peer] == call {
		delete(d.dials, peer)
	}
	call.sess, call.err = s, err
	close(call.done)
	d.mu.Unlock()
}

// dialPeer connects to peer, says hello and starts the session, or, if the
// peer refuses the connection as a duplicate, waits for the peer's own
// connection to register. DialTimeout bounds all of it.
func (d *DataPlane) dialPeer(call *dialCall, peer, addr string) (*session, error) {
	deadline := time.Now().Add(d.cfg.DialTimeout)
	ctx, cancel := context.WithDeadline(d.ctx, deadline)
	defer cancel()
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		if d.isClosed() {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("network: dialing %s at %s: %w", peer, addr, err)
	}
	conn := d.wrap(raw, d.clientTLS(addr), tls.Client)
	d.mu.Lock()
	ok := !d.closed
	if ok {
		d.handshakes[conn] = struct{}{}
	}
	d.mu.Unlock()
	if !ok {
		conn.Close()
		return nil, ErrClosed
	}

	var answer byte
	if err = conn.handshake(ctx); err != nil {
		err = fmt.Errorf("TLS: %w", err)
	} else {
		// Under TLS 1.3 a peer that refuses our certificate says so
		// only now, when the answer is read.
		answer, err = d.sayHello(conn, peer, deadline)
	}

	d.mu.Lock()
	delete(d.handshakes, conn)
	if d.closed {
		d.mu.Unlock()
		conn.Close()
		return nil, ErrClosed
	}
	if err != nil {
		d.mu.Unlock()
		conn.Close()
		return nil, fmt.Errorf("network: handshake with %s at %s: %w", peer, addr, err)
	}
	if answer == helloDuplicate {
		call.lost = true
		d.mu.Unlock()
		conn.Close()
		d.log.Debug("peer kept its own connection", "peer", peer)
		return d.awaitSession(peer, deadline)
	}
	s, old, err := d.startSessionLocked(conn, peer, true)
	d.mu.Unlock()
	if old != nil {
		d.log.Warn("replacing a stale session", "peer", peer)
		old.ys.Close()
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// clientTLS returns the client side's TLS configuration for a dial to
// addr, naming its host as the server unless ClientTLS names one; nil
// without TLS.
func (d *DataPlane) clientTLS(addr string) *tls.Config {
	if d.cfg.ClientTLS == nil {
		return nil
	}
	c := d.cfg.ClientTLS.Clone()
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.ServerName = host
		}
	}
	return c
}

// sayHello sends the hello on a dialed connection and returns the answer.
func (d *DataPlane) sayHello(conn net.Conn, peer string, deadline time.Time) (byte, error) {
	if err := conn.SetDeadline(deadline); err != nil {
		return 0, err
	}
	if d.testHookDialed != nil {
		d.testHookDialed(peer)
	}
	msg, err := appendPreamble(nil, helloMagic, hello{ID: d.cfg.ID}, maxHello)
	if err != nil {
		return 0, err
	}
	if _, err := conn.Write(msg); err != nil {
		return 0, err
	}
	var answer [1]byte
	if _, err := io.ReadFull(conn, answer[:]); err != nil {
		return 0, err
	}
	if answer[0] != helloAccepted && answer[0] != helloDuplicate {
		return 0, fmt.Errorf("%w: hello answer %d", ErrProtocol, answer[0])
	}
	return answer[0], conn.SetDeadline(time.Time{})
}

// awaitSession waits until a session to peer is registered, up to deadline.
func (d *DataPlane) awaitSession(peer string, deadline time.Time) (*session, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, ErrClosed
		}
		if s := d.sessions[peer]; s != nil && !s.ys.IsClosed() {
			d.mu.Unlock()
			return s, nil
		}
		changed := d.changed
		d.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return nil, fmt.Errorf("network: %s refused our connection as a duplicate, and its own did not arrive: %w", peer, context.DeadlineExceeded)
		}
	}
}

// acceptHello handles one accepted connection: it reads the dialer's hello,
// answers, and starts the session unless the connection is a duplicate.
func (d *DataPlane) acceptHello(conn *wireConn) {
	release := func() {
		d.mu.Lock()
		delete(d.handshakes, conn)
		d.mu.Unlock()
		conn.Close()
	}
	remote := conn.RemoteAddr().String()
	if err := conn.SetDeadline(time.Now().Add(d.cfg.DialTimeout)); err != nil {
		release()
		return
	}
	if err := conn.handshake(d.ctx); err != nil {
		var ne net.Error
		switch {
		case d.isClosed():
		case errors.Is(err, io.EOF) || errors.As(err, &ne) && ne.Timeout():
			d.log.Debug("connection ended before its TLS handshake", "remote", remote, "err", err)
		default:
			// A peer without TLS, or without a certificate of the CA.
			d.log.Warn("rejecting a connection: TLS handshake failed", "remote", remote, "err", err)
		}
		release()
		return
	}
	h, err := readHello(conn)
	if err == nil && h.ID == d.cfg.ID {
		err = fmt.Errorf("%w: hello from a peer with our own id", ErrProtocol)
	}
	if err != nil {
		switch {
		case errors.Is(err, ErrProtocol):
			d.log.Warn("rejecting a connection", "remote", remote, "err", err)
		case !d.isClosed():
			d.log.Debug("connection ended before its hello", "remote", remote, "err", err)
		}
		release()
		return
	}

	d.mu.Lock()
	delete(d.handshakes, conn)
	if d.closed {
		d.mu.Unlock()
		conn.Close()
		return
	}
	answer := d.decideLocked(h.ID)
	// The answer is written with the lock held so that deciding and
	// registering the session are one step for every other dial, hello
	// and Open. It is the first byte written to a fresh connection, so it
	// goes into an empty socket buffer and does not block (and the
	// deadline bounds it regardless).
	_, err = conn.Write([]byte{answer})
	if err == nil {
		err = conn.SetDeadline(time.Time{})
	}
	if err != nil || answer == helloDuplicate {
		d.mu.Unlock()
		conn.Close()
		if err != nil {
			d.log.Debug("answering a hello failed", "peer", h.ID, "remote", remote, "err", err)
		} else {
			d.log.Debug("refused a duplicate connection", "peer", h.ID, "remote", remote)
		}
		return
	}
	_, old, err := d.startSessionLocked(conn, h.ID, false)
	d.mu.Unlock()
	if old != nil {
		d.log.Warn("replacing a stale session", "peer", h.ID)
		old.ys.Close()
	}
	if err != nil {
		d.log.Warn("starting a session failed", "peer", h.ID, "err", err)
		conn.Close()
	}
}

// decideLocked answers a hello from peer. There must be one connection per
// pair of TaskManagers; when both dial each other at once, the connection
// dialed by the lower id wins on both sides:
//
//   - If we are dialing peer too and our id is lower, our connection wins:
//     refuse theirs. (If our id is higher, accept theirs; the peer refuses
//     ours, and our dial then waits for this session.)
//   - If we have a live session that the lower id dialed, it is the winner
//     of such a race: refuse. Any other live session must be stale: a peer
//     that accepted or won a connection keeps using it rather than dialing,
//     so it dials only after losing it. Accept, replacing ours.
func (d *DataPlane) decideLocked(peer string) byte {
	lower := min(d.cfg.ID, peer)
	if s := d.sessions[peer]; s != nil && !s.ys.IsClosed() {
		if s.dialer(d.cfg.ID) == lower {
			return helloDuplicate
		}
		return helloAccepted
	}
	if call := d.dials[peer]; call != nil && !call.lost && lower == d.cfg.ID {
		return helloDuplicate
	}
	return helloAccepted
}

// startSessionLocked runs yamux over conn, registers the session and starts
// its stream accept loop. It returns the session it replaced, if any, for
// the caller to close once d.mu is released.
func (d *DataPlane) startSessionLocked(conn net.Conn, peer string, dialed bool) (s, old *session, err error) {
	cfg := d.yamux.Clone()
	cfg.Logger = yamuxLogger{d.log.With("peer", peer)}
	var ys *yamux.Session
	if dialed {
		ys, err = yamux.Client(conn, cfg)
	} else {
		ys, err = yamux.Server(conn, cfg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("network: starting a session with %s: %w", peer, err)
	}
	s = &session{peer: peer, ys: ys, dialed: dialed}
	old = d.sessions[peer]
	d.sessions[peer] = s
	d.notifyLocked()
	d.spawnLocked(func() { d.acceptStreams(s) })
	d.log.Debug("session started", "peer", peer, "dialed", dialed, "remote", conn.RemoteAddr().String())
	return s, old, nil
}

// acceptStreams is a session's one AcceptStream loop. It only hands each
// stream to a goroutine: a stream not accepted within yamux's
// StreamOpenTimeout would make the opener close the whole session. When
// the session ends, it drops it from the registry.
func (d *DataPlane) acceptStreams(s *session) {
	for {
		st, err := s.ys.AcceptStream()
		if err != nil {
			if s.ys.IsClosed() {
				break
			}
			d.log.Debug("accepting a stream failed", "peer", s.peer, "err", err)
			continue
		}
		if !d.spawn(func() { d.serveStream(s, st) }) {
			st.Close()
		}
	}
	d.mu.Lock()
	d.dropLocked(s)
	d.mu.Unlock()
	s.ys.Close()
	d.log.Debug("session ended", "peer", s.peer)
}

// dropLocked removes s from the registry if it is still registered.
func (d *DataPlane) dropLocked(s *session) {
	if d.sessions[s.peer] == s {
		delete(d.sessions, s.peer)
		d.notifyLocked()
	}
}

// sessionTo returns the registered session to peer, or nil (for tests).
func (d *DataPlane) sessionTo(peer string) *session {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sessions[peer]
}

// errSessionGone reports whether err means the session can carry no more
// streams.
func errSessionGone(err error) bool {
	return errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, yamux.ErrRemoteGoAway)
}

// yamuxLogger routes yamux's log lines to slog. yamux reports connection
// trouble that the DataPlane also sees and handles (a dead session, a reset
// stream), so its errors are logged as warnings and the rest as debug.
type yamuxLogger struct{ log *slog.Logger }

func (l yamuxLogger) Print(v ...any)                 { l.emit(fmt.Sprint(v...)) }
func (l yamuxLogger) Printf(format string, v ...any) { l.emit(fmt.Sprintf(format, v...)) }
func (l yamuxLogger) Println(v ...any)               { l.emit(fmt.Sprintln(v...)) }

func (l yamuxLogger) emit(msg string) {
	msg = strings.TrimSpace(msg)
	level := slog.LevelDebug
	if strings.HasPrefix(msg, "[ERR]") {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, msg, "component", "yamux")
}
