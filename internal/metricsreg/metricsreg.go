package metricsreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluicehq/sluice/internal/consulclient"
)

// Service names.
const (
	ServiceJobManager  = "sluice-jobmanager-metrics"
	ServiceTaskManager = "sluice-taskmanager-metrics"
)

// Defaults of Config.
const (
	DefaultCluster  = "default"
	DefaultPath     = "/metrics"
	DefaultInterval = 10 * time.Second
)

// Config describes one metrics endpoint and the Consul agent to register
// it with.
type Config struct {
	// Consul is the agent's address, host:port or http(s)://host:port.
	Consul string
	// Token is the ACL token; it needs service:write on Service.
	Token string
	// Cluster names the Sluice cluster; it becomes the tag
	// "cluster-<name>" and the metadata "cluster" (default "default").
	Cluster string
	// Service is the service name (ServiceJobManager or
	// ServiceTaskManager).
	Service string
	// ID is the service id, unique on the agent (default
	// "<Service>-<Addr>").
	ID string
	// Addr is the host:port the endpoint is served at. An unspecified
	// host (0.0.0.0, ::) registers no address, so Consul gives the
	// node's, and the check asks 127.0.0.1.
	Addr string
	// Path of the endpoint (default /metrics).
	Path string
	// Scheme of the endpoint: "http" (the default) or "https" (the
	// JobManager's REST listener with TLS). It becomes the metadata
	// "metrics_scheme", for a Prometheus relabel to __scheme__. Consul's
	// check of an https endpoint does not verify its certificate: the
	// agent rarely trusts the cluster's CA, and the check only asks
	// whether the endpoint answers.
	Scheme string
	// Meta is added to the service's metadata (Prometheus sees it as
	// __meta_consul_service_metadata_<key>).
	Meta map[string]string
	// Interval is the HTTP check's interval (default 10 s).
	Interval time.Duration
	Logger   *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Cluster == "" {
		c.Cluster = DefaultCluster
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.Scheme == "" {
		c.Scheme = "http"
	}
	if c.ID == "" {
		c.ID = c.Service + "-" + c.Addr
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// service builds the registration, or says why it cannot.
func (c Config) service() (*api.AgentServiceRegistration, error) {
	if c.Consul == "" {
		return nil, errors.New("metricsreg: no Consul address")
	}
	if c.Service == "" {
		return nil, errors.New("metricsreg: no service name")
	}
	host, portStr, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil, fmt.Errorf("metricsreg: metrics address %q: %w", c.Addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("metricsreg: metrics address %q: want host:port with a port from 1 to 65535", c.Addr)
	}
	checkHost := host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host, checkHost = "", "127.0.0.1"
	}
	if c.Scheme != "http" && c.Scheme != "https" {
		return nil, fmt.Errorf("metricsreg: scheme %q: want http or https", c.Scheme)
	}
	meta := map[string]string{"cluster": c.Cluster, "metrics_path": c.Path, "metrics_scheme": c.Scheme}
	maps.Copy(meta, c.Meta)
	timeout := min(c.Interval, 5*time.Second)
	return &api.AgentServiceRegistration{
		ID:      c.ID,
		Name:    c.Service,
		Address: host,
		Port:    port,
		Tags:    []string{"sluice", "prometheus", "cluster-" + c.Cluster},
		Meta:    meta,
		Check: &api.AgentServiceCheck{
			CheckID:       "service:" + c.ID,
			Name:          "metrics endpoint",
			HTTP:          c.Scheme + "://" + net.JoinHostPort(checkHost, portStr) + c.Path,
			TLSSkipVerify: c.Scheme == "https",
			Method:        http.MethodGet,
			Interval:      c.Interval.String(),
			Timeout:       timeout.String(),
			// The endpoint serves before it is registered.
			Status: api.HealthPassing,
			// Consul's minimum: an endpoint whose process died without
			// deregistering leaves the catalog a minute later.
			DeregisterCriticalServiceAfter: "1m",
		},
	}, nil
}

// Registration is a metrics endpoint registered, or being registered, with
// Consul.
type Registration struct {
	cfg    Config
	svc    *api.AgentServiceRegistration
	client *api.Client
	tr     *http.Transport
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{} // closed when the registering goroutine ends

	mu         sync.Mutex
	registered bool
	closeOnce  sync.Once
	closeErr   error
}

// Register validates cfg and registers the endpoint in the background,
// retrying with backoff while the agent is unreachable; a refusal for lack
// of rights is logged once and not retried. Close deregisters it.
func Register(cfg Config) (*Registration, error) {
	cfg = cfg.withDefaults()
	svc, err := cfg.service()
	if err != nil {
		return nil, err
	}
	client, tr, err := consulclient.New(cfg.Consul, cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("metricsreg: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Registration{cfg: cfg, svc: svc, client: client, tr: tr, cancel: cancel, done: make(chan struct{}),
		log: cfg.Logger.With("service", svc.Name, "id", svc.ID, "consul", cfg.Consul)}
	go r.register(ctx)
	return r, nil
}

// ID is the service id.
func (r *Registration) ID() string { return r.svc.ID }

// register registers the service, retrying until it succeeds or ctx ends.
func (r *Registration) register(ctx context.Context) {
	defer close(r.done)
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// The lock makes Close wait for a registration in flight, so
		// that it deregisters what this may have registered.
		r.mu.Lock()
		if ctx.Err() != nil {
			r.mu.Unlock()
			return
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := r.client.Agent().ServiceRegisterOpts(r.svc, api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(rctx))
		cancel()
		if err == nil {
			r.registered = true
		}
		r.mu.Unlock()
		switch {
		case err == nil:
			r.log.Info("metrics endpoint registered with Consul", "addr", r.cfg.Addr)
			return
		case isPermission(err):
			r.log.Error("Consul refused the metrics service; the token needs service:write on it", "err", err)
			return
		}
		if attempt == 1 || attempt%10 == 0 {
			r.log.Warn("registering the metrics endpoint with Consul; retrying", "attempt", attempt, "err", err)
		}
		d := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		delay = min(2*delay, 5*time.Second)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Close stops registering and deregisters the service if it was
// registered. It is idempotent.
func (r *Registration) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		<-r.done
		r.mu.Lock()
		registered := r.registered
		r.registered = false
		r.mu.Unlock()
		if registered {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := r.client.Agent().ServiceDeregisterOpts(r.svc.ID, (&api.QueryOptions{}).WithContext(ctx))
			cancel()
			if err != nil {
				r.closeErr = fmt.Errorf("metricsreg: deregistering service %s from Consul at %s: %w", r.svc.ID, r.cfg.Consul, err)
			} else {
				r.log.Info("metrics endpoint deregistered from Consul")
			}
		}
		r.tr.CloseIdleConnections()
	})
	return r.closeErr
}

// isPermission reports whether err is Consul's refusal for lack of rights.
func isPermission(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusForbidden {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "Permission denied") || strings.Contains(s, "ACL not found")
}
