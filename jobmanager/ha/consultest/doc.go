// Package consultest runs a real Consul agent for tests: `consul agent
// -dev`, a single server that elects itself leader at once and keeps its
// state in memory, on free loopback ports, optionally with ACLs enforced.
//
// The binary is built into the module's ./bin by `make tools` (Consul
// v1.22.0, from the Go module proxy, in the tools module .tools/consul);
// tests find it there or through $SLUICE_CONSUL_BINARY. Start fails the test (it
// does not skip it) when the binary is missing, so a machine without it
// notices.
//
//	srv := consultest.Start(t)            // or Start(t, consultest.WithACL())
//	c := srv.Client()                     // *api.Client, management token if ACLs are on
//	_, err := c.KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil)
//
// Failure tests can crash the agent (Kill), freeze it so that connections
// hang (Pause, Resume), and bring it back on the same address (Restart).
package consultest
