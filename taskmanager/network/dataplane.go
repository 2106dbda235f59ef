package network

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// DataPlaneConfig configures a DataPlane.
type DataPlaneConfig struct {
	// ID is this TaskManager's id (required). Peers know each other by id:
	// it keys the session registry and breaks ties between simultaneous
	// dials.
	ID string
	// ListenAddr is the TCP address to listen on (default "127.0.0.1:0").
	ListenAddr string
	// Exchange is where inbound streams find their inboxes (required).
	Exchange *Exchange
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// StreamWindow is yamux's maximum receive window per inbound stream,
	// in bytes (default DefaultStreamWindow, at least MinStreamWindow):
	// how far a producer may run ahead of its consumer. Together with the
	// credits it bounds the memory a channel holds: credits × frame size
	// + StreamWindow. A busy channel needs a window of several frames to
	// keep the connection full.
	StreamWindow uint32
	// DialTimeout bounds dialing a peer, including the hello exchange and
	// waiting for the peer's connection when ours lost a simultaneous dial
	// (default 5 s). It also bounds how long an inbound connection or
	// stream may take to send its hello or stream header.
	DialTimeout time.Duration
	// TLS and ClientTLS, given together, put every connection under
	// mutual TLS: TLS is the server side, for the connections peers dial
	// (its certificate, and ClientCAs to verify theirs; the DataPlane
	// requires and verifies a client certificate whatever ClientAuth
	// says), ClientTLS the client side, for the connections this
	// DataPlane dials (the certificate it presents, and RootCAs to verify
	// the peer; ServerName defaults to the host of the peer's address).
	// The handshake comes before the hello, bounded by DialTimeout; a
	// peer that fails it is refused and logged.
	TLS, ClientTLS *tls.Config
}

// Stream windows: yamux's initial window is the least it accepts as a
// maximum; the default holds several of the largest frames a busy channel
// sends (stream.maxFrame, 256 KiB), so that the producer rarely waits for
// a window update.
const (
	MinStreamWindow     = 256 << 10
	DefaultStreamWindow = 2 << 20
	MaxStreamWindow     = 1 << 30
)

const (
	defaultListenAddr  = "127.0.0.1:0"
	defaultDialTimeout = 5 * time.Second
)

func (c *DataPlaneConfig) validate() error {
	if c.ID == "" {
		return errors.New("network: DataPlaneConfig.ID is empty; give the TaskManager's id")
	}
	if c.Exchange == nil {
		return errors.New("network: DataPlaneConfig.Exchange is nil")
	}
	if c.ListenAddr == "" {
		c.ListenAddr = defaultListenAddr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StreamWindow == 0 {
		c.StreamWindow = DefaultStreamWindow
	}
	if c.StreamWindow < MinStreamWindow || c.StreamWindow > MaxStreamWindow {
		return fmt.Errorf("network: DataPlaneConfig.StreamWindow %d is outside [%d, %d] (yamux's initial window to 1 GiB)",
			c.StreamWindow, MinStreamWindow, MaxStreamWindow)
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("network: DataPlaneConfig.DialTimeout %v is negative", c.DialTimeout)
	}
	if (c.TLS == nil) != (c.ClientTLS == nil) {
		return errors.New("network: DataPlaneConfig.TLS and ClientTLS go together: mutual TLS needs both sides")
	}
	if c.TLS != nil {
		if len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
			return errors.New("network: DataPlaneConfig.TLS has no certificate")
		}
		if len(c.ClientTLS.Certificates) == 0 && c.ClientTLS.GetClientCertificate == nil {
			return errors.New("network: DataPlaneConfig.ClientTLS has no certificate; peers require one")
		}
		c.TLS = c.TLS.Clone()
		c.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientTLS = c.ClientTLS.Clone()
	}
	return nil
}

// DataPlane carries channels between TaskManager processes. There is one per
// TaskManager process: it listens for peers, keeps one TCP connection (a
// yamux session) per peer TaskManager, opens a stream per remote channel
// (Open) and feeds inbound streams into the inboxes of its Exchange.
type DataPlane struct {
	cfg   DataPlaneConfig
	log   *slog.Logger
	ln    net.Listener
	yamux *yamux.Config // Logger is set per session

	ctx    context.Context // cancelled by Close; bounds dials
	cancel context.CancelFunc

	mu         sync.Mutex
	closed     bool
	running    bool
	closing    chan struct{}           // closed when Close starts
	closeDone  chan struct{}           // closed when Close has finished
	sessions   map[string]*session     // live sessions by peer id
	dials      map[string]*dialCall    // dials in flight by peer id
	changed    chan struct{}           // closed and replaced when sessions changes
	handshakes map[net.Conn]struct{}   // connections not yet handed to yamux
	attached   map[attachment]struct{} // inbox channels fed by a stream
	wg         sync.WaitGroup          // every goroutine the DataPlane started

	sent, received atomic.Int64
	accepted       atomic.Int64 // TCP connections accepted, for tests

	// testHookDialed, if set, runs after a dial has connected and before
	// it sends its hello; tests use it to hold dials in flight.
	testHookDialed func(peer string)
}

// NewDataPlane validates cfg and starts listening. Call Run to serve peers.
func NewDataPlane(cfg DataPlaneConfig) (*DataPlane, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("network: data plane %s: %w", cfg.ID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &DataPlane{
		cfg:        cfg,
		log:        cfg.Logger.With("tm", cfg.ID),
		ln:         ln,
		yamux:      yamuxConfig(cfg.StreamWindow),
		ctx:        ctx,
		cancel:     cancel,
		closing:    make(chan struct{}),
		closeDone:  make(chan struct{}),
		sessions:   make(map[string]*session),
		dials:      make(map[string]*dialCall),
		changed:    make(chan struct{}),
		handshakes: make(map[net.Conn]struct{}),
		attached:   make(map[attachment]struct{}),
	}
	return d, nil
}

// Addr returns the address the DataPlane listens on, for peers to dial.
func (d *DataPlane) Addr() string { return d.ln.Addr().String() }

// Run accepts connections from peers until ctx is done or Close is called,
// then closes the DataPlane. It returns nil after such a stop, or the error
// that stopped the listener. It must be called once.
func (d *DataPlane) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	if d.running {
		d.mu.Unlock()
		return errors.New("network: DataPlane.Run called twice")
	}
	d.running = true
	stopped := make(chan error, 1)
	d.spawnLocked(func() { stopped <- d.acceptConns() })
	d.mu.Unlock()

	var err error
	select {
	case <-ctx.Done():
	case <-d.closing:
	case err = <-stopped:
	}
	d.Close()
	return err
}

// acceptConns is the one goroutine accepting TCP connections. It never
// blocks on a peer: each connection's hello is read by its own goroutine.
func (d *DataPlane) acceptConns() error {
	var backoff time.Duration
	for {
		conn, err := d.ln.Accept()
		if err != nil {
			if d.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("network: data plane %s: listener: %w", d.cfg.ID, err)
			}
			// Other errors (out of file descriptors, aborted
			// handshakes) are transient: back off and retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			d.log.Warn("accepting a connection failed; retrying", "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-d.closing:
				return nil
			}
			continue
		}
		backoff = 0
		d.accepted.Add(1)
		// The TLS handshake, like the hello, happens in the
		// connection's own goroutine (acceptHello), under DialTimeout.
		c := d.wrap(conn, d.cfg.TLS, tls.Server)
		d.mu.Lock()
		ok := !d.closed
		if ok {
			d.handshakes[c] = struct{}{}
			d.spawnLocked(func() { d.acceptHello(c) })
		}
		d.mu.Unlock()
		if !ok {
			conn.Close()
			return nil
		}
	}
}

// Close stops the DataPlane: it closes the listener, every session and so
// every stream, and waits for all of its goroutines. Inbound streams end
// without end of stream; RemoteChannels return ErrClosed. Close is
// idempotent; later calls wait for the first to finish.
func (d *DataPlane) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		<-d.closeDone
		return nil
	}
	d.closed = true
	close(d.closing)
	sessions := make([]*session, 0, len(d.sessions))
	for _, s := range d.sessions {
		sessions = append(sessions, s)
	}
	conns := make([]net.Conn, 0, len(d.handshakes))
	for c := range d.handshakes {
		conns = append(conns, c)
	}
	d.notifyLocked()
	d.mu.Unlock()

	d.cancel()
	err := d.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	for _, c := range conns {
		c.Close()
	}
	for _, s := range sessions {
		s.ys.Close()
	}
	d.wg.Wait()
	close(d.closeDone)
	if err != nil {
		return fmt.Errorf("network: closing data plane %s: %w", d.cfg.ID, err)
	}
	return nil
}

// Sessions returns the number of live sessions, one per connected peer.
func (d *DataPlane) Sessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, s := range d.sessions {
		if !s.ys.IsClosed() {
			n++
		}
	}
	return n
}

// BytesSent returns the bytes written to peers' connections so far,
// including the framing of yamux and of this package.
func (d *DataPlane) BytesSent() int64 { return d.sent.Load() }

// BytesReceived returns the bytes read from peers' connections so far,
// including the framing of yamux and of this package.
func (d *DataPlane) BytesReceived() int64 { return d.received.Load() }

func (d *DataPlane) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// spawn runs f in a goroutine that Close waits for. Once the DataPlane is
// closed it runs nothing and returns false.
func (d *DataPlane) spawn(f func()) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.spawnLocked(f)
}

// spawnLocked is spawn with d.mu held.
func (d *DataPlane) spawnLocked(f func()) bool {
	if d.closed {
		return false
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f()
	}()
	return true
}

// notifyLocked wakes everyone waiting for the session registry to change.
func (d *DataPlane) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// attachment is one channel of one inbox; at most one stream feeds it.
type attachment struct {
	inbox   *Inbox
	channel int
}

// attach claims a channel for a stream; false means another stream has it.
func (d *DataPlane) attach(a attachment) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, taken := d.attached[a]; taken {
		return false
	}
	d.attached[a] = struct{}{}
	return true
}

func (d *DataPlane) detach(a attachment) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.attached, a)
}

// attachedStreams returns how many inbound streams feed inboxes (for tests).
func (d *DataPlane) attachedStreams() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.attached)
}

// wireConn is a peer connection as yamux sees it. It counts bytes into the
// DataPlane's stats, and it saves a syscall per data message: yamux's send
// loop (the connection's only writer) writes each message's 12-byte header
// and then its body with a separate Write, so wireConn holds a data header
// that announces a body and writes it together with that body (writev).
// The bytes and their order are unchanged; if yamux ever writes header and
// body at once, the header check no longer matches and writes pass through.
// Under TLS, wireConn is over the *tls.Conn and counts the bytes yamux
// sees; a held header and its body go into one Write, so one TLS record.
type wireConn struct {
	net.Conn          // the TCP connection, or a *tls.Conn over raw
	raw      net.Conn // the TCP connection under TLS; nil without TLS
	d        *DataPlane

	held    [yamuxHeaderLen]byte
	holding bool
	bufs    net.Buffers
	iov     [2][]byte // what bufs holds: the held header and the body
	joined  []byte    // under TLS: a held header and its body, one record
}

// maxJoined bounds the body a held header is copied together with under
// TLS; a larger one goes in a record of its own.
const maxJoined = 64 << 10

// yamuxHeaderLen is the size of a yamux message header: version, type,
// flags (2), stream id (4), length (4), big-endian.
const yamuxHeaderLen = 12

// wrap makes conn a wireConn, under TLS if cfg is set (tls.Server or
// tls.Client as side); the handshake is left to handshake.
func (d *DataPlane) wrap(conn net.Conn, cfg *tls.Config, side func(net.Conn, *tls.Config) *tls.Conn) *wireConn {
	if cfg == nil {
		return &wireConn{Conn: conn, d: d}
	}
	return &wireConn{Conn: side(conn, cfg), raw: conn, d: d}
}

// handshake runs the TLS handshake, if the connection has TLS, within
// ctx and the connection's deadline.
func (c *wireConn) handshake(ctx context.Context) error {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.HandshakeContext(ctx)
	}
	return nil
}

// Close closes the connection. Under TLS it closes the TCP connection
// at once, without a close_notify alert, which could wait up to 5 s for a
// peer that does not read; yamux has ended its streams by then, or the
// connection is being torn down.
func (c *wireConn) Close() error {
	if c.raw != nil {
		return c.raw.Close()
	}
	return c.Conn.Close()
}

func (c *wireConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.d.received.Add(int64(n))
	return n, err
}

func (c *wireConn) Write(b []byte) (int, error) {
	if c.holding && c.raw != nil && len(b) <= maxJoined {
		// A tls.Conn writes each Write as records of its own: join
		// header and body so that they go out in one.
		c.holding = false
		c.joined = append(append(c.joined[:0], c.held[:]...), b...)
		n, err := c.Conn.Write(c.joined)
		c.d.sent.Add(int64(n))
		return max(n-yamuxHeaderLen, 0), err
	}
	if c.holding {
		c.holding = false
		// WriteTo consumes the slice it is called on: point it at iov
		// afresh each time rather than growing a new one.
		c.iov = [2][]byte{c.held[:], b}
		c.bufs = c.iov[:]
		n, err := c.bufs.WriteTo(c.Conn)
		c.iov = [2][]byte{}
		c.d.sent.Add(n)
		return max(int(n)-yamuxHeaderLen, 0), err
	}
	if isYamuxDataHeader(b) {
		copy(c.held[:], b)
		c.holding = true
		return len(b), nil
	}
	n, err := c.Conn.Write(b)
	c.d.sent.Add(int64(n))
	return n, err
}

// isYamuxDataHeader reports whether b is exactly the header of a yamux data
// message (version 0, type 0) with a non-empty body, which must follow.
func isYamuxDataHeader(b []byte) bool {
	return len(b) == yamuxHeaderLen && b[0] == 0 && b[1] == 0 && binary.BigEndian.Uint32(b[8:]) > 0
}
