package plugins_test

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// binDir holds the binaries the tests build, once per test process.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// A Client's Close (go-plugin's Kill) waits for go-plugin's own
		// process goroutines, but those of the closed gRPC connection
		// (go-plugin's broker stream, gRPC's transport reader) may end
		// only shortly after.
		// goleak.Find retries for a while before it reports, which waits
		// for them; nothing is ignored, so anything that stays fails.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// build compiles the main package pkg (relative to this directory) into
// binDir, once, and returns the binary's path.
func build(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	bin := filepath.Join(binDir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

func memoryBinary(t *testing.T) string { return build(t, "../backends/memory") }
func fileBinary(t *testing.T) string   { return build(t, "./testdata/filebackend") }
func foreignBinary(t *testing.T) string {
	return build(t, "./testdata/foreign")
}

// testLogger logs warnings and up to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
