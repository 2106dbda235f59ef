// Package nomadtest runs a real Nomad agent for tests: `nomad agent -dev`,
// one server that is also a client, with the raw_exec driver enabled, on
// free loopback ports, its state and allocations in the test's temporary
// directory, optionally with ACLs enforced and Consul integration.
//
// The binary is built into the module's ./bin by `make tools` (Nomad
// v1.11.2, from the Go module proxy, in the tools module .tools/nomad);
// tests find it there or through $SLUICE_NOMAD_BINARY. Start skips the test,
// saying how to install the agent, when the binary is absent: `.ci/run`
// runs `make tools`, so CI always has it.
//
//	agent := nomadtest.Start(t)                 // or Start(t, nomadtest.WithACL(), nomadtest.WithConsul(addr))
//	c := agent.Client()                        // *api.Client, with the management token if ACLs are on
//	out := agent.CLI(t, "job", "validate", path) // the nomad CLI against the agent
//
// The client fingerprints no cloud environment (fingerprint.denylist), as
// those fingerprinters fail where no metadata service answers.
package nomadtest
