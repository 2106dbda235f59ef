package testproc

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// Process is one run of an agent started by Start.
type Process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // set before exited is closed
	kill    sync.Once
}

// Start starts cmd with its stdout and stderr going to the file logPath
// (truncated, or appended to when appendLog is set), in a process group of
// its own. The caller must call Stop (tests do it in a Cleanup).
func Start(cmd *exec.Cmd, logPath string, appendLog bool) (*Process, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendLog {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	logFile, err := os.OpenFile(logPath, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the agent log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed once the process has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is how the process ended; valid once Exited is closed.
func (p *Process) Err() error {
	<-p.exited
	return p.waitErr
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process group if the process still runs.
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return fmt.Errorf("the agent is not running (%v)", p.waitErr)
	default:
	}
	return signalGroup(p.cmd.Process, sig)
}

// Pause freezes the process group with SIGSTOP and returns once the kernel
// shows the process stopped; Resume lets it run again.
func (p *Process) Pause() error {
	if err := p.Signal(sigStop); err != nil {
		return err
	}
	return waitStopped(p.cmd.Process.Pid)
}

// Resume sends SIGCONT to a paused process group.
func (p *Process) Resume() error { return p.Signal(sigCont) }

// Stop kills the process group with SIGKILL and reaps the process; it is
// safe to call more than once.
func (p *Process) Stop() {
	p.kill.Do(func() {
		select {
		case <-p.exited:
			// Reaped already; its group id may be someone else's by now.
		default:
			if err := signalGroup(p.cmd.Process, sigKill); err != nil {
				// Kill fails only when the process has exited already; the
				// waiting goroutine reaps it either way.
				_ = p.cmd.Process.Kill()
			}
		}
	})
	<-p.exited
}

// FreePorts returns n distinct loopback TCP ports nothing listens on now:
// all are held open until every one is chosen, so that none is picked
// twice. Another process may still take one before the agent binds it;
// callers retry on "address already in use".
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Tail returns the last n lines of text.
func Tail(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// ReadLog returns the content of the log file at path, or a note saying
// why there is none, for failure messages.
func ReadLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// CleanEnv is the test's environment without the variables that start
// with any of prefixes (CONSUL_, NOMAD_), which would change how an agent
// or its CLI behaves.
func CleanEnv(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Reaped reports whether the process has exited and been reaped.
func (p *Process) Reaped() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}
