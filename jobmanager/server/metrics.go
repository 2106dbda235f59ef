package server

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metricsreg"
	"github.com/sluicehq/sluice/internal/metricsrv"
	jmmetrics "github.com/sluicehq/sluice/jobmanager/metrics"
)

// metrics is the JobManager's Prometheus endpoint, GET /metrics on the
// REST listener, which leaders and standbys answer alike, and its Consul
// registration.
type metrics struct {
	collector *jmmetrics.Collector
	handler   http.Handler

	mu     sync.Mutex
	reg    *metricsreg.Registration // nil without Consul, or before Run
	closed bool                     // Close ran: register no more
}

// newMetrics builds the registry; the collector reads the core once
// setSource is given it (the core takes CheckpointEnded first).
func (s *Server) newMetrics() *metrics {
	m := &metrics{collector: jmmetrics.NewCollector(nil)}
	reg := metricsrv.NewRegistry()
	reg.MustRegister(m.collector, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_jobmanager_leader",
		Help: "1 while this JobManager leads its cluster, 0 while it stands by.",
	}, func() float64 {
		if _, leading := s.ha.state(); leading {
			return 1
		}
		return 0
	}))
	m.handler = metricsrv.Handler(reg, s.log)
	return m
}

// registerMetrics registers the endpoint with Consul, in the background,
// when the JobManager has one.
func (s *Server) registerMetrics() {
	m := s.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.cfg.Consul == "" || m.closed || m.reg != nil {
		return
	}
	r, err := metricsreg.Register(metricsreg.Config{
		Consul: s.cfg.Consul, Token: s.cfg.ConsulToken, Cluster: s.cfg.Cluster,
		Service: metricsreg.ServiceJobManager, ID: metricsreg.ServiceJobManager + "-" + s.cfg.ID,
		Addr: s.advertise(s.HTTPAddr()), Scheme: s.scheme, Meta: map[string]string{"jobmanager_id": s.cfg.ID}, Logger: s.log,
	})
	if err != nil {
		s.log.Warn("not registering the metrics endpoint with Consul", "err", err)
		return
	}
	m.reg = r
}

// deregisterMetrics removes the Consul registration.
func (s *Server) deregisterMetrics() {
	m := s.metrics
	m.mu.Lock()
	r := m.reg
	m.reg, m.closed = nil, true
	m.mu.Unlock()
	if r == nil {
		return
	}
	if err := r.Close(); err != nil {
		s.log.Warn("deregistering the metrics endpoint", "err", err)
	}
}
