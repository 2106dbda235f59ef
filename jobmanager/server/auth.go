package server

import (
	"fmt"
	"net"

	"github.com/sluicehq/sluice/jobmanager/auth"
)

// newAuthorizer builds the token checks from the configuration. Without
// any token it lets every request through, and then refuses to listen
// beyond loopback: an open submit endpoint runs anyone's code.
func (s *Server) newAuthorizer() (*auth.Authorizer, error) {
	cfg := auth.Config{AnonymousRead: s.cfg.AnonymousRead}
	if s.cfg.Token != "" {
		cfg.Tokens = append(cfg.Tokens, auth.Token{Name: "management", Secret: s.cfg.Token, Rights: []auth.Right{auth.Manage, auth.TaskManager}})
	}
	if s.cfg.ACLFile != "" {
		if err := auth.LoadFile(s.cfg.ACLFile, &cfg); err != nil {
			return nil, fmt.Errorf("jobmanager: --acl-file: %w", err)
		}
	}
	a, err := auth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("jobmanager: %w", err)
	}
	if a.Enabled() {
		s.log.Info("tokens are checked on the REST API and the control endpoint", "tokens", len(cfg.Tokens), "anonymous_read", cfg.AnonymousRead)
		return a, nil
	}
	for _, l := range []struct{ flag, addr string }{{"--http-addr", s.HTTPAddr()}, {"--rpc-addr", s.RPCAddr()}} {
		if !isLoopback(l.addr) {
			return nil, fmt.Errorf("jobmanager: %s %s is not a loopback address, and no token is configured: anyone who reaches it could run code on the cluster; set a token (--token or $SLUICE_TOKEN, or --acl-file) or listen on 127.0.0.1", l.flag, l.addr)
		}
	}
	s.log.Warn("no token configured: the REST API and the control endpoint accept every request, so they listen on loopback only; set --token or --acl-file to serve other machines")
	return a, nil
}

// isLoopback reports whether a listener's address is on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
