// Package testcerts makes a throwaway certificate authority and
// certificates signed by it, for tests of TLS and mutual TLS on loopback.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Files are the PEM files of one identity.
type Files struct {
	Cert, Key string
}

// Set is a CA and identities it signed, as files in a test's temp dir.
type Set struct {
	CA     string // the CA certificate
	Server Files  // for 127.0.0.1, ::1 and localhost, server and client use
	Client Files  // client use only
	// Stranger is signed by another CA: a peer the cluster must refuse.
	Stranger Files
	dir      string
}

// New writes a fresh CA and identities into t.TempDir().
func New(t testing.TB) *Set {
	t.Helper()
	dir := t.TempDir()
	s := &Set{dir: dir}
	caKey, caCert := selfSigned(t, "sluice test CA")
	s.CA = writePEM(t, dir, "ca.pem", "CERTIFICATE", caCert.Raw)
	s.Server = issue(t, dir, "server", caCert, caKey, true)
	s.Client = issue(t, dir, "client", caCert, caKey, false)
	otherKey, otherCert := selfSigned(t, "another CA")
	s.Stranger = issue(t, dir, "stranger", otherCert, otherKey, true)
	return s
}

func selfSigned(t testing.TB, cn string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func issue(t testing.TB, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, server bool) Files {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "sluice " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Files{
		Cert: writePEM(t, dir, name+".pem", "CERTIFICATE", der),
		Key:  writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", keyDER),
	}
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
