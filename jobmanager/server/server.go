// Package server assembles a JobManager process: the JobManager core, its
// gRPC control endpoint for TaskManagers, the REST API for clients, the
// artifact store and the resource provider that starts TaskManagers.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/sluicehq/sluice/internal/tlsutil"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/artifacts"
	"github.com/sluicehq/sluice/jobmanager/auth"
	"github.com/sluicehq/sluice/jobmanager/control"
	"github.com/sluicehq/sluice/jobmanager/dashboard"
	"github.com/sluicehq/sluice/jobmanager/ha"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/provider"
	"github.com/sluicehq/sluice/jobmanager/rest"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/jobmanager/rpc"
	"github.com/sluicehq/sluice/jobmanager/scheduler"
	"github.com/sluicehq/sluice/nomad"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/taskmanager/agent"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// Providers.
const (
	ProviderLocal      = "local"      // TaskManagers are child processes of the JobManager
	ProviderStandalone = "standalone" // TaskManagers are started by hand and register
	ProviderNomad      = "nomad"      // TaskManagers are Nomad allocations of the job's artifact
)

// Config configures a JobManager process.
type Config struct {
	RPCAddr  string // control endpoint for TaskManagers (default 127.0.0.1:6123)
	HTTPAddr string // REST API (default 127.0.0.1:8081)
	DataDir  string // artifacts and TaskManager logs (default $TMPDIR/sluice-jobmanager)
	Provider string // local (default), standalone or nomad
	// Nomad configures the nomad provider; the server fills in
	// ArtifactBaseURL (unless set), Cluster and Logger.
	Nomad nomad.ProviderConfig
	// AdvertiseHost is the host TaskManagers, Nomad clients and other
	// JobManagers reach this one at (default: the host of the listen
	// addresses, or this machine's first non-loopback address when they
	// listen on every interface).
	AdvertiseHost string
	// SlotsPerTaskManager is the slots of each local TaskManager (default: CPUs).
	SlotsPerTaskManager int
	// TaskManagerMemory is the managed memory of each local TaskManager (default 1 GiB).
	TaskManagerMemory int64
	// StreamWindow is the data plane's receive window per inbound stream
	// of the TaskManagers the providers start, in bytes (default
	// network.DefaultStreamWindow).
	StreamWindow int64
	SlotTimeout  time.Duration // default 2 min
	// MaxEndedJobs is how many ended jobs are kept for inspection
	// (default 1000).
	MaxEndedJobs      int
	HeartbeatInterval time.Duration // default 1 s
	HeartbeatTimeout  time.Duration // default 5 s
	Restart           restart.Config
	Exchange          task.Config
	MaxArtifactBytes  int64
	// StateBackend is where checkpoints and savepoints go: "memory" (the
	// default: a backend process of the JobManager holds them and the
	// TaskManagers reach it through the control endpoint), "s3" (the
	// TaskManagers write to S3 themselves), the name of any
	// sluice-backend-NAME binary, or the path of a backend binary.
	StateBackend string
	// StateBackendSettings configure the backend (for s3: bucket,
	// endpoint, region, credentials; see backends/s3).
	StateBackendSettings map[string]string
	// ShareStateBackend makes the JobManager host any backend for its
	// TaskManagers, as it always does for memory.
	ShareStateBackend bool
	// StateBackendBinary, if set, is run as the backend instead of the
	// binary StateBackend names, with StateBackendArgs: cmd/jobmanager
	// serves the memory backend from its own binary this way.
	StateBackendBinary string
	StateBackendArgs   []string
	// ID names this JobManager among its standbys (default host-pid).
	ID string
	// Consul, if set, is the address of a Consul agent: JobManagers elect
	// their leader there, and the leader keeps jobs and checkpoint
	// pointers in its KV store for the next one.
	Consul      string
	ConsulToken string
	// Cluster names the cluster under Consul's sluice/ prefix (default
	// "default").
	Cluster string
	// Token is the management token (every right, registering
	// TaskManagers too). ACLFile names an HCL file of more tokens with
	// their rights (see package auth). With neither, every request is
	// allowed and the JobManager refuses to listen beyond loopback.
	Token, ACLFile string
	// AnonymousRead lets requests without a token read.
	AnonymousRead bool
	// TLS, with a certificate and key, makes the REST API serve HTTPS
	// and the control endpoint TLS; with a CA too, the control endpoint
	// requires TaskManagers to present a certificate the CA signed
	// (mutual TLS). The REST API never asks for client certificates. The
	// TaskManagers the local and nomad providers start get the same
	// files (SLUICE_TLS_CERT, SLUICE_TLS_KEY, SLUICE_TLS_CA): they present
	// the certificate to the JobManager and to each other on the data
	// plane. ServerName is not used.
	TLS    tlsutil.Config
	Logger *slog.Logger
	// LogFormat is Logger's format, text ("") or json; the TaskManagers
	// the local and nomad providers start log in it, and at Logger's level.
	LogFormat string
}

// BackendMemory is the default state backend.
const BackendMemory = "memory"

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		RPCAddr: "127.0.0.1:6123", HTTPAddr: "127.0.0.1:8081",
		DataDir:  filepath.Join(os.TempDir(), "sluice-jobmanager"),
		Provider: ProviderLocal, SlotsPerTaskManager: runtime.NumCPU(), TaskManagerMemory: 1 << 30,
		StreamWindow: network.DefaultStreamWindow,
		SlotTimeout:  2 * time.Minute, MaxEndedJobs: jobmanager.DefaultMaxEndedJobs, HeartbeatInterval: time.Second, HeartbeatTimeout: 5 * time.Second,
		Restart: restart.DefaultConfig(), Exchange: task.DefaultConfig(), StateBackend: BackendMemory,
	}
}

func (c *Config) validate() error {
	d := DefaultConfig()
	if c.RPCAddr == "" {
		c.RPCAddr = d.RPCAddr
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = d.HTTPAddr
	}
	if c.DataDir == "" {
		c.DataDir = d.DataDir
	}
	if c.Provider == "" {
		c.Provider = d.Provider
	}
	if c.Provider != ProviderLocal && c.Provider != ProviderStandalone && c.Provider != ProviderNomad {
		return fmt.Errorf("provider %q: use %q, %q or %q", c.Provider, ProviderLocal, ProviderStandalone, ProviderNomad)
	}
	if c.SlotsPerTaskManager <= 0 {
		c.SlotsPerTaskManager = d.SlotsPerTaskManager
	}
	if c.TaskManagerMemory <= 0 {
		c.TaskManagerMemory = d.TaskManagerMemory
	}
	if c.StreamWindow <= 0 {
		c.StreamWindow = d.StreamWindow
	}
	if c.StreamWindow < network.MinStreamWindow || c.StreamWindow > network.MaxStreamWindow {
		return fmt.Errorf("stream window of %d bytes (stream_window, --stream-window): want %d (256 KiB) to %d (1 GiB)", c.StreamWindow, network.MinStreamWindow, network.MaxStreamWindow)
	}
	if c.SlotTimeout <= 0 {
		c.SlotTimeout = d.SlotTimeout
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = d.HeartbeatInterval
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = d.HeartbeatTimeout
	}
	if c.Restart.Kind == "" {
		c.Restart = d.Restart
	}
	if err := c.Restart.Validate(); err != nil {
		return fmt.Errorf("restart strategy: %w", err)
	}
	c.Exchange = c.Exchange.WithDefaults()
	if c.StateBackend == "" {
		c.StateBackend = d.StateBackend
	}
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.Consul != "" && c.StateBackend == BackendMemory && !c.ShareStateBackend {
		return fmt.Errorf("--consul: high availability needs a state backend that outlives a JobManager (s3, or a third-party one); the memory backend dies with its JobManager")
	}
	if c.TLS.Enabled() {
		if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
			return errors.New("TLS needs this JobManager's certificate and key: give both --tls-cert and --tls-key (--tls-ca alone verifies nothing here)")
		}
		// TaskManagers get the paths and run elsewhere.
		for _, p := range []*string{&c.TLS.CertFile, &c.TLS.KeyFile, &c.TLS.CAFile} {
			if *p != "" {
				if abs, err := filepath.Abs(*p); err == nil {
					*p = abs
				}
			}
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Server is a running JobManager process.
type Server struct {
	cfg      Config
	log      *slog.Logger
	jm       *jobmanager.JobManager
	provider interface {
		jobmanager.ResourceProvider
		Close() error
	}
	store *artifacts.Store
	auth  *auth.Authorizer
	// backendFile is the state backend binary TaskManagers on other
	// machines fetch next to their own (nomad provider, unshared backend).
	backendFile *provider.File
	backend     *plugins.Client
	ha          *highAvailability
	metrics     *metrics
	rpcLn       net.Listener
	httpLn      net.Listener
	grpc        *grpc.Server
	http        *http.Server
	scheme      string // of the REST API: http, or https with TLS
	closeMu     sync.Once
}

// New opens the listeners and builds the JobManager; Run serves.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("jobmanager: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	var err error
	if s.store, err = artifacts.Open(filepath.Join(cfg.DataDir, "artifacts")); err != nil {
		return nil, err
	}
	shared, err := s.openBackend()
	if err != nil {
		return nil, err
	}
	s.ha = &highAvailability{jobs: map[string]ha.JobRecord{}, latest: map[string]string{}}
	if cfg.Consul != "" {
		c, err := ha.NewConsul(ha.ConsulConfig{Address: cfg.Consul, Token: cfg.ConsulToken, Cluster: cfg.Cluster, Logger: cfg.Logger})
		if err != nil {
			s.backend.Close()
			return nil, fmt.Errorf("jobmanager: --consul: %w", err)
		}
		s.ha.svc, s.ha.durable = c, true
	} else {
		s.ha.svc = ha.NewLocal()
	}
	ok := false
	defer func() {
		if !ok {
			s.backend.Close()
		}
	}()
	if s.rpcLn, err = net.Listen("tcp", cfg.RPCAddr); err != nil {
		return nil, fmt.Errorf("jobmanager: control endpoint: %w", err)
	}
	defer func() {
		if !ok {
			s.rpcLn.Close()
		}
	}()
	if s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("jobmanager: REST API: %w", err)
	}
	defer func() {
		if !ok {
			s.httpLn.Close()
		}
	}()
	if s.auth, err = s.newAuthorizer(); err != nil {
		return nil, err
	}
	restTLS, rpcTLS, err := s.tlsConfigs()
	if err != nil {
		return nil, err
	}
	if s.provider, err = s.newProvider(); err != nil {
		return nil, err
	}
	if cfg.Provider == ProviderNomad && !shared.GetShared() {
		// TaskManagers on Nomad nodes open the backend themselves: it
		// travels with each job as a second artifact.
		if s.backendFile, err = s.storeFile(shared.GetPath()); err != nil {
			s.provider.Close()
			return nil, fmt.Errorf("jobmanager: storing the state backend binary for Nomad TaskManagers: %w", err)
		}
	}
	defer func() {
		if !ok {
			s.provider.Close()
		}
	}()
	s.metrics = s.newMetrics()
	jmCfg := jobmanager.Config{Logger: cfg.Logger, SlotTimeout: cfg.SlotTimeout, MaxEndedJobs: cfg.MaxEndedJobs, Provider: s.provider, Snapshots: s.backend,
		CheckpointEnded: s.metrics.collector.CheckpointEnded}
	if s.ha.durable {
		jmCfg.RecordCheckpoint, jmCfg.JobEnded, jmCfg.Epoch = s.recordCheckpoint, s.jobEnded, s.ha.currentEpoch
	}
	s.jm = jobmanager.New(jmCfg)
	s.metrics.collector.SetSource(s.jm)
	ctl, err := control.New(control.Config{JobManager: s.jm, HeartbeatInterval: cfg.HeartbeatInterval, HeartbeatTimeout: cfg.HeartbeatTimeout, Logger: cfg.Logger,
		StateBackend: shared, Admit: s.admit, Epoch: s.ha.currentEpoch})
	if err != nil {
		return nil, err
	}
	api, err := rest.New(rest.Config{JobManager: s.jm, Artifacts: s.store, Submit: s.submit, Rescale: s.rescale, MaxArtifactBytes: cfg.MaxArtifactBytes, Logger: cfg.Logger,
		Cluster: cfg.Cluster, Auth: s.auth})
	if err != nil {
		return nil, err
	}
	// Every call on the control endpoint (registration, the shared state
	// backend) needs the taskmanager right.
	grpcOpts := []grpc.ServerOption{grpc.ChainStreamInterceptor(s.auth.StreamInterceptor(auth.TaskManager)),
		grpc.ChainUnaryInterceptor(s.auth.UnaryInterceptor(auth.TaskManager))}
	if rpcTLS != nil {
		grpcOpts = append(grpcOpts, grpc.Creds(loggedCreds{credentials.NewTLS(rpcTLS), cfg.Logger}))
	}
	s.grpc = grpc.NewServer(grpcOpts...)
	rpc.RegisterControlServer(s.grpc, ctl)
	if shared.GetShared() {
		plugins.RegisterShared(s.grpc, s.backend)
	}
	// The REST API keeps /v1/; every other path (/, /ui/...) is the
	// dashboard, which reads the same API from the browser. The standby
	// gate answers /v1/health and /metrics itself and, on a standby,
	// redirects the rest, the dashboard too, to the leader.
	root := http.NewServeMux()
	root.Handle("/v1/", api)
	root.Handle("/", dashboard.Handler())
	s.http = &http.Server{Handler: s.standbyGate(root), ReadHeaderTimeout: 10 * time.Second, TLSConfig: restTLS,
		// Failed TLS handshakes and the like, in the JobManager's log.
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	ok = true
	return s, nil
}

// tlsConfigs builds the TLS configurations of the REST API (server TLS
// only: clients authenticate with tokens) and of the control endpoint
// (mutual TLS with a CA); both nil without TLS. It sets s.scheme.
func (s *Server) tlsConfigs() (rest, rpc *tls.Config, err error) {
	s.scheme = "http"
	if !s.cfg.TLS.Enabled() {
		return nil, nil, nil
	}
	own := s.cfg.TLS
	own.CAFile = ""
	if rest, err = tlsutil.Server(own); err != nil {
		return nil, nil, fmt.Errorf("jobmanager: %w", err)
	}
	if rpc, err = tlsutil.Server(s.cfg.TLS); err != nil {
		return nil, nil, fmt.Errorf("jobmanager: %w", err)
	}
	s.scheme = "https"
	if s.cfg.TLS.CAFile != "" {
		s.log.Info("TLS: the REST API serves HTTPS; the control endpoint requires TaskManager certificates signed by the CA", "cert", s.cfg.TLS.CertFile, "ca", s.cfg.TLS.CAFile)
	} else {
		s.log.Info("TLS: the REST API serves HTTPS and the control endpoint TLS, without client certificates (no --tls-ca)", "cert", s.cfg.TLS.CertFile)
	}
	return rest, rpc, nil
}

// restURL is the base URL others reach the REST API at.
func (s *Server) restURL() string { return s.scheme + "://" + s.advertise(s.HTTPAddr()) }

// RPCAddr is the control endpoint's address.
func (s *Server) RPCAddr() string { return s.rpcLn.Addr().String() }

// HTTPAddr is the REST API's address.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// JobManager returns the core.
func (s *Server) JobManager() *jobmanager.JobManager { return s.jm }

// Run serves until ctx is done, then shuts down.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	go func() { errc <- s.grpc.Serve(s.rpcLn) }()
	go func() {
		if s.scheme == "https" {
			errc <- s.http.ServeTLS(s.httpLn, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- s.http.Serve(s.httpLn)
	}()
	leadCtx, stopLeading := context.WithCancel(ctx)
	defer stopLeading()
	go func() {
		if err := s.lead(leadCtx); err != nil {
			errc <- err
		}
	}()
	s.registerMetrics()
	s.log.Info("jobmanager serving", "rest", s.scheme+"://"+s.HTTPAddr(), "control", s.RPCAddr(), "metrics", s.scheme+"://"+s.HTTPAddr()+"/metrics", "provider", s.cfg.Provider, "data", s.cfg.DataDir)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
			err = nil
		}
	}
	s.Close()
	return err
}

// Close cancels every job, stops the TaskManagers it started and the
// listeners.
func (s *Server) Close() error {
	s.closeMu.Do(func() {
		s.deregisterMetrics()
		s.jm.Close()
		if c, ok := s.ha.svc.(io.Closer); ok {
			c.Close()
		}
		s.provider.Close()
		s.backend.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.http.Shutdown(ctx)
		s.grpc.Stop()
	})
	return nil
}

// openBackend starts the state backend and returns what TaskManagers are
// told about it.
func (s *Server) openBackend() (*rpc.StateBackend, error) {
	name, path := s.cfg.StateBackend, s.cfg.StateBackendBinary
	var err error
	if path == "" {
		if path, err = plugins.Find(name); err != nil {
			return nil, fmt.Errorf("jobmanager: --state-backend: %w", err)
		}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*plugins.DefaultStartTimeout)
	defer cancel()
	s.backend, err = plugins.Open(ctx, plugins.Config{Name: name, Path: path, Args: s.cfg.StateBackendArgs, Settings: s.cfg.StateBackendSettings, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("jobmanager: --state-backend: %w", err)
	}
	return &rpc.StateBackend{Name: name, Path: path, Settings: s.cfg.StateBackendSettings,
		Shared: name == BackendMemory || s.cfg.ShareStateBackend}, nil
}

// submit turns a REST submission into a job. With Consul, the job and its
// binary are recorded for the next leader before it starts.
func (s *Server) submit(ctx context.Context, req api.SubmitRequest) (string, error) {
	if !s.ha.durable {
		return s.start(ctx, req, "", nil)
	}
	g, err := jobgraph.Parse(req.Graph)
	if err != nil {
		return "", fmt.Errorf("the job graph is invalid: %w", err)
	}
	path, err := s.store.Path(req.Artifact)
	if err != nil {
		return "", fmt.Errorf("artifact: %w; upload it first with PUT /v1/artifacts/{sha256}", err)
	}
	rec := ha.JobRecord{ID: newJobID(), Name: g.Name, Graph: req.Graph, Artifact: req.Artifact, Args: req.Args, Parallelism: req.Parallelism,
		FromSavepoint: req.FromSavepoint, AllowNonRestoredState: req.AllowNonRestoredState, Submitted: time.Now().UTC()}
	if err := s.recordSubmission(ctx, rec, path); err != nil {
		return "", &rest.InternalError{Err: err}
	}
	id, err := s.start(ctx, req, rec.ID, nil)
	if err != nil {
		rec.Ended, rec.State = true, "rejected"
		epoch, _ := s.ha.state()
		_ = s.ha.svc.PutJob(context.WithoutCancel(ctx), epoch, rec)
	}
	return id, err
}

// start runs a submission as job id (empty: a new id), restoring from
// restore if set.
func (s *Server) start(ctx context.Context, req api.SubmitRequest, id string, restore *jobmanager.Restore) (string, error) {
	sub, err := s.prepare(ctx, req, id, restore)
	if err != nil {
		return "", err
	}
	jobID, err := s.jm.Submit(ctx, sub)
	if err != nil && restore == nil {
		s.jm.DiscardRestore(sub.Restore)
	}
	return jobID, err
}

// rescale starts the rescale of job id to the graph req was planned as.
// The job keeps its binary and arguments.
func (s *Server) rescale(ctx context.Context, id string, req api.RescaleRequest) (jobmanager.SavepointStatus, error) {
	if s.ha.durable {
		return jobmanager.SavepointStatus{}, fmt.Errorf("%w: with Consul HA, a new leader would recover the job at its old parallelism; stop it with a savepoint (jmctl stop --savepoint) and submit it from there at the new one", jobmanager.ErrRescaleUnsupported)
	}
	old, err := s.jm.Submission(id)
	if err != nil {
		return jobmanager.SavepointStatus{}, err
	}
	sub, err := s.prepare(ctx, api.SubmitRequest{Graph: req.Graph, Artifact: old.Artifact, Args: old.Args, Parallelism: req.Parallelism}, id, nil)
	if err != nil {
		return jobmanager.SavepointStatus{}, err
	}
	return s.jm.Rescale(id, sub)
}

// prepare turns a submission into what the JobManager runs as job id
// (empty: a new id), restoring from restore if set, else from the
// request's savepoint, if any.
func (s *Server) prepare(ctx context.Context, req api.SubmitRequest, id string, restore *jobmanager.Restore) (jobmanager.Submission, error) {
	fail := func(err error) (jobmanager.Submission, error) { return jobmanager.Submission{}, err }
	g, err := jobgraph.Parse(req.Graph)
	if err != nil {
		return fail(fmt.Errorf("the job graph is invalid: %w", err))
	}
	path, err := s.store.Path(req.Artifact)
	if err != nil {
		return fail(fmt.Errorf("artifact: %w; upload it first with PUT /v1/artifacts/{sha256}", err))
	}
	if req.Parallelism < 0 {
		return fail(fmt.Errorf("parallelism %d: must be positive, or 0 for the binary's default", req.Parallelism))
	}
	strategy, err := restart.New(s.cfg.Restart)
	if err != nil {
		return fail(&rest.InternalError{Err: err})
	}
	if id == "" {
		// Named here, not by the JobManager: the job token its
		// TaskManagers get is derived from the id.
		id = newJobID()
	}
	sub := jobmanager.Submission{Graph: g, Config: s.cfg.Exchange, Restart: strategy, Artifact: req.Artifact, Args: req.Args, ID: id, Restore: restore}
	if g.Checkpoints != nil {
		sub.Checkpoints = *g.Checkpoints
	}
	if req.FromSavepoint != "" && restore == nil {
		r, err := s.jm.OpenSavepoint(ctx, req.FromSavepoint, req.AllowNonRestoredState)
		if err != nil {
			return fail(fmt.Errorf("--from-savepoint %s: %w", req.FromSavepoint, err))
		}
		sub.Restore = r
	} else if req.AllowNonRestoredState && req.FromSavepoint == "" {
		return fail(errors.New("allowNonRestoredState needs fromSavepoint"))
	}
	if s.cfg.Provider == ProviderLocal || s.cfg.Provider == ProviderNomad {
		tasks, _ := g.Tasks()
		need := scheduler.SlotsNeeded(tasks)
		slots := s.cfg.SlotsPerTaskManager
		env := []string{
			agent.EnvMode + "=" + agent.ModeTaskManager,
			agent.EnvSlots + "=" + strconv.Itoa(slots),
			agent.EnvManagedMemory + "=" + strconv.FormatInt(s.cfg.TaskManagerMemory, 10),
			agent.EnvStreamWindow + "=" + strconv.FormatInt(s.cfg.StreamWindow, 10),
		}
		if s.cfg.Provider == ProviderLocal {
			// Each TaskManager serves its metrics on a free port and
			// tells the JobManager which (GET /v1/taskmanagers).
			env = append(env, agent.EnvMetricsAddr+"=127.0.0.1:0")
		}
		if s.cfg.Provider == ProviderNomad && s.cfg.Consul != "" {
			// TaskManagers find the leader through Consul, so that the
			// Nomad job stays the same when another JobManager leads.
			env = append(env, agent.EnvConsul+"="+s.cfg.Consul, agent.EnvCluster+"="+s.cfg.Cluster)
			if s.cfg.ConsulToken != "" {
				env = append(env, agent.EnvConsulToken+"="+s.cfg.ConsulToken)
			}
			// And reach it as this JobManager does: Consul's TLS
			// settings (files at the same paths on the nodes).
			env = append(env, consulTLSEnv()...)
		} else {
			env = append(env, agent.EnvJobManager+"="+s.advertise(s.RPCAddr()))
		}
		if req.Parallelism > 0 {
			env = append(env, agent.EnvParallelism+"="+strconv.Itoa(req.Parallelism))
		}
		env = append(env, logEnv(s.log.Handler(), s.cfg.LogFormat)...)
		if t := s.cfg.TLS; t.Enabled() || s.cfg.Provider == ProviderLocal {
			// The TaskManagers present this JobManager's certificate to
			// it and to each other, and verify both against its CA. A
			// local TaskManager inherits the JobManager's environment:
			// the empty values keep stray SLUICE_TLS_* out of it. On
			// Nomad the files must be at the same paths on every node.
			env = append(env, agent.EnvTLSCert+"="+t.CertFile, agent.EnvTLSKey+"="+t.KeyFile, agent.EnvTLSCA+"="+t.CAFile)
		}
		sub.Resources = &provider.Request{
			Artifact: req.Artifact, Path: path, Args: req.Args, Env: env,
			TaskManagers: (need + slots - 1) / slots, SlotsPerTaskManager: slots, MemoryPerTaskManager: s.cfg.TaskManagerMemory,
		}
		if s.backendFile != nil {
			sub.Resources.Files = []provider.File{*s.backendFile}
		}
		sub.Resources.Env = append(sub.Resources.Env, agent.EnvForJob+"="+id)
		if tok := s.auth.JobToken(id); tok != "" {
			sub.Resources.Env = append(sub.Resources.Env, agent.EnvToken+"="+tok)
			sub.Resources.ArtifactToken = tok
		}
	}
	return sub, nil
}

// consulTLSEnv returns the TLS settings of the Consul API client in this
// process's environment (CONSUL_CACERT and the like, which consul/api
// reads), for TaskManagers that reach the same Consul.
func consulTLSEnv() []string {
	var env []string
	for _, k := range []string{"CONSUL_HTTP_SSL", "CONSUL_HTTP_SSL_VERIFY", "CONSUL_CACERT", "CONSUL_CAPATH",
		"CONSUL_CLIENT_CERT", "CONSUL_CLIENT_KEY", "CONSUL_TLS_SERVER_NAME"} {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// loggedCreds are the control endpoint's TLS credentials, which log the
// connections they refuse (gRPC only tells its own logger).
type loggedCreds struct {
	credentials.TransportCredentials
	log *slog.Logger
}

func (c loggedCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	remote := conn.RemoteAddr().String()
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.log.Warn("control endpoint: refused a connection in the TLS handshake; a TaskManager needs TLS and, with --tls-ca, a certificate the CA signed", "remote", remote, "err", err)
	}
	return out, info, err
}

func (c loggedCreds) Clone() credentials.TransportCredentials {
	return loggedCreds{c.TransportCredentials.Clone(), c.log}
}
