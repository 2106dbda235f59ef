package consultest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/goleak"
)

// TestMain checks that agents are reaped and no client goroutine keeps
// running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func put(t *testing.T, c *api.Client, key, value string) {
	t.Helper()
	if _, err := c.KV().Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func get(t *testing.T, c *api.Client, key string) *api.KVPair {
	t.Helper()
	kv, _, err := c.KV().Get(key, nil)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return kv
}

func TestStartServesKV(t *testing.T) {
	srv := Start(t)
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") || srv.HTTPAddr != "http://"+srv.Addr {
		t.Fatalf("Addr %q, HTTPAddr %q", srv.Addr, srv.HTTPAddr)
	}
	if srv.ManagementToken != "" {
		t.Fatalf("ManagementToken %q without WithACL", srv.ManagementToken)
	}
	c := srv.Client()
	put(t, c, "sluice/a", "hello")
	if kv := get(t, c, "sluice/a"); kv == nil || string(kv.Value) != "hello" {
		t.Fatalf("get = %+v, want hello", kv)
	}
	leader, err := c.Status().Leader()
	if err != nil || leader == "" {
		t.Fatalf("leader = %q, %v", leader, err)
	}
}

// TestSessionsAndLocks: right after Start a session can be created (the
// node is registered), a lock excludes a second holder, and with a small
// lock delay a lock whose session is destroyed passes on at once.
func TestSessionsAndLocks(t *testing.T) {
	srv := Start(t)
	c := srv.Client()
	opts := func() *api.LockOptions {
		return &api.LockOptions{
			Key:          "sluice/leader",
			SessionTTL:   "10s",
			LockDelay:    time.Millisecond,
			LockTryOnce:  true,
			LockWaitTime: 200 * time.Millisecond,
		}
	}
	first, err := c.LockOpts(opts())
	if err != nil {
		t.Fatal(err)
	}
	lost, err := first.Lock(nil)
	if err != nil || lost == nil {
		t.Fatalf("first Lock = %v, %v", lost, err)
	}
	kv := get(t, c, "sluice/leader")
	if kv == nil || kv.Session == "" {
		t.Fatalf("lock key %+v has no session", kv)
	}
	session := kv.Session
	if info, _, err := c.Session().Info(session, nil); err != nil || info == nil || info.Node != srv.NodeName {
		t.Fatalf("session info = %+v, %v; want node %s", info, err, srv.NodeName)
	}

	second, err := c.LockOpts(opts())
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := second.Lock(nil); err != nil || ch != nil {
		t.Fatalf("second Lock while held = %v, %v; want nil, nil", ch, err)
	}

	// Destroying the holder's session releases the lock: the holder sees
	// its channel closed, the other takes it without waiting out the
	// default 15s lock delay.
	if _, err := c.Session().Destroy(session, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("holder did not notice its session was destroyed")
	}
	var got <-chan struct{}
	for deadline := time.Now().Add(5 * time.Second); got == nil && time.Now().Before(deadline); {
		if got, err = second.Lock(nil); err != nil {
			t.Fatal(err)
		}
	}
	if got == nil {
		t.Fatal("second did not get the lock after the first session was destroyed")
	}
	if err := second.Unlock(); err != nil {
		t.Fatal(err)
	}
	_ = first.Unlock() // stops its session renewal; the lock is gone already
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("lock channel not closed after Unlock")
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr || a.NodeName == b.NodeName {
		t.Fatalf("servers share an address or node name: %s %s, %s %s", a.Addr, a.NodeName, b.Addr, b.NodeName)
	}
	put(t, a.Client(), "only/in/a", "x")
	if kv := get(t, b.Client(), "only/in/a"); kv != nil {
		t.Fatalf("b sees a's key: %+v", kv)
	}
}

func TestACL(t *testing.T) {
	srv := Start(t, WithACL())
	if srv.ManagementToken == "" {
		t.Fatal("no management token")
	}
	for _, token := range []string{"", AnonymousToken, "not-a-token"} {
		_, err := srv.ClientWithToken(token).KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil)
		var se api.StatusError
		if !errors.As(err, &se) || (se.Code != 403 && se.Code != 401) {
			t.Fatalf("put with token %q: %v; want permission denied", token, err)
		}
	}
	c := srv.Client()
	put(t, c, "k", "v")
	if kv := get(t, c, "k"); kv == nil || string(kv.Value) != "v" {
		t.Fatalf("get = %+v", kv)
	}
	self, _, err := c.ACL().TokenReadSelf(nil)
	if err != nil || self.SecretID != srv.ManagementToken {
		t.Fatalf("token self = %+v, %v", self, err)
	}
}

func TestKillFailsFast(t *testing.T) {
	srv := Start(t)
	c := srv.Client()
	put(t, c, "k", "v")
	srv.Kill(t)
	srv.Kill(t) // idempotent
	if !srv.current().Reaped() {
		t.Fatal("killed agent was not reaped")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.KV().Get("k", (&api.QueryOptions{}).WithContext(ctx))
	if err == nil {
		t.Fatal("get succeeded after Kill")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("get took %v to fail after Kill: %v", d, err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("get after Kill: %v; want connection refused", err)
	}
}

func TestPauseResume(t *testing.T) {
	srv := Start(t)
	c := srv.Client()
	put(t, c, "k", "v")
	srv.Pause(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err := c.KV().Get("k", (&api.QueryOptions{}).WithContext(ctx))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get from a paused agent: %v; want the deadline exceeded", err)
	}
	srv.Resume(t)
	if kv := get(t, c, "k"); kv == nil || string(kv.Value) != "v" {
		t.Fatalf("get after Resume = %+v", kv)
	}
}

// TestPausedAgentIsKilledAtCleanup: a paused agent does not outlive its
// test.
func TestPausedAgentIsKilledAtCleanup(t *testing.T) {
	var srv *Server
	t.Run("inner", func(t *testing.T) {
		srv = Start(t)
		srv.Pause(t)
	})
	if !srv.current().Reaped() {
		t.Fatal("paused agent was not reaped at the end of its test")
	}
}

func TestRestart(t *testing.T) {
	srv := Start(t, WithACL())
	addr, token := srv.Addr, srv.ManagementToken
	put(t, srv.Client(), "k", "v")
	srv.Kill(t)
	srv.Restart(t)
	if srv.Addr != addr || srv.ManagementToken != token {
		t.Fatalf("after Restart: %s %s, want %s %s", srv.Addr, srv.ManagementToken, addr, token)
	}
	c := srv.Client()
	if kv := get(t, c, "k"); kv != nil {
		t.Fatalf("a -dev agent kept %+v across a restart", kv)
	}
	put(t, c, "k", "again")
	srv.Restart(t) // a running agent is killed first
	if kv := get(t, srv.Client(), "k"); kv != nil {
		t.Fatalf("a -dev agent kept %+v across a restart", kv)
	}
}

// TestCleanupStopsAgent checks a finished test leaves no process and no
// directory behind, and that the port is free again.
func TestCleanupStopsAgent(t *testing.T) {
	var srv *Server
	t.Run("inner", func(t *testing.T) {
		srv = Start(t)
		put(t, srv.Client(), "k", "v")
	})
	if !srv.current().Reaped() {
		t.Fatal("agent was not reaped at the end of its test")
	}
	if _, err := os.Stat(srv.dir); !os.IsNotExist(err) {
		t.Fatalf("directory %s survives the test: %v", srv.dir, err)
	}
	if _, err := srv.Client().Status().Leader(); err == nil {
		t.Fatal("agent still answers after its test")
	}
}

func TestWithHCL(t *testing.T) {
	srv := Start(t, WithHCL(`session_ttl_min = "1s"`))
	c := srv.Client()
	id, _, err := c.Session().Create(&api.SessionEntry{TTL: "1s", Behavior: api.SessionBehaviorDelete}, nil)
	if err != nil {
		t.Fatalf("a 1s session with session_ttl_min = 1s: %v", err)
	}
	if _, err := c.Session().Destroy(id, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfigShowsAgentOutput(t *testing.T) {
	msg := fatalMessage(t, func(tb testing.TB) { Start(tb, WithHCL(`no_such_option = true`)) })
	if !strings.Contains(msg, "consul exited") || !strings.Contains(msg, "no_such_option") {
		t.Fatalf("message %q does not say the agent exited and show its output", msg)
	}
}

func TestMissingBinarySaysMakeTools(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "consul"))
	msg := fatalMessage(t, func(tb testing.TB) { Start(tb) })
	if !strings.Contains(msg, "make tools") || !strings.Contains(msg, "not found") {
		t.Fatalf("message %q does not say the binary is missing and to run make tools", msg)
	}
}

// fatalTB records the message of a Fatalf and stops its goroutine.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatalMessage runs fn and returns the message it failed the test with.
func fatalMessage(t *testing.T, fn func(testing.TB)) string {
	t.Helper()
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	if f.msg == "" {
		t.Fatal("expected the test to be failed")
	}
	return f.msg
}
