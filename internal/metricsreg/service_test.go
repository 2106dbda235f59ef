package metricsreg

import (
	"strings"
	"testing"
)

// TestServiceScheme: an https endpoint (the JobManager's REST listener
// with TLS) is checked over https without verifying its certificate, and
// says its scheme in the metadata for Prometheus.
func TestServiceScheme(t *testing.T) {
	base := Config{Consul: "127.0.0.1:8500", Service: ServiceJobManager, Addr: "10.0.0.1:8081"}
	svc, err := base.withDefaults().service()
	if err != nil {
		t.Fatal(err)
	}
	if svc.Check.HTTP != "http://10.0.0.1:8081/metrics" || svc.Check.TLSSkipVerify || svc.Meta["metrics_scheme"] != "http" {
		t.Errorf("plain: check %s (skip verify %v), meta %v", svc.Check.HTTP, svc.Check.TLSSkipVerify, svc.Meta)
	}
	tlsCfg := base
	tlsCfg.Scheme = "https"
	svc, err = tlsCfg.withDefaults().service()
	if err != nil {
		t.Fatal(err)
	}
	if svc.Check.HTTP != "https://10.0.0.1:8081/metrics" || !svc.Check.TLSSkipVerify || svc.Meta["metrics_scheme"] != "https" {
		t.Errorf("https: check %s (skip verify %v), meta %v", svc.Check.HTTP, svc.Check.TLSSkipVerify, svc.Meta)
	}
	bad := base
	bad.Scheme = "ftp"
	if _, err := bad.withDefaults().service(); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Errorf("scheme ftp: %v", err)
	}
}
