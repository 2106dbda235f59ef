package tlsutil

import (
	"crypto/tls"
	"io"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testcerts"
)

// handshake runs a TLS handshake between a server and a client config on
// loopback and returns the client's error (or the server's).
func handshake(t *testing.T, srv, cli *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = c.Write([]byte("ok"))
		}
		errc <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), cli)
	if err == nil {
		_, err = io.ReadAll(io.LimitReader(c, 2))
		c.Close()
	}
	if serr := <-errc; err == nil {
		err = serr
	}
	return err
}

func TestMutualTLS(t *testing.T) {
	certs := testcerts.New(t)
	srv, err := Server(Config{CertFile: certs.Server.Cert, KeyFile: certs.Server.Key, CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	good, err := Client(Config{CertFile: certs.Client.Cert, KeyFile: certs.Client.Key, CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, srv, good); err != nil {
		t.Fatalf("client with a certificate of the CA: %v", err)
	}
	noCert, _ := Client(Config{CAFile: certs.CA})
	if err := handshake(t, srv, noCert); err == nil {
		t.Error("a client without a certificate got through mutual TLS")
	}
	stranger, _ := Client(Config{CertFile: certs.Stranger.Cert, KeyFile: certs.Stranger.Key, CAFile: certs.CA})
	if err := handshake(t, srv, stranger); err == nil {
		t.Error("a client with another CA's certificate got through mutual TLS")
	}
	// A server of another CA is refused by the client.
	other, _ := Server(Config{CertFile: certs.Stranger.Cert, KeyFile: certs.Stranger.Key})
	if err := handshake(t, other, good); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("client accepted a server of another CA: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Server(Config{}); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Errorf("server without certificate: %v", err)
	}
	if _, err := Client(Config{CertFile: "x"}); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("certificate without key: %v", err)
	}
	if _, err := Client(Config{CAFile: "/nonexistent/ca.pem"}); err == nil || !strings.Contains(err.Error(), "CA bundle") {
		t.Errorf("missing CA: %v", err)
	}
	if (Config{}).Enabled() || !(Config{CAFile: "x"}).Enabled() {
		t.Error("Enabled")
	}
}
