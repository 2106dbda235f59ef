package consultest

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/consul/api"
)

// AnonymousToken is the secret of Consul's built-in anonymous token, which
// requests without a token act as.
const AnonymousToken = "anonymous"

// Client returns a Consul API client for the agent that authenticates with
// the management token (when the agent was started WithACL; without ACLs
// every request may do anything). See Config.
func (s *Server) Client() *api.Client { return s.ClientWithToken(s.ManagementToken) }

// ClientWithToken returns a Consul API client that authenticates with
// token, "" meaning the anonymous token; for tests of under-privileged
// tokens.
func (s *Server) ClientWithToken(token string) *api.Client {
	c, err := api.NewClient(s.Config(token))
	if err != nil { // only for a bad configuration, which Config does not make
		panic(fmt.Sprintf("consultest: %v", err))
	}
	return c
}

// Config returns a client configuration for the agent that authenticates
// with token ("" is the anonymous token), for code under test that builds
// its own client. It takes the address, scheme and token from the server,
// not from the CONSUL_HTTP_* environment variables, and keeps no idle
// connections, so it leaves no goroutines behind; it sets no timeout, as
// blocking queries wait up to their WaitTime.
func (s *Server) Config(token string) *api.Config {
	if token == "" {
		token = AnonymousToken
	}
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DisableKeepAlives: true,
	}
	return &api.Config{
		Address:    s.Addr,
		Scheme:     "http",
		Token:      token,
		Transport:  tr,
		HttpClient: &http.Client{Transport: tr},
	}
}
