package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Config holds the files of a process's TLS identity.
type Config struct {
	// CertFile and KeyFile are this process's certificate (chain) and
	// private key, PEM.
	CertFile, KeyFile string
	// CAFile is the PEM bundle peers' certificates are verified against.
	// On a server it turns on mutual TLS: clients must present a
	// certificate it signed.
	CAFile string
	// ServerName overrides the name a client checks the server's
	// certificate for (default: the host it dials).
	ServerName string
}

// Enabled reports whether any TLS setting is given.
func (c Config) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" || c.CAFile != "" }

func (c Config) validate(server bool) error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("tls: a certificate needs its key and a key its certificate; give both --tls-cert and --tls-key")
	}
	if server && c.CertFile == "" {
		return errors.New("tls: a server needs a certificate and key (--tls-cert, --tls-key)")
	}
	return nil
}

func (c Config) pool() (*x509.CertPool, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("tls: CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: CA bundle %s holds no PEM certificate", c.CAFile)
	}
	return pool, nil
}

func (c Config) certificate() ([]tls.Certificate, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
	}
	return []tls.Certificate{cert}, nil
}

// Server returns the configuration of a TLS server: its certificate and,
// with a CA, mutual TLS (clients must present a certificate the CA
// signed). TLS 1.2 at least.
func Server(c Config) (*tls.Config, error) {
	if err := c.validate(true); err != nil {
		return nil, err
	}
	certs, err := c.certificate()
	if err != nil {
		return nil, err
	}
	pool, err := c.pool()
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12}
	if pool != nil {
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Client returns the configuration of a TLS client: servers verified
// against the CA (or the system's roots without one), and this process's
// certificate presented when it has one (mutual TLS).
func Client(c Config) (*tls.Config, error) {
	if err := c.validate(false); err != nil {
		return nil, err
	}
	certs, err := c.certificate()
	if err != nil {
		return nil, err
	}
	pool, err := c.pool()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: certs, RootCAs: pool, ServerName: c.ServerName, MinVersion: tls.VersionTLS12}, nil
}
