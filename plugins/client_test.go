package plugins_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/plugins/backendtest"
	pb "github.com/sluicehq/sluice/plugins/proto"
)

func open(t *testing.T, cfg plugins.Config) *plugins.Client {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := plugins.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestFileBackend loads a third-party backend, built from the SDK alone,
// by path and runs the conformance suite through it.
func TestFileBackend(t *testing.T) {
	bin := fileBinary(t)
	backendtest.Run(t, func(t *testing.T) plugins.Backend {
		return open(t, plugins.Config{Name: "file", Path: bin, Settings: map[string]string{"dir": t.TempDir()}})
	})
}

// TestCorruptAtRest flips a byte of a stored file: reading the object to
// the end through the host fails with ErrChecksum naming it.
func TestCorruptAtRest(t *testing.T) {
	dir := t.TempDir()
	c := open(t, plugins.Config{Name: "file", Path: fileBinary(t), Settings: map[string]string{"dir": dir}})
	const name = "job-1/chk-7/op=ab/kg-3"
	data := bytes.Repeat([]byte("keyed state "), 100_000)
	if _, err := c.Put(t.Context(), name, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "objects", "*"))
	if err != nil || len(files) != 1 {
		t.Fatalf("stored files = %v, %v", files, err)
	}
	f, err := os.OpenFile(files[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 500_000); err != nil {
		t.Fatal(err)
	}
	f.Close()

	rc, err := c.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, plugins.ErrChecksum) || !strings.Contains(err.Error(), name) {
		t.Fatalf("reading a corrupted object = %v, want ErrChecksum naming %q", err, name)
	}
}

// TestPutChecksumMismatch speaks the protocol with a wrong checksum: the
// plugin refuses the object with DataLoss and stores nothing.
func TestPutChecksumMismatch(t *testing.T) {
	c := open(t, plugins.Config{Name: "memory", Path: memoryBinary(t)})
	stream, err := plugins.RawClient(c).Put(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const name = "job-1/chk-1/meta"
	for _, m := range []*pb.PutRequest{
		{Msg: &pb.PutRequest_Name{Name: name}},
		{Msg: &pb.PutRequest_Data{Data: []byte("some bytes")}},
		{Msg: &pb.PutRequest_Sha256{Sha256: strings.Repeat("0", 64)}},
	} {
		if err := stream.Send(m); err != nil {
			break // the reason comes from CloseAndRecv
		}
	}
	_, err = stream.CloseAndRecv()
	if err == nil || !strings.Contains(err.Error(), "DataLoss") || !strings.Contains(err.Error(), name) {
		t.Fatalf("Put with a wrong checksum = %v, want DataLoss naming %q", err, name)
	}
	if _, err := c.Get(t.Context(), name); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("Get after a refused Put = %v, want ErrNotFound", err)
	}
	if objs, err := c.List(t.Context(), ""); err != nil || len(objs) != 0 {
		t.Fatalf("List = %v, %v, want nothing", objs, err)
	}
}

// TestCrash kills the plugin process: the next call fails with
// ErrBackendCrashed naming the backend, the one after works on a new
// process, and the memory backend's objects died with the old one.
func TestCrash(t *testing.T) {
	bin := memoryBinary(t)
	c := open(t, plugins.Config{Name: "memory", Path: bin})
	ctx := t.Context()
	if _, err := c.Put(ctx, "a", strings.NewReader("lost in the crash")); err != nil {
		t.Fatal(err)
	}
	pid := plugins.ProcessID(c)
	kill(t, pid)

	_, err := c.List(ctx, "")
	if !errors.Is(err, plugins.ErrBackendCrashed) {
		t.Fatalf("call after the crash = %v, want ErrBackendCrashed", err)
	}
	for _, want := range []string{"state backend memory (" + bin + ") crashed", "it was restarted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("crash error %q does not say %q", err, want)
		}
	}
	if _, err := c.Put(ctx, "b", strings.NewReader("after")); err != nil {
		t.Fatalf("call after the restart: %v", err)
	}
	if got := c.Restarts(); got != 1 {
		t.Errorf("Restarts() = %d, want 1", got)
	}
	if _, err := c.Get(ctx, "a"); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("Get of an object stored before the crash = %v, want ErrNotFound (the memory backend lost it)", err)
	}
	if newPid := plugins.ProcessID(c); newPid == pid || newPid == 0 {
		t.Errorf("pid after restart = %d, old %d", newPid, pid)
	}
	wantGone(t, pid)
}

// TestCrashMidGet kills the process while a Get streams: Read fails with
// ErrBackendCrashed, and the backend works again afterwards.
func TestCrashMidGet(t *testing.T) {
	c := open(t, plugins.Config{Name: "memory", Path: memoryBinary(t)})
	ctx := t.Context()
	if _, err := c.Put(ctx, "big", bytes.NewReader(make([]byte, 8<<20))); err != nil {
		t.Fatal(err)
	}
	rc, err := c.Get(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	kill(t, plugins.ProcessID(c))
	if _, err = io.ReadAll(rc); !errors.Is(err, plugins.ErrBackendCrashed) {
		t.Fatalf("reading on after the crash = %v, want ErrBackendCrashed", err)
	}
	if _, err := c.List(ctx, ""); err != nil {
		t.Fatalf("List after the restart: %v", err)
	}
	if got := c.Restarts(); got != 1 {
		t.Errorf("Restarts() = %d, want 1", got)
	}
}

// TestCrashConcurrent kills the process under concurrent calls: each
// fails with ErrBackendCrashed or succeeds, the process is restarted
// once, and calls work afterwards.
func TestCrashConcurrent(t *testing.T) {
	c := open(t, plugins.Config{Name: "memory", Path: memoryBinary(t)})
	ctx := t.Context()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1000)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := "w" + string(rune('a'+w)) + "/" + strings.Repeat("i", i%50+1)
				_, err := c.Put(ctx, name, bytes.NewReader(make([]byte, 100_000)))
				if err != nil && !errors.Is(err, plugins.ErrBackendCrashed) && !errors.Is(err, plugins.ErrExists) {
					errs <- err
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	kill(t, plugins.ProcessID(c))
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	if got := c.Restarts(); got != 1 {
		t.Errorf("Restarts() = %d, want 1", got)
	}
	if _, err := c.List(ctx, ""); err != nil {
		t.Errorf("List after the restart: %v", err)
	}
}

func kill(t *testing.T, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("no plugin pid (%d)", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
}

// wantGone checks that the process no longer exists (it was reaped, not
// left a zombie).
func wantGone(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill -0 %d = %v, want ESRCH: the plugin process is still there", pid, err)
	}
}

// TestCloseStopsProcess checks that Close ends and reaps the process, and
// that calls after it fail with ErrClosed.
func TestCloseStopsProcess(t *testing.T) {
	c, err := plugins.Open(t.Context(), plugins.Config{Path: memoryBinary(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	pid := plugins.ProcessID(c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	wantGone(t, pid)
	if _, err := c.List(t.Context(), ""); !errors.Is(err, plugins.ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestSettings checks that settings reach the plugin, that errors about
// them keep ErrSettings across the boundary, and that Configure's
// settings survive a restart.
func TestSettings(t *testing.T) {
	_, err := plugins.Open(t.Context(), plugins.Config{Name: "memory", Path: memoryBinary(t),
		Settings: map[string]string{"bucket": "b"}, Logger: testLogger(t)})
	if !errors.Is(err, plugins.ErrSettings) || !strings.Contains(err.Error(), "bucket") {
		t.Errorf("Open with a setting the memory backend lacks = %v, want ErrSettings naming it", err)
	}

	bin := fileBinary(t)
	c := open(t, plugins.Config{Name: "file", Path: bin, Settings: map[string]string{"dir": t.TempDir()}})
	ctx := t.Context()
	if err := c.Configure(ctx, map[string]string{"dri": "/tmp"}); !errors.Is(err, plugins.ErrSettings) {
		t.Errorf("Configure with a misspelt key = %v, want ErrSettings", err)
	}
	dir := t.TempDir()
	if err := c.Configure(ctx, map[string]string{"dir": dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "x", strings.NewReader("kept on disk")); err != nil {
		t.Fatal(err)
	}
	kill(t, plugins.ProcessID(c))
	if _, err := c.List(ctx, ""); !errors.Is(err, plugins.ErrBackendCrashed) {
		t.Fatalf("call after the crash = %v, want ErrBackendCrashed", err)
	}
	// The new process was configured with dir, so it finds x there.
	rc, err := c.Get(ctx, "x")
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	defer rc.Close()
	if data, err := io.ReadAll(rc); err != nil || string(data) != "kept on disk" {
		t.Errorf("Get after restart = %q, %v", data, err)
	}
}

// TestRunByHand runs a backend binary directly: it explains itself in one
// line and exits non-zero.
func TestRunByHand(t *testing.T) {
	cmd := exec.Command(memoryBinary(t))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("running the plugin by hand = %v, want exit status 1", err)
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "not run by hand") || !strings.Contains(msg, "state-backend plugin") {
		t.Errorf("message = %q, want one line saying what it is", msg)
	}
}

// TestPluginOutlivesNoHost starts a backend from a shell that exits at
// once, as if the host (the shell) died without stopping it: the
// orphaned plugin exits by itself.
func TestPluginOutlivesNoHost(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", `SLUICE_BACKEND_HOST_PID=$$ "$0" >/dev/null 2>&1 </dev/null & echo $!`, memoryBinary(t))
	cmd.Env = append(os.Environ(), plugins.Handshake.MagicCookieKey+"="+plugins.Handshake.MagicCookieValue)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned plugin %d still runs", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether the process runs (a zombie waiting for a reaper
// that is not us does not count).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
