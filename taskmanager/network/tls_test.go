package network

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testcerts"
	"github.com/sluicehq/sluice/internal/tlsutil"
)

// withTLS puts a DataPlane under mutual TLS with id's certificate,
// verifying peers against ca.
func withTLS(t testing.TB, id testcerts.Files, ca string) func(*DataPlaneConfig) {
	t.Helper()
	c := tlsutil.Config{CertFile: id.Cert, KeyFile: id.Key, CAFile: ca}
	srv, err := tlsutil.Server(c)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := tlsutil.Client(c)
	if err != nil {
		t.Fatal(err)
	}
	return func(cfg *DataPlaneConfig) { cfg.TLS, cfg.ClientTLS = srv, cli }
}

// sendOne opens a stream from one plane to another's new inbox for job,
// sends frames over it and checks they arrive.
func sendOne(t *testing.T, from, to *plane, job string) {
	t.Helper()
	const frames = 100
	h := header(job, 0, 1, 0, 2)
	in, err := to.x.Inbox(h.Inbox, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := from.Open(ctx, to.cfg.ID, to.Addr(), h, nil)
	if err != nil {
		t.Fatalf("%s → %s: %v", from.cfg.ID, to.cfg.ID, err)
	}
	sent := make(chan error, 1)
	go func() { sent <- sendFrames(rc, 7, 0, frames) }()
	if err := checkFrames(in, 7, frames); err != nil {
		t.Fatalf("%s → %s: %v", from.cfg.ID, to.cfg.ID, err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("%s → %s: %v", from.cfg.ID, to.cfg.ID, err)
	}
}

// refused opens a stream from one plane to another and returns the error,
// failing the test if the stream opens.
func refused(t *testing.T, from, to *plane) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := from.Open(ctx, to.cfg.ID, to.Addr(), header("refused", 0, 1, 0, 1), nil)
	t.Logf("%s → %s: %v", from.cfg.ID, to.cfg.ID, err)
	if err == nil {
		rc.Abort()
		t.Fatalf("%s opened a stream to %s", from.cfg.ID, to.cfg.ID)
	}
	return err
}

// TestDataPlaneMutualTLS: two planes with certificates of the cluster's
// CA carry streams both ways over TLS. A peer without TLS, one with a
// certificate of another CA and one with no certificate are refused (and
// a plane does not dial into a peer of another CA either), while
// connections that never finish their handshake hold up nobody: the good
// peer is served throughout, and the stalled connections are closed after
// DialTimeout.
func TestDataPlaneMutualTLS(t *testing.T) {
	certs := testcerts.New(t)
	a := startPlane(t, "tm-a", withTLS(t, certs.Server, certs.CA))
	b := startPlane(t, "tm-b", withTLS(t, certs.Server, certs.CA), func(c *DataPlaneConfig) { c.DialTimeout = time.Second })

	// Two connections that stall before or in the handshake.
	silent, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	stalled, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	// The first bytes of a TLS record header, and nothing more.
	if _, err := stalled.Write([]byte{0x16, 0x03, 0x01}); err != nil {
		t.Fatal(err)
	}

	sendOne(t, a, b, "j1")
	sendOne(t, b, a, "j2")
	checkOneConnection(t, a, b)

	// A peer without TLS.
	plain := startPlane(t, "tm-plain")
	if err := refused(t, plain, b); err == nil {
		t.Fatal("unreachable")
	}
	// A peer with a certificate of another CA, which trusts ours.
	stranger := startPlane(t, "tm-stranger", withTLS(t, certs.Stranger, certs.CA))
	if err := refused(t, stranger, b); !strings.Contains(err.Error(), "tls") {
		t.Errorf("the stranger's dial failed with %v; want a TLS error", err)
	}
	// Nor does b accept the stranger as a server.
	if err := refused(t, b, stranger); !strings.Contains(err.Error(), "certificate") {
		t.Errorf("b's dial to the stranger failed with %v; want a certificate error", err)
	}
	// A client with no certificate: TLS 1.3 lets its handshake finish,
	// and the refusal arrives with the first read.
	noCert, err := tlsutil.Client(tlsutil.Config{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&tls.Dialer{Config: noCert}).DialContext(context.Background(), "tcp", b.Addr())
	if err == nil {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		msg, _ := appendPreamble(nil, helloMagic, hello{ID: "tm-nocert"}, maxHello)
		if _, err = conn.Write(msg); err == nil {
			_, err = conn.Read(make([]byte, 1))
		}
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client without a certificate: %v; want it refused for lack of one", err)
	}
	for _, who := range []string{"tm-plain", "tm-stranger", "tm-nocert"} {
		if b.sessionTo(who) != nil {
			t.Errorf("b has a session with %s", who)
		}
	}
	waitFor(t, "b to log the refused handshakes", func() bool {
		return len(b.logs.find("TLS handshake failed")) >= 3
	})

	// The good peer is still served, and the stalled connections are
	// closed once their handshake's time is up.
	sendOne(t, a, b, "j3")
	for name, c := range map[string]net.Conn{"silent": silent, "stalled": stalled} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("b kept the %s connection open past its DialTimeout", name)
			}
		}
	}
	if a.Sessions() != 1 || b.Sessions() != 1 {
		t.Errorf("sessions: a %d, b %d; want 1 each", a.Sessions(), b.Sessions())
	}
}

func TestDataPlaneTLSConfigIsChecked(t *testing.T) {
	certs := testcerts.New(t)
	c := tlsutil.Config{CertFile: certs.Server.Cert, KeyFile: certs.Server.Key, CAFile: certs.CA}
	srv, _ := tlsutil.Server(c)
	cli, _ := tlsutil.Client(c)
	noCert, _ := tlsutil.Client(tlsutil.Config{CAFile: certs.CA})
	x := NewExchange()
	for name, cfg := range map[string]DataPlaneConfig{
		"server side only":         {ID: "a", Exchange: x, TLS: srv},
		"client side only":         {ID: "a", Exchange: x, ClientTLS: cli},
		"client without a cert":    {ID: "a", Exchange: x, TLS: srv, ClientTLS: noCert},
		"server without a cert":    {ID: "a", Exchange: x, TLS: &tls.Config{}, ClientTLS: cli},
		"both, as a plane needs":   {ID: "a", Exchange: x, TLS: srv, ClientTLS: cli},
		"server without ClientCAs": {ID: "a", Exchange: x, TLS: &tls.Config{Certificates: srv.Certificates}, ClientTLS: cli},
	} {
		d, err := NewDataPlane(cfg)
		ok := strings.HasPrefix(name, "both") || strings.HasPrefix(name, "server without ClientCAs")
		if ok != (err == nil) {
			t.Errorf("%s: %v", name, err)
		}
		if err == nil {
			if d.cfg.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
				t.Errorf("%s: ClientAuth %v; the data plane always requires client certificates", name, d.cfg.TLS.ClientAuth)
			}
			d.Close()
		}
	}
	if srv.ClientAuth != tls.RequireAndVerifyClientCert || cli.ServerName != "" {
		t.Error("NewDataPlane changed the configurations it was given")
	}
}

// BenchmarkRemoteTLS is BenchmarkRemoteVsTCP's DataPlane stream under
// mutual TLS, next to the same stream without (run it with
// -benchtime=1x).
func BenchmarkRemoteTLS(b *testing.B) {
	certs := testcerts.New(b)
	a, c := startPlane(b, "tm-a", withTLS(b, certs.Server, certs.CA)), startPlane(b, "tm-b", withTLS(b, certs.Server, certs.CA))
	pa, pc := startPlane(b, "tm-a"), startPlane(b, "tm-b")
	var bestTLS, bestPlain float64
	for run := range benchRuns {
		r, err := benchRemote(a, c, run)
		if err != nil {
			b.Fatal(err)
		}
		p, err := benchRemote(pa, pc, run)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("run %d: tls %.0f MB/s, plain %.0f MB/s", run, r, p)
		bestTLS, bestPlain = max(bestTLS, r), max(bestPlain, p)
	}
	b.ReportMetric(bestTLS, "tls-MB/s")
	b.ReportMetric(bestPlain, "plain-MB/s")
	b.ReportMetric(bestTLS/bestPlain, "ratio")
}
