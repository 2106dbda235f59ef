package metricsrv_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/metricsrv"
	"github.com/sluicehq/sluice/internal/metricstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestListenServesTheRegistry(t *testing.T) {
	reg := metricsrv.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_test_total", Help: "A test counter."})
	c.Add(3)
	reg.MustRegister(c)
	s, err := metricsrv.Listen("127.0.0.1:0", reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fams, err := metricstest.Scrape(t.Context(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := fams.Sum("sluice_test_total", nil); !ok || v != 3 {
		t.Errorf("sluice_test_total = %v (present %v), want 3", v, ok)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	if _, ok := fams["promhttp_metric_handler_requests_total"]; ok {
		t.Errorf("the handler instruments itself into the registry; it should not")
	}
	tr := &http.Transport{DisableKeepAlives: true}
	resp, err := (&http.Client{Transport: tr}).Get("http://" + s.Addr() + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /other: %s, want 404", resp.Status)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := metricstest.Scrape(t.Context(), s.URL()); err == nil {
		t.Error("the endpoint still answers after Close")
	}
}

func TestListenRefusesABadAddress(t *testing.T) {
	if s, err := metricsrv.Listen("256.0.0.1:0", metricsrv.NewRegistry(), nil); err == nil {
		s.Close()
		t.Fatal("Listen accepted 256.0.0.1")
	}
}
