package server

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/jobmanager/artifacts"
	"github.com/sluicehq/sluice/jobmanager/provider"
	"github.com/sluicehq/sluice/nomad"
)

// newProvider builds the resource provider cfg.Provider names. It runs
// after the listeners are open: the Nomad provider tells Nomad where the
// artifacts are served.
func (s *Server) newProvider() (provider.Provider, error) {
	switch s.cfg.Provider {
	case ProviderLocal:
		return provider.NewLocal(provider.LocalConfig{WorkDir: filepath.Join(s.cfg.DataDir, "taskmanagers"), Logger: s.cfg.Logger})
	case ProviderNomad:
		nc := s.cfg.Nomad
		if nc.ArtifactBaseURL == "" {
			// https with TLS: the Nomad clients must trust the
			// JobManager's certificate (its CA in their system roots),
			// or use --nomad-artifact-url.
			nc.ArtifactBaseURL = s.restURL()
		}
		nc.Cluster, nc.Logger = s.cfg.Cluster, s.cfg.Logger
		p, err := nomad.NewProvider(nc)
		if err != nil {
			return nil, fmt.Errorf("jobmanager: --provider nomad: %w", err)
		}
		return p, nil
	default:
		return provider.NewStandalone(), nil
	}
}

// storeFile puts the binary at path into the artifact store and returns it
// as a file for TaskManagers, under its own base name.
func (s *Server) storeFile(path string) (*provider.File, error) {
	d, err := artifacts.Digest(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Put(d, f, st.Size()); err != nil {
		return nil, err
	}
	return &provider.File{Name: filepath.Base(path), Digest: d}, nil
}

// advertise returns addr (host:port of one of our listeners) with the host
// others reach this JobManager at: AdvertiseHost if set, the listen host
// if it is a specific one, else this machine's first non-loopback
// address.
func (s *Server) advertise(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch {
	case s.cfg.AdvertiseHost != "":
		host = s.cfg.AdvertiseHost
	case host == "" || net.ParseIP(host).IsUnspecified():
		host = outboundHost()
	}
	return net.JoinHostPort(host, port)
}

// outboundHost returns this machine's first non-loopback unicast address,
// or 127.0.0.1 when it has none.
func outboundHost() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	var v6 string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || !ipn.IP.IsGlobalUnicast() {
			continue
		}
		if ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
		if v6 == "" {
			v6 = ipn.IP.String()
		}
	}
	if v6 != "" {
		return v6
	}
	return "127.0.0.1"
}
