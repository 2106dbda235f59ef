package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/internal/metricsreg"
	"github.com/sluicehq/sluice/internal/testcerts"
	"github.com/sluicehq/sluice/internal/tlsutil"
	"github.com/sluicehq/sluice/nomad/nomadtest"
)

// tlsArgs are the JobManager flags of mutual TLS with certs: the server
// certificate (which serves and, handed to the local TaskManagers, also
// authenticates them) and the CA.
func tlsArgs(certs *testcerts.Set) []string {
	return []string{"--tls-cert", certs.Server.Cert, "--tls-key", certs.Server.Key, "--tls-ca", certs.CA}
}

// startTLSTaskManager starts a job binary by hand as a TaskManager of c
// with the given SLUICE_TLS_* settings (and others, KEY=VALUE).
func (c *cluster) startTLSTaskManager(t *testing.T, id string, env []string, bin string, args ...string) *proc {
	t.Helper()
	return start(t, id, append([]string{
		"SLUICE_MODE=taskmanager", "SLUICE_JOBMANAGER_RPC=" + c.rpc, "SLUICE_TASKMANAGER_ID=" + id, "SLUICE_SLOTS=1",
	}, env...), bin, args...)
}

// waitExit waits for a process that must stop on its own.
func waitExit(t *testing.T, p *proc, what string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s kept running", what)
	}
}

// TestTLSEndToEnd runs a job on a JobManager with mutual TLS: jmctl
// submits it over https, verifying the JobManager against the CA; the
// local provider's two TaskManagers (one slot each, so records cross the
// data plane) get the certificate through the environment, register over
// TLS, and exchange records under mutual TLS; the sums are exact. Plain
// HTTP and an https client that does not trust the CA are refused by the
// REST API; TaskManagers started by hand without a certificate, with one
// of another CA or without TLS are refused by the control endpoint and
// exit saying so, as does one that does not trust the JobManager's
// certificate; one with a certificate of the CA registers.
func TestTLSEndToEnd(t *testing.T) {
	certs := testcerts.New(t)
	c := startJobManager(t, append([]string{"--slots", "1"}, tlsArgs(certs)...)...)
	output := filepath.Join(t.TempDir(), "sums")
	const records = 20000
	id := c.submit(t, bins.testjob, "--records", "20000", "--parallelism", "2", "--output", output)
	d := c.waitJob(t, id, time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if got, want := readSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	used := map[string]bool{}
	for _, st := range d.Tasks {
		used[st.TaskManager] = true
	}
	if len(used) != 2 {
		t.Fatalf("the subtasks ran on %v; want two TaskManagers, so that records cross the data plane", used)
	}
	logs, _ := filepath.Glob(filepath.Join(c.dataDir, "taskmanagers", "*.log"))
	if len(logs) != 2 {
		t.Fatalf("TaskManager logs %v; want two", logs)
	}
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if !strings.Contains(string(b), "mutual TLS on the data plane") || !strings.Contains(string(b), "registered") {
			t.Errorf("%s does not show a TaskManager under TLS:\n%s", l, b)
		}
	}
	// jmctl over https reads the job too (SLUICE_TLS_CA, no scheme).
	if out, code := c.jmctl(t, "info", id); code != 0 || !strings.Contains(out, "finished") {
		t.Errorf("jmctl info over https: exit %d:\n%s", code, out)
	}

	// The REST API answers plain HTTP with 400 and nothing else.
	resp, err := http.Get("http://" + c.rest + "/v1/jobs")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), id) {
			t.Errorf("plain HTTP to the TLS REST port: %d %s", resp.StatusCode, b)
		}
	}
	// A client that does not trust the CA is refused, jmctl too.
	tr := &http.Transport{TLSClientConfig: &tls.Config{}}
	defer tr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: tr}).Get("https://" + c.rest + "/v1/jobs"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("https without the CA: %v; want a certificate error", err)
	}
	ca := c.tlsCA
	c.tlsCA = ""
	out, code := c.jmctl(t, "--jobmanager", "https://"+c.rest, "list")
	if code == 0 || !strings.Contains(out, "certificate") {
		t.Errorf("jmctl without --tls-ca: exit %d: %s", code, out)
	}
	c.tlsCA = ca
	// The REST API wants no client certificate: an https request that
	// trusts the CA and presents none gets through.
	tc, err := tlsutil.Client(tlsutil.Config{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	tr2 := &http.Transport{TLSClientConfig: tc}
	defer tr2.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr2}).Get("https://" + c.rest + "/v1/health"); err != nil {
		t.Errorf("https with the CA and no client certificate: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("https with the CA and no client certificate: %d", resp.StatusCode)
		}
	}

	// The job's TaskManagers are gone; now TaskManagers started by hand.
	waitFor(t, 20*time.Second, "the job's TaskManagers to go", func() bool {
		tms, err := c.client.TaskManagers(context.Background())
		return err == nil && len(tms) == 0
	})
	job := []string{"--records", "10"}
	for _, tc := range []struct {
		name string
		env  []string
		want []string // in its output
	}{
		{"tm-nocert", []string{"SLUICE_TLS_CA=" + certs.CA}, []string{"refused this TaskManager's certificate", "SLUICE_TLS_CERT"}},
		{"tm-stranger", []string{"SLUICE_TLS_CA=" + certs.CA, "SLUICE_TLS_CERT=" + certs.Stranger.Cert, "SLUICE_TLS_KEY=" + certs.Stranger.Key},
			[]string{"refused this TaskManager's certificate", "SLUICE_TLS_CERT"}},
		// One that trusts another CA than the JobManager's.
		{"tm-distrust", []string{"SLUICE_TLS_CA=" + certs.Stranger.Cert, "SLUICE_TLS_CERT=" + certs.Server.Cert, "SLUICE_TLS_KEY=" + certs.Server.Key},
			[]string{"does not trust the JobManager's certificate", "SLUICE_TLS_CA"}},
		{"tm-plain", nil, []string{"SLUICE_TLS_CA"}},
	} {
		p := c.startTLSTaskManager(t, tc.name, tc.env, bins.testjob, job...)
		waitExit(t, p, "a TaskManager refused by the control endpoint ("+tc.name+")")
		for _, w := range tc.want {
			if !strings.Contains(p.out.String(), w) {
				t.Errorf("%s exited saying no %q:\n%s", tc.name, w, p.out.String())
			}
		}
	}
	c.startTLSTaskManager(t, "tm-good", []string{"SLUICE_TLS_CA=" + certs.CA, "SLUICE_TLS_CERT=" + certs.Server.Cert, "SLUICE_TLS_KEY=" + certs.Server.Key},
		bins.testjob, job...)
	c.waitTaskManagers(t, 1)
	if tms, err := c.client.TaskManagers(t.Context()); err != nil || len(tms) != 1 || tms[0].ID != "tm-good" {
		t.Fatalf("TaskManagers %+v (%v), want only tm-good", tms, err)
	}
}

// TestTLSWithConsul: JobManagers with TLS publish an https leader record;
// a standby redirects to the leader's https URL, jmctl --consul reaches
// the leader over https, and a TaskManager that finds the leader through
// Consul registers over mutual TLS.
func TestTLSWithConsul(t *testing.T) {
	certs := testcerts.New(t)
	h := startHACluster(t, 2, tlsArgs(certs)...)
	leader := h.leader(t, "")
	l, err := h.disc.Leader(context.Background())
	if err != nil || l.Scheme != "https" || l.RESTURL() != "https://"+h.jms[leader].rest {
		t.Fatalf("leader record %+v (%v); want the https REST URL of %s", l, err, leader)
	}
	var standby string
	for id := range h.jms {
		if id != leader {
			standby = id
		}
	}
	tc, err := tlsutil.Client(tlsutil.Config{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: tc}
	defer tr.CloseIdleConnections()
	noFollow := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("https://" + h.jms[standby].rest + "/v1/jobs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://" + h.jms[leader].rest + "/v1/jobs"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("the standby answered %d with Location %q; want a redirect to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// The metrics endpoint is registered as https, and Consul's check of
	// it gets an answer.
	ctr := &http.Transport{DisableKeepAlives: true}
	cc, err := consul.NewClient(&consul.Config{Address: h.consul, Transport: ctr, HttpClient: &http.Client{Transport: ctr}})
	if err != nil {
		t.Fatal(err)
	}
	svcID := metricsreg.ServiceJobManager + "-" + leader
	waitFor(t, 30*time.Second, "Consul's https check of the leader's metrics to answer 200", func() bool {
		checks, err := cc.Agent().Checks()
		if err != nil {
			return false
		}
		chk := checks["service:"+svcID]
		return chk != nil && chk.Status == consul.HealthPassing && strings.Contains(chk.Output, "200 OK")
	})
	if svcs, err := cc.Agent().Services(); err != nil || svcs[svcID] == nil || svcs[svcID].Meta["metrics_scheme"] != "https" {
		t.Errorf("the leader's metrics service: %v (%v); want metrics_scheme https in its meta", svcs[svcID], err)
	}
	lc := h.jms[leader]
	start(t, "tm-1", []string{
		"SLUICE_MODE=taskmanager", "SLUICE_CONSUL=" + h.consul, "SLUICE_TASKMANAGER_ID=tm-1", "SLUICE_SLOTS=1",
		"SLUICE_TLS_CA=" + certs.CA, "SLUICE_TLS_CERT=" + certs.Server.Cert, "SLUICE_TLS_KEY=" + certs.Server.Key,
	}, bins.testjob, "--records", "10")
	lc.waitTaskManagers(t, 1)
	// jmctl --consul follows the record's scheme.
	out, code := lc.jmctl(t, "--jobmanager", "127.0.0.1:1", "--consul", h.consul, "taskmanagers")
	if code != 0 || !strings.Contains(out, "tm-1") {
		t.Fatalf("jmctl --consul taskmanagers over https: exit %d:\n%s", code, out)
	}
}

// TestNomadWithTLS runs a job on a JobManager with mutual TLS whose
// TaskManagers come from Nomad: the Nomad job carries the JobManager's
// TLS files in its environment, the allocations find them at the same
// paths (one machine here) and register and exchange records under TLS;
// the sums are exact. The artifacts come through a plain-HTTP proxy
// (--nomad-artifact-url): Nomad's sandboxed artifact fetcher trusts the
// system's roots only, which a test cannot add its CA to.
func TestNomadWithTLS(t *testing.T) {
	certs := testcerts.New(t)
	tc, err := tlsutil.Client(tlsutil.Config{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	// The JobManager's address is known once it runs; the proxy is
	// needed before, for its flag.
	var target atomic.Pointer[url.URL]
	tr := &http.Transport{TLSClientConfig: tc}
	proxy := httptest.NewServer(&httputil.ReverseProxy{Transport: tr, Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target.Load())
	}})
	t.Cleanup(func() { proxy.Close(); tr.CloseIdleConnections() })
	agent := nomadtest.Start(t)
	nc := agent.Client()
	c := startJobManager(t, nomadArgs(agent, append(tlsArgs(certs), "--nomad-artifact-url", proxy.URL)...)...)
	target.Store(&url.URL{Scheme: "https", Host: c.rest})
	output := filepath.Join(t.TempDir(), "sums")
	const records = 20000
	id := c.submit(t, bins.testjob, "--records", strconv.Itoa(records), "--parallelism", "4", "--output", output)
	var j *nomadapi.Job
	waitFor(t, 30*time.Second, "the Nomad job", func() bool { j = nomadJob(t, nc, id); return j != nil })
	task := j.TaskGroups[0].Tasks[0]
	for k, v := range map[string]string{"SLUICE_TLS_CERT": certs.Server.Cert, "SLUICE_TLS_KEY": certs.Server.Key, "SLUICE_TLS_CA": certs.CA} {
		if task.Env[k] != v {
			t.Errorf("task env %s = %q, want %q", k, task.Env[k], v)
		}
	}
	d := c.waitJob(t, id, 2*time.Minute, "finished", "failed")
	if d.State != "finished" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	if got, want := readSums(t, output), expectedSums(records); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	used := map[string]bool{}
	for _, st := range d.Tasks {
		used[st.TaskManager] = true
	}
	if len(used) != 2 {
		t.Errorf("the subtasks ran on %v; want the two TaskManagers of the Nomad job", used)
	}
	waitDeregistered(t, nc, id)
}
