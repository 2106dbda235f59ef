package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/hashicorp/go-plugin"
)

// instance is one running plugin process and the connection to it.
type instance struct {
	pc     *plugin.Client
	remote *remote

	// restartErr is, once the process crashed and the Client tried to
	// replace it, the error of that restart (nil if it worked). Set under
	// Client.mu.
	restartErr error
	replaced   bool
}

// exited reports whether the plugin process has exited.
func (i *instance) exited() bool {
	select {
	case <-i.remote.exited:
		return true
	default:
		return false
	}
}

// pid is the plugin process's id, 0 if unknown.
func (i *instance) pid() int {
	if rc := i.pc.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// checkBinary explains what is wrong with a backend binary before
// go-plugin tries to run it.
func checkBinary(label, path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("state backend %s: binary %s does not exist: install the backend there or fix its path: %w", label, path, err)
	case err != nil:
		return fmt.Errorf("state backend %s: binary %s: %w", label, path, err)
	case fi.IsDir():
		return fmt.Errorf("state backend %s: %s is a directory, not a backend binary: fix the backend's path", label, path)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("state backend %s: binary %s is not executable (mode %v): make it executable (chmod +x %s)", label, path, fi.Mode().Perm(), path)
	}
	return nil
}

// start runs the backend binary, negotiates the protocol and configures
// the backend with settings.
// ctx bounds the Configure call, as does cfg.StartTimeout.
func start(ctx context.Context, cfg *Config, label string, settings map[string]string) (*instance, error) {
	if err := checkBinary(label, cfg.Path); err != nil {
		return nil, err
	}
	stderr := &tail{max: 2048}
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = []string{fmt.Sprintf("%s=%d", hostPIDEnv, os.Getpid())} // go-plugin adds ours
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versionedPlugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     cfg.StartTimeout,
		Logger:           newHclog(cfg.Logger, "plugin"),
		Stderr:           stderr,
	})
	inst, err := connect(pc)
	if err != nil {
		pc.Kill() // waits for go-plugin's goroutines, so stderr is complete
		return nil, startError(label, cfg, err, stderr.String())
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := inst.remote.Configure(ctx, settings); err != nil {
		pc.Kill()
		return nil, fmt.Errorf("state backend %s: configure: %w", label, err)
	}
	cfg.Logger.Debug("state backend started", "pid", inst.pid(), "protocol", pc.NegotiatedVersion())
	return inst, nil
}

func connect(pc *plugin.Client) (*instance, error) {
	rpc, err := pc.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		return nil, err
	}
	r, ok := raw.(*remote)
	if !ok {
		return nil, fmt.Errorf("plugin dispensed %T, want a state backend", raw)
	}
	return &instance{pc: pc, remote: r}, nil
}

// startError says what a failed start means and what to do about it.
func startError(label string, cfg *Config, err error, stderr string) error {
	msg := err.Error()
	var hint string
	switch {
	case strings.Contains(msg, "incompatible API version"):
		hint = fmt.Sprintf("it speaks another state-backend protocol version than this Sluice (version %d): use a backend built for this Sluice version", ProtocolVersion)
	case strings.Contains(msg, "timeout while waiting"):
		hint = fmt.Sprintf("it did not complete the plugin handshake within %v: is it a Sluice state backend (a binary that calls plugins.Serve)?", cfg.StartTimeout)
	case strings.Contains(msg, "exited before we could connect"),
		strings.Contains(msg, "Unrecognized remote plugin message"),
		strings.Contains(msg, "incompatible core API version"),
		strings.Contains(msg, "unsupported plugin protocol"):
		hint = "it is not a Sluice state backend, or it failed at start-up: point the backend's path at a binary that calls plugins.Serve"
	default:
		return fmt.Errorf("state backend %s: it could not be started: %w%s", label, err, stderrNote(stderr))
	}
	// go-plugin's own explanation follows a blank line and lists causes
	// that do not apply here; keep its first lines.
	if i := strings.Index(msg, "\nThis usually means"); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, "\n\n"); i >= 0 {
		msg = msg[:i]
	}
	if strings.Contains(msg, "Failed to read any lines from plugin's stdout") {
		msg = "it wrote no handshake on stdout before it closed it"
	}
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", "; ")
	return fmt.Errorf("state backend %s: %s: %s%s", label, hint, msg, stderrNote(stderr))
}

func stderrNote(stderr string) string {
	if stderr = strings.TrimSpace(stderr); stderr == "" {
		return ""
	}
	return "; its stderr ended with: " + strings.ReplaceAll(stderr, "\n", " / ")
}

// tail keeps the last max bytes of the lines written to it, except the
// plugin's structured log lines (JSON objects with "@" keys), which go to
// the host's logger anyway: what remains is what a program that is not a
// backend, or a backend that panicked, printed.
type tail struct {
	mu   sync.Mutex
	max  int
	line []byte
	buf  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range p {
		if b != '\n' {
			if len(t.line) < t.max {
				t.line = append(t.line, b)
			}
			continue
		}
		if !bytes.HasPrefix(t.line, []byte(`{"@`)) {
			t.buf = append(append(t.buf, t.line...), '\n')
		}
		t.line = t.line[:0]
	}
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf) + string(t.line)
}

// logger returns l, or slog's default.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
