package main

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		cleanupBinaries()
		os.Exit(code)
	}))
}

// testNow is the "now" of every test.
var testNow = time.Date(2025, 3, 1, 12, 10, 0, 0, time.UTC)

// testEnv is a cliEnv that writes to buffers, reads no process environment
// and never sees a real signal.
type testEnv struct {
	*cliEnv
	out, err  bytes.Buffer
	interrupt chan os.Signal
}

func newTestEnv(vars map[string]string) *testEnv {
	e := &testEnv{interrupt: make(chan os.Signal, 1)}
	e.cliEnv = &cliEnv{
		stdout:          &e.out,
		stderr:          &e.err,
		getenv:          func(k string) string { return vars[k] },
		now:             func() time.Time { return testNow },
		notifyInterrupt: func() (<-chan os.Signal, func()) { return e.interrupt, func() {} },
		planTimeout:     time.Minute,
		progressEvery:   5 * time.Second,
	}
	return e
}

// run runs jmctl with args and returns its exit code.
func (e *testEnv) run(args ...string) int { return run(args, e.cliEnv) }

// newAPI starts a fake JobManager serving mux and returns its address.
func newAPI(t *testing.T, mux http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}
