package s3test

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/toolbin"
)

// EnvBinary names the environment variable that overrides where the versitygw
// binary is found (default: bin/versitygw in the module, from `make tools`).
const EnvBinary = "SLUICE_VERSITYGW"

// Region is the region the server is started with.
const Region = "us-east-1"

// startTimeout bounds how long Start waits for the server to answer.
const startTimeout = 30 * time.Second

// healthPath is the unauthenticated endpoint Start polls.
const healthPath = "/health"

// Server is a running versitygw. Clients reach it at Endpoint with path-style
// addressing, signing with AccessKey and SecretKey (the root account).
type Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	Region    string // the signing region, us-east-1
	AccessKey string
	SecretKey string
	// Dir is the posix root: each bucket is a directory in it and each
	// object a file under that, at Dir/bucket/key.
	Dir string

	logPath string
	proc    *process // the current process
}

// process is one run of the server binary.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // set before exited is closed
	kill    sync.Once
}

// Start runs versitygw on a free 127.0.0.1 port with a temporary posix
// directory and random root credentials, waits until it answers, and
// stops it (and removes the directory) when the test ends. It fails the
// test with a message saying to run `make tools` if the binary is missing.
// The binary is found at <module root>/bin/versitygw or via
// $SLUICE_VERSITYGW.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := toolbin.Find("versitygw", EnvBinary)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	s := &Server{
		Region:    Region,
		AccessKey: "sluice" + rand.Text()[:12],
		SecretKey: rand.Text() + rand.Text(),
		Dir:       t.TempDir(),
		logPath:   filepath.Join(t.TempDir(), "versitygw.log"),
	}
	// Another process may take the free port between our probe and the
	// server's bind; that shows as an early exit and we try another.
	for attempt := 1; ; attempt++ {
		err := s.start(t, bin)
		if err == nil {
			return s
		}
		if attempt < 3 && strings.Contains(s.log(), "address already in use") {
			continue
		}
		t.Fatalf("s3test: %v\nversitygw output:\n%s", err, s.log())
	}
}

// start launches the process on a fresh port and waits until it answers.
// The process is stopped in t.Cleanup whether or not it got ready.
func (s *Server) start(t testing.TB, bin string) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return fmt.Errorf("creating the server log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin,
		"--port", addr,
		"--region", s.Region,
		"--health", healthPath,
		"--quiet",
		"posix", s.Dir)
	cmd.Env = append(cleanEnv(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	s.proc = p
	s.Endpoint = "http://" + addr
	return s.waitReady()
}

// waitReady polls the health endpoint until it answers 200, the process
// exits, or startTimeout passes.
func (s *Server) waitReady() error {
	client := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}, // no idle goroutines, no proxy
	}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.Endpoint + healthPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.proc.exited:
			return fmt.Errorf("versitygw exited before answering on %s: %v", s.Endpoint, s.proc.waitErr)
		case <-deadline.C:
			return fmt.Errorf("versitygw did not answer on %s within %v (last: %v)", s.Endpoint, startTimeout, err)
		case <-tick.C:
		}
	}
}

// Kill stops the server with SIGKILL and reaps it, as a crash would; for
// failure tests. Clients then get connection errors.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.proc.stop()
}

// stop kills and reaps the process; it is safe to call more than once.
func (p *process) stop() {
	p.kill.Do(func() {
		// Kill fails only when the process has exited already; the
		// waiting goroutine reaps it either way.
		_ = p.cmd.Process.Kill()
	})
	<-p.exited
}

// log returns what the server printed, for failure messages.
func (s *Server) log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// cleanEnv is the test's environment without variables that would change
// how versitygw behaves (VGW_*, ROOT_*).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
