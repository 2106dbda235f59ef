package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultStartTimeout bounds the start of a backend process: handshake,
// negotiation and Configure.
const DefaultStartTimeout = 10 * time.Second

// crashWait is how long a call that failed on the transport waits for the
// plugin process to be seen exiting before it calls the failure an error
// rather than a crash.
const crashWait = 2 * time.Second

// Config says which backend binary to run and how.
type Config struct {
	// Name is the backend's name in messages, e.g. "memory", "s3"; it
	// defaults to the binary's file name.
	Name string
	// Path is the backend binary (required). A bare name is looked up in
	// $PATH.
	Path string
	// Args are the binary's command-line arguments.
	Args []string
	// Settings are passed to Configure after every (re)start.
	Settings map[string]string
	// Logger gets go-plugin's log and what the plugin logs; it defaults to
	// slog.Default().
	Logger *slog.Logger
	// StartTimeout bounds each start of the process, handshake and
	// Configure included; it defaults to DefaultStartTimeout.
	StartTimeout time.Duration
}

// Client is a Backend whose calls go to a plugin process. If the process
// dies, the call in flight fails with an error wrapping ErrBackendCrashed
// and the Client starts a new process, so that the next call works. A
// Client is safe for concurrent use.
type Client struct {
	cfg   Config
	label string // "name (path)", for messages about the process

	mu       sync.Mutex
	cur      *instance // nil after a failed restart, until the next call starts one
	settings map[string]string
	restarts int
	closed   bool
}

var _ Backend = (*Client)(nil)

// Open starts the backend process, negotiates the protocol version,
// configures the backend with cfg.Settings and returns a Client whose
// calls go to it. Close stops the process.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("state backend %s: no binary path given", cfg.Name)
	}
	if !strings.ContainsRune(cfg.Path, filepath.Separator) {
		p, err := exec.LookPath(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("state backend %s: binary %s: %w: install it on $PATH or give its path", firstNonEmpty(cfg.Name, cfg.Path), cfg.Path, err)
		}
		cfg.Path = p
	}
	if cfg.Name == "" {
		cfg.Name = filepath.Base(cfg.Path)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	cfg.Logger = logger(cfg.Logger).With("backend", cfg.Name)
	c := &Client{cfg: cfg, label: cfg.Name, settings: maps.Clone(cfg.Settings)}
	if cfg.Name != cfg.Path {
		c.label = fmt.Sprintf("%s (%s)", cfg.Name, cfg.Path)
	}
	if c.settings == nil {
		c.settings = map[string]string{}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("state backend %s: %w", c.label, err)
	}
	inst, err := start(ctx, &c.cfg, c.label, c.settings)
	if err != nil {
		return nil, err
	}
	c.cur = inst
	return c, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Close stops the backend process. Calls after Close fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	inst := c.cur
	c.cur, c.closed = nil, true
	c.mu.Unlock()
	if inst != nil {
		inst.pc.Kill()
	}
	return nil
}

// Restarts is how many times the Client replaced a crashed process.
func (c *Client) Restarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

// instance returns the current process, starting one if the last restart
// failed.
func (c *Client) instance() (*instance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("state backend %s: %w", c.cfg.Name, ErrClosed)
	}
	if c.cur == nil { // the last restart failed: try again
		inst, err := start(context.Background(), &c.cfg, c.label, c.settings)
		if err != nil {
			return nil, err
		}
		c.cur = inst
		c.restarts++
	}
	return c.cur, nil
}

// call runs f against the current process and turns its failure into
// the error the caller sees.
func (c *Client) call(op string, f func(*remote) error) (*instance, error) {
	inst, err := c.instance()
	if err != nil {
		return nil, err
	}
	if inst.exited() {
		return nil, c.crashed(inst, errors.New("the plugin process exited"), op)
	}
	if err := f(inst.remote); err != nil {
		return nil, c.failed(inst, err, op)
	}
	return inst, nil
}

// failed tells a crash from an error: a transport failure while the
// process exits is a crash.
func (c *Client) failed(inst *instance, err error, op string) error {
	code := status.Code(err)
	if code == codes.Unavailable || code == codes.Internal || errors.Is(err, io.ErrUnexpectedEOF) || inst.exited() {
		select {
		case <-inst.remote.exited:
			return c.crashed(inst, err, op)
		case <-time.After(crashWait):
		}
	}
	return fmt.Errorf("state backend %s: %s: %w", c.cfg.Name, op, err)
}

// crashed replaces the dead process, unless another call already did
// (or tried), and returns the crash error for the call.
func (c *Client) crashed(inst *instance, cause error, op string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("state backend %s: %s: %w", c.cfg.Name, op, ErrClosed)
	}
	if !inst.replaced {
		inst.replaced = true
		inst.pc.Kill() // reaps the process and go-plugin's goroutines
		c.cur = nil
		c.cfg.Logger.Error("state backend crashed; restarting it", "op", op, "error", cause)
		next, err := start(context.Background(), &c.cfg, c.label, c.settings)
		inst.restartErr = err
		if err == nil {
			c.cur = next
			c.restarts++
		}
	}
	return &crashError{label: c.label, op: op, cause: cause, restartErr: inst.restartErr}
}

// crashError is the error of a call whose plugin process died.
type crashError struct {
	label, op  string
	cause      error
	restartErr error
}

func (e *crashError) Error() string {
	then := "it was restarted"
	if e.restartErr != nil {
		then = "restarting it failed: " + e.restartErr.Error()
	}
	return fmt.Sprintf("state backend %s crashed: %s: %v; %s", e.label, e.op, e.cause, then)
}

func (e *crashError) Unwrap() []error { return []error{ErrBackendCrashed, e.cause} }

// Configure re-configures the backend; the settings are kept for
// restarts.
func (c *Client) Configure(ctx context.Context, settings map[string]string) error {
	settings = maps.Clone(settings)
	if settings == nil {
		settings = map[string]string{}
	}
	if _, err := c.call("configure", func(r *remote) error { return r.Configure(ctx, settings) }); err != nil {
		return err
	}
	c.mu.Lock()
	c.settings = settings
	c.mu.Unlock()
	return nil
}

// Put streams the bytes of r to the backend with their sha256, which the
// backend verifies before it stores them.
func (c *Client) Put(ctx context.Context, name string, r io.Reader) (Object, error) {
	if err := ValidName(name); err != nil {
		return Object{}, err
	}
	var obj Object
	_, err := c.call(fmt.Sprintf("put %q", name), func(rb *remote) (err error) {
		obj, err = rb.Put(ctx, name, r)
		return err
	})
	return obj, err
}

// Get opens a stored object. Reading it to the end verifies the size and
// sha256 of what arrived; a mismatch is returned from Read instead of
// io.EOF, wrapping ErrChecksum and naming the object.
func (c *Client) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	op := fmt.Sprintf("get %q", name)
	var rc io.ReadCloser
	inst, err := c.call(op, func(rb *remote) (err error) {
		rc, err = rb.Get(ctx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &clientReader{ReadCloser: rc, c: c, inst: inst, op: op}, nil
}

// clientReader turns a failure while reading into the Client's errors,
// crashes included.
type clientReader struct {
	io.ReadCloser
	c    *Client
	inst *instance
	op   string
}

func (r *clientReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, ErrChecksum) {
		err = r.c.failed(r.inst, err, r.op)
	}
	return n, err
}

// List returns the objects whose names start with prefix, by name.
func (c *Client) List(ctx context.Context, prefix string) ([]Object, error) {
	var objs []Object
	_, err := c.call(fmt.Sprintf("list %q", prefix), func(r *remote) (err error) {
		objs, err = r.List(ctx, prefix)
		return err
	})
	return objs, err
}

// Delete removes an object; deleting a missing one is not an error.
func (c *Client) Delete(ctx context.Context, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	_, err := c.call(fmt.Sprintf("delete %q", name), func(r *remote) error { return r.Delete(ctx, name) })
	return err
}
