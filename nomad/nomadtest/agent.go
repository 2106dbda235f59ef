package nomadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/internal/testproc"
	"github.com/sluicehq/sluice/internal/toolbin"
)

// EnvBinary names the environment variable that overrides where the nomad
// binary is found (default: bin/nomad in the module, from `make tools`).
const EnvBinary = "SLUICE_NOMAD_BINARY"

// Datacenter is the datacenter of the agent's client node.
const Datacenter = "dc1"

const (
	// startTimeout bounds how long Start waits for the agent to be ready.
	startTimeout = 90 * time.Second
	// stopTimeout bounds a graceful stop before the group is killed.
	stopTimeout = 20 * time.Second
)

// Agent is a running Nomad agent in -dev mode.
type Agent struct {
	Addr     string // "127.0.0.1:PORT", the HTTP API
	HTTPAddr string // "http://127.0.0.1:PORT", api.Config.Address
	// ManagementToken is the bootstrap management token when the agent was
	// started WithACL, "" otherwise.
	ManagementToken string
	// NodeID is the id of the agent's client node.
	NodeID string

	tb      testing.TB
	bin     string
	dir     string
	logPath string

	mu   sync.Mutex
	proc *testproc.Process
}

// Option configures the agent Start runs.
type Option func(*options)

type options struct {
	acl    bool
	consul string
	hcl    []string
}

// WithACL enables ACLs and bootstraps them with a random management token
// (Agent.ManagementToken, which Client uses). Requests without a token act
// as the anonymous token, which may do nothing.
func WithACL() Option { return func(o *options) { o.acl = true } }

// WithConsul points the agent at the Consul agent at addr (host:port), for
// jobs that register services or read Consul; without it the agent's
// Consul integration is off.
func WithConsul(addr string) Option { return func(o *options) { o.consul = addr } }

// WithHCL adds agent configuration in HCL, applied after Start's own.
func WithHCL(hcl string) Option { return func(o *options) { o.hcl = append(o.hcl, hcl) } }

// Binary returns the path of the nomad binary, or "" and why not.
func Binary() (string, error) { return toolbin.Find("nomad", EnvBinary) }

// Start runs `nomad agent -dev` and waits until it has a leader and its
// client node is ready with the raw_exec driver healthy. The agent is
// stopped when the test ends (SIGINT, so that it stops its allocations and
// unmounts their directories; then SIGKILL to its process group). Start
// skips the test when the binary is absent and fails it when the agent
// does not get ready, showing its log.
func Start(t testing.TB, opts ...Option) *Agent {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Skipf("nomadtest: %v", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir, err := os.MkdirTemp("", "nomadtest-")
	if err != nil {
		t.Fatalf("nomadtest: %v", err)
	}
	a := &Agent{tb: t, bin: bin, dir: dir, logPath: filepath.Join(dir, "nomad.log")}
	// Registered first, so it runs last: after the agent has stopped.
	t.Cleanup(func() { removeAll(t, dir) })
	if o.acl {
		a.ManagementToken = testproc.NewUUID()
	}
	for attempt := 1; ; attempt++ {
		err := a.configure(o)
		if err == nil {
			err = a.start()
		}
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(a.log(), "address already in use") {
			continue
		}
		t.Fatalf("nomadtest: %v\nnomad output:\n%s", err, testproc.Tail(a.log(), 60))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nomadtest: the test failed; last lines of the nomad agent log (%s):\n%s", a.Addr, testproc.Tail(a.log(), 60))
		}
	})
	return a
}

// configure picks the ports and writes the configuration file.
func (a *Agent) configure(o options) error {
	ports, err := testproc.FreePorts(3) // http, rpc, serf
	if err != nil {
		return err
	}
	a.Addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	a.HTTPAddr = "http://" + a.Addr
	var b strings.Builder
	fmt.Fprintf(&b, "name = %q\n", "nomadtest-"+strings.ToLower(rand.Text()[:8]))
	fmt.Fprintf(&b, "datacenter = %q\n", Datacenter)
	fmt.Fprintf(&b, "data_dir = %q\n", filepath.Join(a.dir, "data"))
	b.WriteString("bind_addr = \"127.0.0.1\"\ndisable_update_check = true\nlog_level = \"INFO\"\n")
	fmt.Fprintf(&b, "ports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n", ports[0], ports[1], ports[2])
	fmt.Fprintf(&b, "advertise {\n  http = \"127.0.0.1:%d\"\n  rpc = \"127.0.0.1:%d\"\n  serf = \"127.0.0.1:%d\"\n}\n", ports[0], ports[1], ports[2])
	fmt.Fprintf(&b, `client {
  enabled = true
  network_interface = "lo"
  state_dir = %q
  alloc_dir = %q
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, filepath.Join(a.dir, "client"), filepath.Join(a.dir, "alloc"))
	if o.consul != "" {
		fmt.Fprintf(&b, "consul {\n  address = %q\n}\n", o.consul)
	} else {
		// No Consul: the agent would otherwise retry 127.0.0.1:8500.
		b.WriteString("consul {\n  address = \"127.0.0.1:1\"\n  auto_advertise = false\n  server_auto_join = false\n  client_auto_join = false\n}\n")
	}
	if o.acl {
		b.WriteString("acl {\n  enabled = true\n}\n")
	}
	files := []string{filepath.Join(a.dir, "nomad.hcl")}
	if err := os.WriteFile(files[0], []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing the agent configuration: %w", err)
	}
	for i, hcl := range o.hcl {
		f := filepath.Join(a.dir, fmt.Sprintf("extra-%d.hcl", i+1))
		if err := os.WriteFile(f, []byte(hcl), 0o600); err != nil {
			return fmt.Errorf("writing the agent configuration: %w", err)
		}
		files = append(files, f)
	}
	return nil
}

// start launches the agent and waits until it is ready.
func (a *Agent) start() error {
	args := []string{"agent", "-dev", "-config", a.dir + "/nomad.hcl"}
	for i := 1; ; i++ {
		f := filepath.Join(a.dir, fmt.Sprintf("extra-%d.hcl", i))
		if _, err := os.Stat(f); err != nil {
			break
		}
		args = append(args, "-config", f)
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Dir = a.dir
	cmd.Env = testproc.CleanEnv("NOMAD_", "CONSUL_", "VAULT_")
	p, err := testproc.Start(cmd, a.logPath, false)
	if err != nil {
		return err
	}
	a.tb.Cleanup(func() { a.stop(p) })
	a.mu.Lock()
	a.proc = p
	a.mu.Unlock()
	if err := a.waitReady(p); err != nil {
		a.stop(p)
		return err
	}
	return nil
}

// waitReady waits for a leader, the ACL bootstrap (WithACL) and a ready
// client node with a healthy raw_exec driver.
func (a *Agent) waitReady(p *testproc.Process) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := a.ClientWithToken("")
	step := func(what string, ready func() (bool, string)) error {
		var last string
		for {
			ok, why := ready()
			if ok {
				return nil
			}
			last = why
			select {
			case <-p.Exited():
				return fmt.Errorf("nomad exited while Start waited for %s on %s: %v", what, a.Addr, p.Err())
			case <-ctx.Done():
				return fmt.Errorf("nomad on %s was not ready within %v: waiting for %s (last: %s)", a.Addr, startTimeout, what, last)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if err := step("a leader", func() (bool, string) {
		l, err := c.Status().Leader()
		if err != nil {
			return false, err.Error()
		}
		return l != "", "no leader yet"
	}); err != nil {
		return err
	}
	if a.ManagementToken != "" {
		if err := step("the ACL bootstrap", func() (bool, string) {
			_, _, err := c.ACLTokens().BootstrapOpts(a.ManagementToken, nil)
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		}); err != nil {
			return err
		}
		c = a.Client()
	}
	return step("a ready client node with raw_exec", func() (bool, string) {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, n := range nodes {
			if n.Status != "ready" {
				continue
			}
			if d := n.Drivers["raw_exec"]; d != nil && d.Detected && d.Healthy {
				a.NodeID = n.ID
				return true, ""
			}
			return false, fmt.Sprintf("node %s is ready but raw_exec is not healthy: %+v", n.Name, n.Drivers["raw_exec"])
		}
		return false, fmt.Sprintf("%d nodes, none ready", len(nodes))
	})
}

// stop stops a run of the agent: SIGINT and a wait, so that it stops its
// allocations and unmounts their directories, then SIGKILL to the group.
func (a *Agent) stop(p *testproc.Process) {
	if !p.Reaped() {
		_ = p.Signal(syscall.SIGINT)
		select {
		case <-p.Exited():
		case <-time.After(stopTimeout):
			a.tb.Logf("nomadtest: the agent on %s did not stop within %v of SIGINT; killing it", a.Addr, stopTimeout)
		}
	}
	p.Stop() // the rest of its process group
}

// Kill stops the agent with SIGKILL, as a crash would; its allocations'
// processes go with its process group.
func (a *Agent) Kill(t testing.TB) {
	t.Helper()
	a.mu.Lock()
	p := a.proc
	a.mu.Unlock()
	p.Stop()
}

// Client returns an API client for the agent with the management token
// (WithACL) or none.
func (a *Agent) Client() *api.Client { return a.ClientWithToken(a.ManagementToken) }

// ClientWithToken returns an API client that authenticates with token
// ("" for none, the anonymous token).
func (a *Agent) ClientWithToken(token string) *api.Client {
	c, err := api.NewClient(a.Config(token))
	if err != nil { // only for a bad configuration, which Config does not make
		panic(fmt.Sprintf("nomadtest: %v", err))
	}
	return c
}

// Config returns a client configuration for the agent with token, for code
// under test that builds its own client. It keeps no idle connections, so
// it leaves no goroutines behind.
func (a *Agent) Config(token string) *api.Config {
	tr := &http.Transport{
		Proxy:             nil,
		DialContext:       (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DisableKeepAlives: true,
	}
	return &api.Config{Address: a.HTTPAddr, SecretID: token, HttpClient: &http.Client{Transport: tr}}
}

// CLI runs the nomad command line against the agent, with the management
// token, and returns what it printed on stdout; it fails the test if the
// command fails, showing its stderr.
func (a *Agent) CLI(t testing.TB, args ...string) string {
	t.Helper()
	out, err := a.RunCLI(args...)
	if err != nil {
		t.Fatalf("nomad %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// RunCLI runs the nomad command line against the agent like CLI, and
// returns its stdout and, if it failed, an error holding its stderr.
func (a *Agent) RunCLI(args ...string) (string, error) {
	cmd := exec.Command(a.bin, args...)
	cmd.Env = append(testproc.CleanEnv("NOMAD_"), "NOMAD_ADDR="+a.HTTPAddr)
	if a.ManagementToken != "" {
		cmd.Env = append(cmd.Env, "NOMAD_TOKEN="+a.ManagementToken)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()+"\n"+stdout.String()))
		}
		return stdout.String(), err
	}
	return stdout.String(), nil
}

// log returns what the agent printed.
func (a *Agent) log() string { return testproc.ReadLog(a.logPath) }

// removeAll removes the agent's directory. Allocation directories may hold
// mounts (secrets/ is a tmpfs) that a killed agent left; those are
// unmounted first.
func removeAll(t testing.TB, dir string) {
	if err := os.RemoveAll(dir); err == nil {
		return
	}
	unmountUnder(dir)
	if err := os.RemoveAll(dir); err != nil {
		t.Logf("nomadtest: removing %s: %v", dir, err)
	}
}
