package consultest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testproc"
	"github.com/sluicehq/sluice/internal/toolbin"
)

// EnvBinary names the environment variable that overrides where the consul
// binary is found (default: bin/consul in the module, from `make tools`).
const EnvBinary = "SLUICE_CONSUL_BINARY"

// startTimeout bounds how long Start and Restart wait for the agent to be
// ready.
const startTimeout = 60 * time.Second

// Server is a running Consul agent in -dev mode: one server, its own
// leader, its state in memory. Clients reach its HTTP API at Addr.
type Server struct {
	Addr     string // "127.0.0.1:PORT", the HTTP API (api.Config.Address)
	HTTPAddr string // "http://127.0.0.1:PORT"
	// ManagementToken is the initial management token when the agent was
	// started WithACL, "" otherwise.
	ManagementToken string
	// NodeName is the agent's node in the catalog; sessions are created
	// against it by default.
	NodeName string

	tb      testing.TB // the test that started the agent; owns every run
	bin     string
	args    []string
	dir     string // configuration, log, data
	logPath string

	mu   sync.Mutex
	proc *testproc.Process // the current run
}

// Option configures the agent Start runs.
type Option func(*options)

type options struct {
	acl bool
	hcl []string
}

// WithACL enables ACLs with default policy deny and a random initial
// management token (Server.ManagementToken, which Client uses). Requests
// without a token act as the anonymous token and are refused.
func WithACL() Option { return func(o *options) { o.acl = true } }

// WithHCL adds agent configuration in HCL, applied after Start's own (so
// it may override it), for example `session_ttl_min = "1s"` for tests that
// want sessions shorter than Consul's 10s minimum.
func WithHCL(hcl string) Option { return func(o *options) { o.hcl = append(o.hcl, hcl) } }

// Start runs `consul agent -dev` on free 127.0.0.1 ports (HTTP, serf LAN
// and server RPC; DNS, HTTPS, gRPC and serf WAN are off) with a temporary
// data directory, and waits until it has a leader, its node is registered
// and healthy (so sessions can be created) and, WithACL, the management
// token works. The agent and its process group are killed when the test
// ends. Start fails the test, showing the agent's output, if the agent
// does not get ready, and with a message saying to run `make tools` if the
// binary is missing. The binary is found at <module root>/bin/consul or
// via $SLUICE_CONSUL_BINARY.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := toolbin.Find("consul", EnvBinary)
	if err != nil {
		t.Fatalf("consultest: %v", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := t.TempDir()
	s := &Server{
		NodeName: "consultest-" + strings.ToLower(rand.Text()[:10]),
		tb:       t,
		bin:      bin,
		dir:      dir,
		logPath:  filepath.Join(dir, "consul.log"),
	}
	if o.acl {
		s.ManagementToken = testproc.NewUUID()
	}
	// Another process may take a free port between our probe and the
	// agent's bind; that shows as an early exit and we try other ports.
	for attempt := 1; ; attempt++ {
		err := s.configure(o)
		if err == nil {
			err = s.start(false)
		}
		if err == nil {
			break
		}
		if attempt < 3 && (strings.Contains(s.log(), "address already in use") || strings.Contains(s.log(), "already configured")) {
			continue
		}
		t.Fatalf("consultest: %v\nconsul output:\n%s", err, s.log())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("consultest: the test failed; last lines of the consul agent log (%s):\n%s", s.Addr, testproc.Tail(s.log(), 40))
		}
	})
	return s
}

// configure picks the ports and writes the configuration files.
func (s *Server) configure(o options) error {
	ports, err := testproc.FreePorts(3) // http, serf_lan, server
	if err != nil {
		return err
	}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	s.HTTPAddr = "http://" + s.Addr

	var b strings.Builder
	fmt.Fprintf(&b, "node_name = %q\n", s.NodeName)
	fmt.Fprintf(&b, "data_dir = %q\n", filepath.Join(s.dir, "data"))
	b.WriteString(`bind_addr = "127.0.0.1"
advertise_addr = "127.0.0.1"
client_addr = "127.0.0.1"
disable_update_check = true
`)
	fmt.Fprintf(&b, "ports {\n  http = %d\n  https = -1\n  dns = -1\n  grpc = -1\n  grpc_tls = -1\n  serf_lan = %d\n  serf_wan = -1\n  server = %d\n}\n",
		ports[0], ports[1], ports[2])
	if o.acl {
		fmt.Fprintf(&b, "acl {\n  enabled = true\n  default_policy = \"deny\"\n  enable_token_persistence = false\n  tokens {\n    initial_management = %q\n  }\n}\n", s.ManagementToken)
	}
	files := []string{filepath.Join(s.dir, "consul.hcl")}
	if err := os.WriteFile(files[0], []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing the agent configuration: %w", err)
	}
	for i, hcl := range o.hcl {
		f := filepath.Join(s.dir, fmt.Sprintf("extra-%d.hcl", i+1))
		if err := os.WriteFile(f, []byte(hcl), 0o600); err != nil {
			return fmt.Errorf("writing the agent configuration: %w", err)
		}
		files = append(files, f)
	}
	s.args = []string{"agent", "-dev"}
	for _, f := range files {
		s.args = append(s.args, "-config-file", f)
	}
	return nil
}

// start launches the agent and waits until it is ready. The process is
// killed when the test that started the server ends, and at once if it
// does not get ready. restart appends to the log instead of truncating it.
func (s *Server) start(restart bool) error {
	if restart {
		if f, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			fmt.Fprintf(f, "\n==> consultest: restarting the agent\n")
			f.Close()
		}
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	cmd.Env = testproc.CleanEnv("CONSUL_")
	p, err := testproc.Start(cmd, s.logPath, restart)
	if err != nil {
		return err
	}
	s.tb.Cleanup(p.Stop)
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		p.Stop()
		return err
	}
	return nil
}

// waitReady polls the agent until it has a leader, the management token
// (if any) is accepted and its node is registered with a passing serf
// health check, the process exits, or startTimeout passes.
func (s *Server) waitReady(p *testproc.Process) error {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}, // no idle goroutines, no proxy
	}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()

	type step struct {
		what  string
		path  string
		ready func(body []byte) bool
	}
	steps := []step{{"a leader", "/v1/status/leader", func(b []byte) bool {
		var leader string
		return json.Unmarshal(b, &leader) == nil && leader != ""
	}}}
	if s.ManagementToken != "" {
		steps = append(steps, step{"the management token", "/v1/acl/token/self", func([]byte) bool { return true }})
	}
	steps = append(steps, step{"its node registered and healthy", "/v1/health/node/" + s.NodeName, func(b []byte) bool {
		var checks []struct{ CheckID, Status string }
		if json.Unmarshal(b, &checks) != nil {
			return false
		}
		for _, c := range checks {
			if c.CheckID == "serfHealth" && c.Status == "passing" {
				return true
			}
		}
		return false
	}})
	for _, step := range steps {
		var last string
		for {
			ok, why := s.probe(client, step.path, step.ready)
			if ok {
				break
			}
			last = why
			select {
			case <-p.Exited():
				return fmt.Errorf("consul exited while Start waited for %s on %s: %v", step.what, s.Addr, p.Err())
			case <-deadline.C:
				return fmt.Errorf("consul on %s was not ready within %v: waiting for %s (last: %s)", s.Addr, startTimeout, step.what, last)
			case <-tick.C:
			}
		}
	}
	return nil
}

// probe GETs path and reports whether it answered 200 with a body ready
// accepts, and if not, why.
func (s *Server) probe(client *http.Client, path string, ready func([]byte) bool) (bool, string) {
	req, err := http.NewRequest(http.MethodGet, s.HTTPAddr+path, nil)
	if err != nil {
		return false, err.Error()
	}
	if s.ManagementToken != "" {
		req.Header.Set("X-Consul-Token", s.ManagementToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if !ready(body) {
		return false, "answered " + strings.TrimSpace(string(body))
	}
	return true, ""
}

// current returns the agent's latest run.
func (s *Server) current() *testproc.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// Kill stops the agent with SIGKILL and reaps it, as a crash would; for
// failure tests. Clients then get "connection refused" at once. It is safe
// to call more than once.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.current().Stop()
}

// Pause freezes the agent with SIGSTOP: its ports still accept
// connections, but nothing answers, so requests hang until their
// deadline, like an agent behind a network partition. Resume undoes it;
// a paused agent is still killed at the end of the test.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	if err := s.current().Pause(); err != nil {
		t.Fatalf("consultest: pausing the agent on %s: %v", s.Addr, err)
	}
}

// Resume lets a paused agent run again (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.current().Resume(); err != nil {
		t.Fatalf("consultest: resuming the agent on %s: %v", s.Addr, err)
	}
}

// Restart kills the agent if it is running and starts it again on the
// same ports with the same configuration (and management token), waiting
// as Start does. In -dev mode the agent keeps its state in memory, so the
// new agent starts empty: keys, sessions and locks are gone.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.current().Stop()
	if err := s.start(true); err != nil {
		t.Fatalf("consultest: restarting the agent on %s: %v\nconsul output:\n%s", s.Addr, err, s.log())
	}
}

// log returns what the agent printed, for failure messages.
func (s *Server) log() string { return testproc.ReadLog(s.logPath) }
