// Package agent runs a TaskManager process: it starts the data plane,
// connects to the JobManager's control endpoint, registers the process's
// slots, artifact digest and job-graph fingerprint, heartbeats, and carries
// out the JobManager's commands. A job binary in taskmanager mode and
// cmd/taskmanager both run it.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/sluicehq/sluice/internal/metricsreg"
	"github.com/sluicehq/sluice/internal/metricsrv"
	"github.com/sluicehq/sluice/internal/tlsutil"
	"github.com/sluicehq/sluice/jobmanager/artifacts"
	"github.com/sluicehq/sluice/jobmanager/auth"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/ha"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/rpc"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/taskmanager"
	tmmetrics "github.com/sluicehq/sluice/taskmanager/metrics"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Environment variables a TaskManager process is configured with.
const (
	EnvMode          = "SLUICE_MODE"           // "taskmanager" makes a job binary a TaskManager
	ModeTaskManager  = "taskmanager"           //
	EnvParallelism   = "SLUICE_PARALLELISM"    // default parallelism the job is built with
	EnvJobManager    = "SLUICE_JOBMANAGER_RPC" // control address of the JobManager, host:port
	EnvID            = "SLUICE_TASKMANAGER_ID" // the TaskManager's id
	EnvSlots         = "SLUICE_SLOTS"          // number of slots
	EnvManagedMemory = "SLUICE_MANAGED_MEMORY" // bytes
	EnvStreamWindow  = "SLUICE_STREAM_WINDOW"  // bytes: the data plane's receive window per inbound stream
	EnvDataAddr      = "SLUICE_DATA_ADDR"      // listen address of the data plane
	EnvConsul        = "SLUICE_CONSUL"         // Consul agent address: find the leading JobManager there
	EnvConsulToken   = "SLUICE_CONSUL_TOKEN"   // its ACL token
	EnvCluster       = "SLUICE_CLUSTER"        // the cluster's name under the Consul prefix (default "default")
	EnvMetricsAddr   = "SLUICE_METRICS_ADDR"   // listen address of the Prometheus endpoint (GET /metrics); unset: none
	EnvToken         = "SLUICE_TOKEN"          // the token to register with (taskmanager right), when the JobManager checks tokens
	EnvForJob        = "SLUICE_FOR_JOB"        // the job a provider started this TaskManager for; it serves no other
	EnvLogLevel      = "SLUICE_LOG_LEVEL"      // debug, info (default), warn or error
	EnvLogFormat     = "SLUICE_LOG_FORMAT"     // text (default) or json
	EnvTLSCert       = "SLUICE_TLS_CERT"       // this TaskManager's certificate, PEM: presented to the JobManager and to peers, and served on the data plane (mutual TLS between TaskManagers)
	EnvTLSKey        = "SLUICE_TLS_KEY"        // the private key of SLUICE_TLS_CERT, PEM
	EnvTLSCA         = "SLUICE_TLS_CA"         // CA bundle, PEM: the JobManager's control endpoint is dialed with TLS and verified against it, and so are peers on the data plane
)

// EnvInt returns the whole number in environment variable name, read with
// getenv: 0 when it is unset or empty, an error naming the variable when
// it is not a non-negative whole number.
func EnvInt(getenv func(string) string, name string) (int64, error) {
	s := getenv(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number, 0 or more (unset for the default)", name, s)
	}
	return n, nil
}

// ErrRefused means the JobManager refused the registration.
var ErrRefused = errors.New("registration refused")

// Config configures a TaskManager process.
type Config struct {
	JobManager string // required
	// Token is sent when registering (default $SLUICE_TOKEN): a token
	// with the taskmanager right, or the job token a provider passed.
	Token         string
	ID            string // default: host-pid
	Slots         int    // default: number of CPUs
	ManagedMemory int64  // default 1 GiB
	// StreamWindow is the data plane's receive window per inbound stream,
	// in bytes (default network.DefaultStreamWindow): how far each remote
	// producer may run ahead of a consumer here.
	StreamWindow int64
	DataAddr     string // default 127.0.0.1:0
	// Program and Graph are the job code and the graph it builds.
	Program task.Program
	Graph   *jobgraph.Graph
	// Artifact is the sha256 of this executable (computed when empty).
	Artifact string
	// Discovery, if set, finds the leading JobManager (JobManager is then
	// ignored) and is watched for a new leader.
	Discovery ha.Discovery
	// MetricsAddr, if set, is where the TaskManager serves its Prometheus
	// metrics (GET /metrics; port 0 picks a free port). It tells the
	// JobManager the address when it registers.
	MetricsAddr string
	// Consul, if set with MetricsAddr, is the Consul agent (and
	// ConsulToken its ACL token, Cluster the cluster's name) the metrics
	// endpoint is registered with, as service sluice-taskmanager-metrics.
	Consul      string
	ConsulToken string
	Cluster     string
	// TLS is this TaskManager's TLS identity and CA (default: the files
	// $SLUICE_TLS_CERT, $SLUICE_TLS_KEY and $SLUICE_TLS_CA, field by
	// field). With any of them the control endpoint is dialed with TLS,
	// verified against CAFile (or the system's roots), presenting the
	// certificate if there is one; ServerName defaults to the host
	// dialed. With a certificate, the data plane runs mutual TLS: it
	// serves that certificate and requires peers to present one that
	// CAFile (or the system's roots) verifies.
	TLS    tlsutil.Config
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if c.JobManager == "" && c.Discovery == nil {
		return fmt.Errorf("agent: no JobManager address; set %s, or %s to find the leader through Consul", EnvJobManager, EnvConsul)
	}
	if c.Program == nil || c.Graph == nil {
		return errors.New("agent: Config.Program and Config.Graph are required")
	}
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.Slots == 0 {
		c.Slots = runtime.NumCPU()
	}
	if c.StreamWindow != 0 && (c.StreamWindow < network.MinStreamWindow || c.StreamWindow > network.MaxStreamWindow) {
		return fmt.Errorf("agent: stream window of %d bytes (%s); want %d (256 KiB) to %d (1 GiB)",
			c.StreamWindow, EnvStreamWindow, network.MinStreamWindow, network.MaxStreamWindow)
	}
	if c.Token == "" {
		c.Token = os.Getenv(EnvToken)
	}
	for _, f := range []struct {
		dst *string
		env string
	}{{&c.TLS.CertFile, EnvTLSCert}, {&c.TLS.KeyFile, EnvTLSKey}, {&c.TLS.CAFile, EnvTLSCA}} {
		if *f.dst == "" {
			*f.dst = os.Getenv(f.env)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return fmt.Errorf("agent: a TLS certificate needs its key and a key its certificate; set both %s and %s", EnvTLSCert, EnvTLSKey)
	}
	if c.DataAddr == "" {
		c.DataAddr = "127.0.0.1:0"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Artifact == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("agent: locating this executable: %w", err)
		}
		if c.Artifact, err = artifacts.Digest(exe); err != nil {
			return fmt.Errorf("agent: hashing this executable: %w", err)
		}
	}
	return nil
}

// Run runs the TaskManager until ctx is done. Without Discovery it serves
// the one JobManager at cfg.JobManager and returns when that connection
// ends. With Discovery it follows the leader: when its JobManager goes, it
// cancels its subtasks and registers with the next leader on its own.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.Logger.With("taskmanager", cfg.ID)
	tc, err := newTLS(cfg.TLS, log)
	if err != nil {
		return err
	}
	exchange := network.NewExchange()
	dp, err := network.NewDataPlane(network.DataPlaneConfig{ID: cfg.ID, ListenAddr: cfg.DataAddr, Exchange: exchange, Logger: log,
		StreamWindow: uint32(cfg.StreamWindow), TLS: tc.dataServer, ClientTLS: tc.dataClient})
	if err != nil {
		return fmt.Errorf("agent: data plane: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := dp.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("data plane stopped", "err", err)
		}
	}()
	defer func() {
		cancel()
		dp.Close()
		wg.Wait()
	}()
	a := &agent{cfg: cfg, log: log, dp: dp, tls: tc}
	a.tm, err = taskmanager.New(taskmanager.Config{
		ID: cfg.ID, Slots: cfg.Slots, Exchange: exchange, Logger: cfg.Logger, DataPlane: dp, // New adds taskmanager=ID
		ManagedMemory: cfg.ManagedMemory, Fingerprint: cfg.Graph.Fingerprint, Artifact: cfg.Artifact,
	}, a)
	if err != nil {
		return err
	}
	defer a.tm.Close()
	if cfg.MetricsAddr != "" {
		stop, err := a.serveMetrics()
		if err != nil {
			return err
		}
		defer stop()
	}
	if cfg.Discovery == nil {
		return a.serve(ctx, cfg.JobManager, nil)
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		leader, changed, stopWatch, err := a.awaitLeader(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.Warn("finding the leading JobManager", "err", err, "retry in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		err = a.serve(ctx, leader.RPC, changed)
		stopWatch()
		if ctx.Err() != nil {
			break
		}
		log.Warn("lost the JobManager; registering with the next leader", "jobmanager", leader.RPC, "err", err, "retry in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
		if a.registeredOnce.Swap(false) {
			backoff = 50 * time.Millisecond // it served: the next leader is likely up soon
		}
	}
	return nil
}

// agent is a TaskManager process across its registrations.
type agent struct {
	cfg   Config
	log   *slog.Logger
	tls   tlsConfigs
	dp    *network.DataPlane
	tm    *taskmanager.TaskManager
	cur   atomic.Pointer[session] // the registration reports go to
	epoch atomic.Uint64           // newest leadership epoch seen
	// registeredOnce: the last serve got as far as registering.
	registeredOnce atomic.Bool
	// metricsAddr is where the metrics are served, "" if nowhere.
	metricsAddr string
}

// tlsConfigs are a TaskManager's TLS configurations; nil fields mean no
// TLS there.
type tlsConfigs struct {
	control    *tls.Config // dialing the JobManager
	dataServer *tls.Config // the data plane, connections peers dial
	dataClient *tls.Config // the data plane, connections to peers
}

// newTLS builds the TLS configurations of c (see Config.TLS).
func newTLS(c tlsutil.Config, log *slog.Logger) (tlsConfigs, error) {
	var tc tlsConfigs
	if !c.Enabled() {
		return tc, nil
	}
	var err error
	if tc.control, err = tlsutil.Client(c); err != nil {
		return tc, fmt.Errorf("agent: %w (%s, %s, %s)", err, EnvTLSCert, EnvTLSKey, EnvTLSCA)
	}
	if c.CertFile == "" {
		log.Warn("TLS to the JobManager without a certificate of this TaskManager: the data plane runs without TLS", "ca", c.CAFile, "set", EnvTLSCert)
		return tc, nil
	}
	if tc.dataServer, err = tlsutil.Server(c); err != nil {
		return tc, fmt.Errorf("agent: data plane: %w (%s, %s, %s)", err, EnvTLSCert, EnvTLSKey, EnvTLSCA)
	}
	// Peers are dialed by their data address, not by the JobManager's
	// server name.
	peers := c
	peers.ServerName = ""
	if tc.dataClient, err = tlsutil.Client(peers); err != nil {
		return tc, fmt.Errorf("agent: data plane: %w", err)
	}
	log.Info("TLS to the JobManager and mutual TLS on the data plane", "cert", c.CertFile, "ca", c.CAFile)
	return tc, nil
}

// serveMetrics starts the metrics listener and, with Consul, registers it
// there; stop deregisters it and stops the listener.
func (a *agent) serveMetrics() (stop func(), err error) {
	reg := metricsrv.NewRegistry()
	reg.MustRegister(tmmetrics.NewCollector(a.tm))
	srv, err := metricsrv.Listen(a.cfg.MetricsAddr, reg, a.log)
	if err != nil {
		return nil, fmt.Errorf("agent: %s: %w", EnvMetricsAddr, err)
	}
	a.metricsAddr = srv.Addr()
	a.log.Info("serving metrics", "url", srv.URL())
	if a.cfg.Consul == "" {
		return func() { srv.Close() }, nil
	}
	r, err := metricsreg.Register(metricsreg.Config{
		Consul: a.cfg.Consul, Token: a.cfg.ConsulToken, Cluster: a.cfg.Cluster,
		Service: metricsreg.ServiceTaskManager, ID: metricsreg.ServiceTaskManager + "-" + a.cfg.ID, Addr: srv.Addr(),
		Meta:   map[string]string{"taskmanager": a.cfg.ID, "job_name": a.cfg.Graph.Name, "fingerprint": a.cfg.Graph.Fingerprint},
		Logger: a.log,
	})
	if err != nil {
		a.log.Warn("not registering the metrics endpoint with Consul", "err", err)
		return func() { srv.Close() }, nil
	}
	return func() {
		if err := r.Close(); err != nil {
			a.log.Warn("deregistering the metrics endpoint", "err", err)
		}
		srv.Close()
	}, nil
}

// awaitLeader waits for a leader, and returns it with a channel closed
// when another JobManager leads and the function that ends the watch
// behind it.
func (a *agent) awaitLeader(ctx context.Context) (ha.Leader, <-chan struct{}, func(), error) {
	wctx, stop := context.WithCancel(ctx)
	found := make(chan ha.Leader, 1)
	changed := make(chan struct{})
	done := make(chan struct{})
	end := func() { stop(); <-done }
	go func() {
		defer close(done)
		defer stop()
		var first ha.Leader
		seen, gone := false, false
		err := a.cfg.Discovery.Watch(wctx, func(l ha.Leader) {
			switch {
			case !seen && l.RPC != "":
				seen, first = true, l
				found <- l
			case seen && !gone && (l.RPC != first.RPC || l.Epoch != first.Epoch):
				gone = true
				close(changed)
				stop()
			}
		})
		if err != nil && wctx.Err() == nil {
			a.log.Warn("watching the leader", "err", err)
		}
	}()
	select {
	case l := <-found:
		return l, changed, end, nil
	case <-ctx.Done():
		end()
		return ha.Leader{}, nil, nil, ctx.Err()
	case <-wctx.Done():
		end()
		return ha.Leader{}, nil, nil, errors.New("the watch of the leader ended")
	}
}

// serve registers with the JobManager at addr and carries out its commands
// until the connection ends, ctx is done or changed is closed; then it
// cancels every subtask.
func (a *agent) serve(ctx context.Context, addr string, changed <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if changed != nil {
		go func() {
			select {
			case <-changed:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	cfg, log := a.cfg, a.log
	creds := insecure.NewCredentials()
	if a.tls.control != nil {
		creds = credentials.NewTLS(a.tls.control) // the server name is the host of addr unless TLS.ServerName says otherwise
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if cfg.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(auth.Bearer(cfg.Token)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return fmt.Errorf("agent: JobManager address %q: %w", addr, err)
	}
	defer conn.Close()
	stream, err := rpc.NewControlClient(conn).Connect(ctx)
	if err != nil {
		return a.connectError(ctx, addr, err)
	}
	s := &session{cfg: a.cfg, log: a.log, tm: a.tm, stream: stream, graphs: map[string]*jobgraph.Graph{}}
	tm := a.tm
	closeBackend := func() {}
	var wg sync.WaitGroup
	defer func() {
		cancel()
		a.cur.Store(nil)
		tm.CancelAll() // the next leader deploys afresh
		wg.Wait()
		closeBackend() // after the subtasks, which write snapshots, have stopped
	}()
	a.cur.Store(s)

	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Register{Register: &rpc.Register{
		Id: cfg.ID, Slots: int32(cfg.Slots), ManagedMemory: tm.Info().ManagedMemory, Artifact: cfg.Artifact,
		Fingerprint: cfg.Graph.Fingerprint, DataAddress: a.dp.Addr(), MetricsAddress: a.metricsAddr, Version: rpc.Version,
		ForJob: os.Getenv(EnvForJob),
	}}}); err != nil {
		if errors.Is(err, io.EOF) {
			// The server ended the stream; Recv says why (a refused
			// token, say).
			_, err = stream.Recv()
		}
		return a.registerError(ctx, addr, err)
	}
	first, err := stream.Recv()
	if err != nil {
		return a.registerError(ctx, addr, err)
	}
	reg := first.GetRegistered()
	if reg == nil {
		return fmt.Errorf("agent: the JobManager answered Register with %T", first.Msg)
	}
	if reg.GetError() != "" {
		return fmt.Errorf("agent: %w: %s", ErrRefused, reg.GetError())
	}
	if !a.admit(first) {
		return fmt.Errorf("agent: %w: the JobManager at %s leads an older epoch (%d) than one already seen", ErrRefused, addr, first.GetEpoch())
	}
	if sb := reg.GetStateBackend(); sb != nil {
		var b plugins.Backend
		b, closeBackend = openBackend(ctx, conn, sb, log)
		tm.SetSnapshots(b)
	}
	interval := time.Duration(reg.GetHeartbeatIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = time.Second
	}
	a.registeredOnce.Store(true)
	log.Info("registered", "jobmanager", addr, "epoch", first.GetEpoch(), "slots", cfg.Slots, "data", a.dp.Addr(), "heartbeat", interval)

	wg.Add(1)
	go func() {
		defer wg.Done()
		s.heartbeat(ctx, interval)
	}()
	for {
		m, err := stream.Recv()
		if err != nil {
			switch {
			case changed != nil && isClosed(changed):
				return errors.New("agent: another JobManager leads now")
			case ctx.Err() != nil:
				return nil
			}
			return fmt.Errorf("agent: lost the JobManager at %s: %w", addr, err)
		}
		if !a.admit(m) {
			log.Warn("refused a command from a deposed JobManager", "epoch", m.GetEpoch(), "newest", a.epoch.Load())
			continue
		}
		s.handle(m)
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// admit reports whether a message's epoch is at least the newest seen,
// and records it: commands of a deposed leader are refused.
func (a *agent) admit(m *rpc.JobManagerMessage) bool {
	e := m.GetEpoch()
	for {
		cur := a.epoch.Load()
		if e < cur {
			return false
		}
		if e == cur || a.epoch.CompareAndSwap(cur, e) {
			return true
		}
	}
}

// UpdateTask, AcknowledgeCheckpoint and DeclineCheckpoint forward the
// TaskManager's reports to the current registration; between two they are
// dropped (the next leader deploys afresh).
func (a *agent) UpdateTask(u task.Update) {
	if s := a.cur.Load(); s != nil {
		s.UpdateTask(u)
	}
}

func (a *agent) AcknowledgeCheckpoint(jobID string, attempt int, id int64, ack checkpoint.Ack) {
	if s := a.cur.Load(); s != nil {
		s.AcknowledgeCheckpoint(jobID, attempt, id, ack)
	}
}

func (a *agent) DeclineCheckpoint(jobID string, attempt int, id int64, who checkpoint.Subtask, reason string) {
	if s := a.cur.Load(); s != nil {
		s.DeclineCheckpoint(jobID, attempt, id, who, reason)
	}
}

// openBackend opens the state backend the JobManager named: its own,
// through the control connection, when it shares it; else a plugin process
// of this TaskManager. A backend that cannot be opened is logged, and every
// checkpoint and restore then fails with the reason.
func openBackend(ctx context.Context, conn *grpc.ClientConn, sb *rpc.StateBackend, log *slog.Logger) (plugins.Backend, func()) {
	if sb.GetShared() {
		log.Info("state backend", "backend", sb.GetName(), "via", "jobmanager")
		return plugins.NewShared(conn), func() {}
	}
	path := sb.GetPath()
	if !isFile(path) {
		// Not on this machine. A provider may have shipped it next to
		// this binary (Nomad does), else look it up by name here.
		var err error
		if exe, e := os.Executable(); e == nil && path != "" && isFile(filepath.Join(filepath.Dir(exe), filepath.Base(path))) {
			path = filepath.Join(filepath.Dir(exe), filepath.Base(path))
			// Downloads (Nomad artifacts) arrive without execute bits.
			if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o100 == 0 {
				if err := os.Chmod(path, st.Mode().Perm()|0o111); err != nil {
					log.Warn("making the shipped state backend executable", "path", path, "err", err)
				}
			}
		} else if path, err = plugins.Find(sb.GetName()); err != nil {
			log.Error("no state backend; checkpoints will fail", "err", err)
			return plugins.Unavailable(fmt.Errorf("this TaskManager has no state backend: %w", err)), func() {}
		}
	}
	c, err := plugins.Open(ctx, plugins.Config{Name: sb.GetName(), Path: path, Settings: sb.GetSettings(), Logger: log})
	if err != nil {
		log.Error("opening the state backend failed; checkpoints will fail", "err", err)
		return plugins.Unavailable(fmt.Errorf("this TaskManager could not open its state backend: %w", err)), func() {}
	}
	log.Info("state backend", "backend", sb.GetName(), "path", path)
	return c, func() { c.Close() }
}

// registerError explains a failed registration. A refused token is
// ErrRefused, so that the TaskManager exits rather than retrying: the
// same token will be refused again.
func (a *agent) registerError(ctx context.Context, addr string, err error) error {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return fmt.Errorf("agent: registering with %s: %w: %s; check the token (%s)", addr, ErrRefused, status.Convert(err).Message(), EnvToken)
	}
	if terr := a.tlsRefusal(ctx, addr, err); terr != nil {
		return fmt.Errorf("agent: registering with %s: %w", addr, terr)
	}
	return fmt.Errorf("agent: registering with %s: %w%s", addr, err, a.plainHint(err))
}

// connectError explains a failed connection to the JobManager.
func (a *agent) connectError(ctx context.Context, addr string, err error) error {
	if terr := a.tlsRefusal(ctx, addr, err); terr != nil {
		return fmt.Errorf("agent: connecting to the JobManager at %s: %w", addr, terr)
	}
	return fmt.Errorf("agent: connecting to the JobManager at %s: %w%s", addr, err, a.plainHint(err))
}

// tlsRefusal finds out whether a connection that failed with err failed
// for TLS, and returns ErrRefused saying why, or nil. gRPC's error does
// not always tell: under TLS 1.3 the JobManager refuses a client
// certificate (or its absence) after the client's side of the handshake
// is done, and the client may see a broken pipe before the alert. So it
// dials again and reads the JobManager's first bytes: its HTTP/2 settings
// if it accepts this TaskManager, its alert if not.
func (a *agent) tlsRefusal(ctx context.Context, addr string, err error) error {
	if a.tls.control == nil || status.Code(err) != codes.Unavailable {
		return nil
	}
	cfg := a.tls.control.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, perr := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if perr == nil {
		deadline, _ := ctx.Deadline()
		_ = conn.SetReadDeadline(deadline)
		_, perr = conn.Read(make([]byte, 1))
		conn.Close()
	}
	var verr *tls.CertificateVerificationError
	switch {
	case perr == nil:
		return nil
	case errors.As(perr, &verr):
		return fmt.Errorf("%w: TLS: this TaskManager does not trust the JobManager's certificate: %v; check %s", ErrRefused, perr, EnvTLSCA)
	case strings.Contains(perr.Error(), "remote error: tls:") && strings.Contains(perr.Error(), "certificate"):
		return fmt.Errorf("%w: TLS: the JobManager refused this TaskManager's certificate: %v; it needs one the JobManager's CA signed (%s, %s)", ErrRefused, perr, EnvTLSCert, EnvTLSKey)
	case strings.Contains(perr.Error(), "tls:") || strings.Contains(perr.Error(), "x509:"):
		return fmt.Errorf("%w: TLS: %v; check %s, %s and %s", ErrRefused, perr, EnvTLSCert, EnvTLSKey, EnvTLSCA)
	}
	return nil
}

// plainHint suggests TLS when a TaskManager without it failed the way a
// plain HTTP/2 client fails against a TLS server.
func (a *agent) plainHint(err error) string {
	msg := err.Error()
	if a.tls.control == nil && status.Code(err) == codes.Unavailable && (strings.Contains(msg, "preface") || strings.Contains(msg, "frame too large")) {
		return fmt.Sprintf(" (if the JobManager's control endpoint serves TLS, set %s, and %s and %s for mutual TLS)", EnvTLSCA, EnvTLSCert, EnvTLSKey)
	}
	return ""
}

// isFile reports whether path names an existing regular file.
func isFile(path string) bool {
	st, err := os.Stat(path)
	return path != "" && err == nil && st.Mode().IsRegular()
}

// session is one registration with the JobManager.
type session struct {
	cfg    Config
	log    *slog.Logger
	tm     *taskmanager.TaskManager
	stream rpc.Control_ConnectClient
	mu     sync.Mutex // serializes sends
	graphs map[string]*jobgraph.Graph
}

func (s *session) send(m *rpc.TaskManagerMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(m)
}

// UpdateTask reports a subtask's state to the JobManager.
func (s *session) UpdateTask(u task.Update) {
	msg := &rpc.TaskUpdate{JobId: u.JobID, Attempt: int32(u.Attempt), Task: u.Task, Subtask: int32(u.Subtask), State: string(u.State)}
	if u.Err != nil {
		msg.Error = u.Err.Error()
	}
	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Update{Update: msg}}); err != nil {
		s.log.Warn("reporting a task update", "err", err)
	}
}

// AcknowledgeCheckpoint reports a subtask's snapshot to the JobManager.
func (s *session) AcknowledgeCheckpoint(jobID string, attempt int, id int64, a checkpoint.Ack) {
	msg := &rpc.CheckpointAck{JobId: jobID, Attempt: int32(attempt), Checkpoint: id, Task: a.Subtask.Task, Subtask: int32(a.Subtask.Index),
		States: a.States, Size: a.Size, SyncNs: int64(a.SyncDuration), AsyncNs: int64(a.AsyncDuration), AlignmentNs: int64(a.Alignment)}
	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Ack{Ack: msg}}); err != nil {
		s.log.Warn("acknowledging a checkpoint", "err", err)
	}
}

// DeclineCheckpoint tells the JobManager a subtask could not take one.
func (s *session) DeclineCheckpoint(jobID string, attempt int, id int64, who checkpoint.Subtask, reason string) {
	msg := &rpc.CheckpointDecline{JobId: jobID, Attempt: int32(attempt), Checkpoint: id, Task: who.Task, Subtask: int32(who.Index), Reason: reason}
	if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Decline{Decline: msg}}); err != nil {
		s.log.Warn("declining a checkpoint", "err", err)
	}
}

func (s *session) heartbeat(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hb := &rpc.Heartbeat{}
		for _, st := range s.tm.Running() {
			hb.Subtasks = append(hb.Subtasks, &rpc.SubtaskStats{JobId: st.JobID, Attempt: int32(st.Attempt), Task: st.Task,
				Subtask: int32(st.Subtask), RecordsIn: st.RecordsIn, RecordsOut: st.RecordsOut, BackpressureNanos: st.BackpressureNanos})
		}
		for i, u := range s.tm.SlotUsage() {
			hb.Slots = append(hb.Slots, &rpc.SlotUsage{Index: int32(i), NetworkBytes: u.NetworkBytes, StateBytes: u.StateBytes})
		}
		if err := s.send(&rpc.TaskManagerMessage{Msg: &rpc.TaskManagerMessage_Heartbeat{Heartbeat: hb}}); err != nil {
			return
		}
	}
}

func (s *session) handle(m *rpc.JobManagerMessage) {
	switch msg := m.Msg.(type) {
	case *rpc.JobManagerMessage_Deploy:
		s.deploy(msg.Deploy)
	case *rpc.JobManagerMessage_Cancel:
		s.tm.CancelJob(msg.Cancel.GetJobId(), int(msg.Cancel.GetAttempt()))
	case *rpc.JobManagerMessage_Trigger:
		t := msg.Trigger
		s.tm.TriggerCheckpoint(t.GetJobId(), int(t.GetAttempt()), t.GetTask(), int(t.GetSubtask()), t.GetCheckpoint())
	case *rpc.JobManagerMessage_Release:
		s.tm.ReleaseJob(msg.Release.GetJobId(), int(msg.Release.GetAttempt()))
		s.mu.Lock()
		delete(s.graphs, msg.Release.GetJobId())
		s.mu.Unlock()
	default:
		s.log.Warn("unexpected message from the JobManager", "type", fmt.Sprintf("%T", m.Msg))
	}
}

func (s *session) deploy(m *rpc.Deploy) {
	fail := func(err error) {
		s.UpdateTask(task.Update{JobID: m.GetJobId(), Attempt: int(m.GetAttempt()), Task: m.GetTask(), Subtask: int(m.GetSubtask()), State: task.StateFailed, Err: err})
	}
	s.mu.Lock()
	g, ok := s.graphs[m.GetJobId()]
	s.mu.Unlock()
	if !ok {
		var err error
		if g, err = jobgraph.Parse(m.GetGraph()); err != nil {
			fail(fmt.Errorf("the deployed job graph is invalid: %w", err))
			return
		}
		if g.Fingerprint != s.cfg.Graph.Fingerprint {
			fail(fmt.Errorf("the deployed job graph has fingerprint %s but this TaskManager's binary builds %s; submit the same binary and arguments the TaskManager runs", g.Fingerprint, s.cfg.Graph.Fingerprint))
			return
		}
		s.mu.Lock()
		s.graphs[m.GetJobId()] = g
		s.mu.Unlock()
	}
	tasks, edges := g.Tasks()
	d := &task.Deployment{JobID: m.GetJobId(), Attempt: int(m.GetAttempt()), Graph: g, Subtask: int(m.GetSubtask()), Slot: int(m.GetSlot())}
	found := false
	for _, t := range tasks {
		if t.ID == m.GetTask() {
			d.Task, found = t, true
		}
	}
	if !found || d.Subtask < 0 || d.Subtask >= d.Task.Parallelism || d.Slot < 0 || d.Slot >= s.cfg.Slots {
		fail(fmt.Errorf("deploy of task %q subtask %d into slot %d does not fit the job graph or this TaskManager", m.GetTask(), m.GetSubtask(), m.GetSlot()))
		return
	}
	for _, e := range edges {
		if e.TargetTask == d.Task.ID {
			d.Inputs = append(d.Inputs, e)
		}
		if e.SourceTask == d.Task.ID {
			d.Outputs = append(d.Outputs, e)
		}
	}
	if ex := m.GetExchange(); ex != nil {
		d.Config = task.Config{BatchSize: int(ex.GetBatchSize()), BufferTimeout: time.Duration(ex.GetBufferTimeoutNs()), Credits: int(ex.GetCredits())}
	}
	if cp := m.GetCheckpoints(); cp != nil {
		d.Checkpoints = &task.CheckpointSpec{Aligned: cp.GetAligned(), Prefix: cp.GetPrefix()}
	}
	for _, r := range m.GetRestore() {
		if d.Restore == nil {
			d.Restore = map[string][]string{}
		}
		d.Restore[r.GetOperatorUid()] = r.GetObjects()
	}
	for _, l := range m.GetLocations() {
		d.Peers = append(d.Peers, task.Peer{Task: l.GetTask(), Subtask: int(l.GetSubtask()), TaskManager: l.GetTaskManager(), DataAddress: l.GetDataAddress()})
	}
	if err := s.tm.Deploy(d, s.cfg.Program); err != nil {
		fail(err)
	}
}
