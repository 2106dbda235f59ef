package metricsreg_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/metricsreg"
	"github.com/sluicehq/sluice/internal/metricsrv"
	"github.com/sluicehq/sluice/internal/poll"
	"github.com/sluicehq/sluice/jobmanager/ha/consultest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor waits for cond (see poll.Until).
var waitFor = poll.Until

// serveMetrics serves an empty registry's metrics until the test ends.
func serveMetrics(t *testing.T) *metricsrv.Server {
	t.Helper()
	s, err := metricsrv.Listen("127.0.0.1:0", metricsrv.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// passing returns the service instance id if Consul lists it as passing.
func passing(t *testing.T, c *api.Client, service, id string) (*api.ServiceEntry, bool) {
	t.Helper()
	entries, _, err := c.Health().Service(service, "", true, nil)
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		if e.Service.ID == id {
			return e, true
		}
	}
	return nil, false
}

func TestRegisterThenDeregister(t *testing.T) {
	srv := consultest.Start(t, consultest.WithACL())
	ms := serveMetrics(t)
	r, err := metricsreg.Register(metricsreg.Config{
		Consul: srv.Addr, Token: srv.ManagementToken, Cluster: "blue",
		Service: metricsreg.ServiceTaskManager, ID: "sluice-taskmanager-metrics-tm-1", Addr: ms.Addr(),
		Meta: map[string]string{"taskmanager": "tm-1", "job_name": "wordcount"}, Interval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := srv.Client()
	var entry *api.ServiceEntry
	// Passing in the catalog, and the agent has run the HTTP check at
	// least once: its output names the endpoint's answer. (The agent's
	// own view: it defers syncing output-only changes to the catalog.)
	waitFor(t, 30*time.Second, "the service to pass its HTTP check", func() bool {
		e, ok := passing(t, c, metricsreg.ServiceTaskManager, r.ID())
		if !ok {
			return false
		}
		checks, err := c.Agent().Checks()
		if err != nil {
			return false
		}
		chk := checks["service:"+r.ID()]
		entry = e
		return chk != nil && chk.Status == api.HealthPassing && strings.Contains(chk.Output, "200 OK")
	})
	svc := entry.Service
	if got := net.JoinHostPort(svc.Address, strconv.Itoa(svc.Port)); got != ms.Addr() {
		t.Errorf("registered at %s; the metrics are served at %s", got, ms.Addr())
	}
	for _, tag := range []string{"sluice", "prometheus", "cluster-blue"} {
		if !slices.Contains(svc.Tags, tag) {
			t.Errorf("tags %v lack %q", svc.Tags, tag)
		}
	}
	for k, v := range map[string]string{"taskmanager": "tm-1", "job_name": "wordcount", "cluster": "blue", "metrics_path": "/metrics"} {
		if svc.Meta[k] != v {
			t.Errorf("meta[%s] = %q, want %q (meta %v)", k, svc.Meta[k], v, svc.Meta)
		}
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	services, err := c.Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := services[r.ID()]; ok {
		t.Fatalf("service %s is still registered after Close", r.ID())
	}
	if err := r.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestCheckFailsWhenTheEndpointStops(t *testing.T) {
	srv := consultest.Start(t)
	ms := serveMetrics(t)
	r, err := metricsreg.Register(metricsreg.Config{Consul: srv.Addr, Service: metricsreg.ServiceJobManager, Addr: ms.Addr(), Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := srv.Client()
	waitFor(t, 30*time.Second, "the service to be registered", func() bool {
		_, ok := passing(t, c, metricsreg.ServiceJobManager, r.ID())
		return ok
	})
	ms.Close()
	waitFor(t, 30*time.Second, "the check to turn critical", func() bool {
		checks, _, err := c.Health().Checks(metricsreg.ServiceJobManager, nil)
		if err != nil {
			return false
		}
		for _, chk := range checks {
			if chk.ServiceID == r.ID() && chk.Status == api.HealthCritical {
				return true
			}
		}
		return false
	})
}

func TestUnreachableConsulRetriesUntilClosed(t *testing.T) {
	// Nothing listens there: Register returns at once, retries in the
	// background, and Close stops it without a deregistration.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r, err := metricsreg.Register(metricsreg.Config{Consul: addr, Service: metricsreg.ServiceTaskManager, Addr: "127.0.0.1:9100"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return while Consul is unreachable")
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []metricsreg.Config{
		{Service: metricsreg.ServiceTaskManager, Addr: "127.0.0.1:9100"},
		{Consul: "127.0.0.1:8500", Addr: "127.0.0.1:9100"},
		{Consul: "127.0.0.1:8500", Service: metricsreg.ServiceTaskManager, Addr: "no-port"},
		{Consul: "127.0.0.1:8500", Service: metricsreg.ServiceTaskManager, Addr: "127.0.0.1:0"},
	} {
		if r, err := metricsreg.Register(cfg); err == nil {
			r.Close()
			t.Errorf("Register(%+v) accepted the configuration", cfg)
		}
	}
}
