// Package consulclient builds the Consul API clients of Sluice's
// processes (leader election and discovery, metrics registration) the one
// way: from consul/api's defaults, so that the CONSUL_* environment
// variables (TLS: CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
// CONSUL_HTTP_SSL) apply, with the address and token given.
package consulclient

import (
	"fmt"
	"net/http"

	"github.com/hashicorp/consul/api"
)

// New returns a client of the Consul agent at addr with token ("" keeps
// CONSUL_HTTP_TOKEN, if set), and its transport, whose idle connections
// the caller closes when done with the client.
func New(addr, token string) (*api.Client, *http.Transport, error) {
	ac := api.DefaultConfig()
	ac.Address = addr
	if token != "" {
		ac.Token = token
	}
	tr := ac.Transport
	client, err := api.NewClient(ac)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, nil, fmt.Errorf("Consul client for %s: %w", addr, err)
	}
	return client, tr, nil
}
