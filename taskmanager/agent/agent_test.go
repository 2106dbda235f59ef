package agent

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testcerts"
	"github.com/sluicehq/sluice/internal/tlsutil"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/rpc"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// TestAdmitRefusesOlderEpochs: once a TaskManager has seen a leader's
// epoch, commands of an older one (a deposed leader) are refused, and
// those of the same or a newer one are taken.
func TestAdmitRefusesOlderEpochs(t *testing.T) {
	a := &agent{}
	for _, tc := range []struct {
		epoch uint64
		want  bool
	}{
		{0, true},   // no HA
		{20, true},  // the first leader
		{20, true},  // the same leader again
		{36, true},  // a new leader
		{20, false}, // the old one, deposed
		{35, false},
		{36, true},
	} {
		if got := a.admit(&rpc.JobManagerMessage{Epoch: tc.epoch}); got != tc.want {
			t.Fatalf("admit(epoch %d) after newest %d = %v, want %v", tc.epoch, a.epoch.Load(), got, tc.want)
		}
	}
	if a.epoch.Load() != 36 {
		t.Fatalf("newest epoch %d, want 36", a.epoch.Load())
	}
}

type noProgram struct{}

func (noProgram) NewChain(*task.Deployment, task.IO) (task.Chain, error) {
	return nil, errors.New("no chains here")
}

// TestTLSFromTheEnvironment: the TLS files come from SLUICE_TLS_* field by
// field unless set, a certificate needs its key, and the configurations
// follow from what is given: a CA alone dials the JobManager with TLS
// and leaves the data plane plain; a certificate puts the data plane
// under mutual TLS.
func TestTLSFromTheEnvironment(t *testing.T) {
	certs := testcerts.New(t)
	base := Config{JobManager: "127.0.0.1:1", Program: noProgram{}, Graph: &jobgraph.Graph{}, Artifact: "x"}
	t.Setenv(EnvTLSCert, certs.Server.Cert)
	t.Setenv(EnvTLSKey, certs.Server.Key)
	t.Setenv(EnvTLSCA, certs.CA)
	c := base
	c.TLS.CAFile = "/own/ca.pem"
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != certs.Server.Cert || c.TLS.KeyFile != certs.Server.Key || c.TLS.CAFile != "/own/ca.pem" {
		t.Errorf("TLS %+v: want the environment's certificate and key and the configured CA", c.TLS)
	}
	tc, err := newTLS(tlsutil.Config{CertFile: certs.Server.Cert, KeyFile: certs.Server.Key, CAFile: certs.CA, ServerName: "jm.example"}, slog.New(slog.DiscardHandler))
	if err != nil || tc.control == nil || tc.dataServer == nil || tc.dataClient == nil {
		t.Fatalf("with certificate and CA: %+v, %v", tc, err)
	}
	if tc.control.ServerName != "jm.example" || tc.dataClient.ServerName != "" || tc.dataServer.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("server names %q (control) and %q (peers), data plane client auth %v", tc.control.ServerName, tc.dataClient.ServerName, tc.dataServer.ClientAuth)
	}
	tc, err = newTLS(tlsutil.Config{CAFile: certs.CA}, slog.New(slog.DiscardHandler))
	if err != nil || tc.control == nil || tc.dataServer != nil || tc.dataClient != nil {
		t.Errorf("with a CA only: %+v, %v", tc, err)
	}
	t.Setenv(EnvTLSKey, "")
	c = base
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), EnvTLSKey) {
		t.Errorf("a certificate without a key: %v", err)
	}
}

func TestProcsFor(t *testing.T) {
	for _, c := range []struct {
		slots, current int
		env            string
		want           int
	}{
		{slots: 1, current: 2, want: 1},
		{slots: 4, current: 16, want: 4},
		{slots: 2, current: 2, want: 2},
		{slots: 8, current: 4, want: 4},               // never more than the runtime chose
		{slots: 0, current: 4, want: 4},               // unknown slots
		{slots: 1, current: 4, env: "4", want: 4},     // the operator's choice stands
		{slots: 1, current: 3, env: "bogus", want: 3}, // even one the runtime ignored
	} {
		if got := ProcsFor(c.slots, c.current, c.env); got != c.want {
			t.Errorf("ProcsFor(%d, %d, %q) = %d, want %d", c.slots, c.current, c.env, got, c.want)
		}
	}
}

func TestEnvInt(t *testing.T) {
	env := map[string]string{"A": "", "B": "262144", "C": "2MiB", "D": "-1"}
	getenv := func(k string) string { return env[k] }
	if n, err := EnvInt(getenv, "A"); n != 0 || err != nil {
		t.Errorf("unset: %d, %v", n, err)
	}
	if n, err := EnvInt(getenv, "B"); n != 262144 || err != nil {
		t.Errorf("262144: %d, %v", n, err)
	}
	for _, k := range []string{"C", "D"} {
		if _, err := EnvInt(getenv, k); err == nil || !strings.Contains(err.Error(), k+"=") {
			t.Errorf("%s=%q: %v, want an error naming it", k, env[k], err)
		}
	}
}

func TestStreamWindowOutOfRange(t *testing.T) {
	cfg := Config{JobManager: "127.0.0.1:1", Program: noProgram{}, Graph: &jobgraph.Graph{}, Artifact: "x", StreamWindow: 1024}
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), EnvStreamWindow) {
		t.Fatalf("a 1 KiB stream window: %v, want an error naming %s", err, EnvStreamWindow)
	}
}
