package ha

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func TestBackoff(t *testing.T) {
	b := backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	want := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		if got := b.delay(i); got != w*time.Millisecond {
			t.Errorf("delay(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if got := b.delay(1000); got != 2*time.Second {
		t.Errorf("delay(1000) = %v", got)
	}
	for range 100 {
		d := jitter(time.Second)
		if d < 800*time.Millisecond || d >= 1200*time.Millisecond {
			t.Fatalf("jitter(1s) = %v", d)
		}
	}
	if jitter(0) != 0 {
		t.Error("jitter(0) != 0")
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if !sleep(ctx, time.Millisecond) {
		t.Error("sleep did not pass")
	}
	cancel()
	start := time.Now()
	if sleep(ctx, time.Hour) {
		t.Error("sleep passed after cancel")
	}
	if time.Since(start) > time.Second {
		t.Error("sleep did not return at cancel")
	}
}

func TestLockHeld(t *testing.T) {
	for _, tc := range []struct {
		name string
		pair *api.KVPair
		held bool
		why  string
	}{
		{"held", &api.KVPair{Session: "s1", ModifyIndex: 10}, true, ""},
		{"deleted", nil, false, "deleted"},
		{"released", &api.KVPair{ModifyIndex: 11}, false, "released"},
		{"taken", &api.KVPair{Session: "s2", ModifyIndex: 12}, false, "another session (s2)"},
		{"rewritten", &api.KVPair{Session: "s1", ModifyIndex: 13}, false, "rewritten"},
	} {
		held, why := lockHeld(tc.pair, "s1", 10)
		if held != tc.held || !strings.Contains(why, tc.why) {
			t.Errorf("%s: lockHeld = %v, %q", tc.name, held, why)
		}
	}
}

func TestGrace(t *testing.T) {
	t0 := time.Unix(1000, 0)
	if d := graceDeadline(t0, 5*time.Second); !d.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("deadline %v", d)
	}
	// A leader confirms its lock several times per grace period, so that
	// an outage of most of the grace period is ridden out.
	for _, g := range []time.Duration{time.Second, 5 * time.Second, time.Minute} {
		if i := confirmInterval(g); i > g/4 || i <= 0 {
			t.Errorf("grace %v: confirm interval %v", g, i)
		}
	}
}

func TestNextWaitIndex(t *testing.T) {
	for _, tc := range []struct{ prev, got, want uint64 }{
		{0, 5, 5}, {5, 9, 9}, {9, 9, 9}, {9, 3, 0}, {0, 0, 1},
	} {
		if got := nextWaitIndex(tc.prev, tc.got); got != tc.want {
			t.Errorf("nextWaitIndex(%d, %d) = %d, want %d", tc.prev, tc.got, got, tc.want)
		}
	}
}

func TestLockRetry(t *testing.T) {
	for _, tc := range []struct{ delay, want time.Duration }{
		{time.Second, 200 * time.Millisecond},
		{time.Millisecond, 50 * time.Millisecond},
		{time.Minute, 500 * time.Millisecond},
	} {
		if got := lockRetry(tc.delay); got != tc.want {
			t.Errorf("lockRetry(%v) = %v, want %v", tc.delay, got, tc.want)
		}
	}
}

func TestPermissionClassification(t *testing.T) {
	denied := api.StatusError{Code: 403, Body: `Permission denied: token with AccessorID 'x' lacks permission 'key:read' on "sluice/c/leader"`}
	err := permissionErr(denied, "sluice/c/leader", "key:read")
	if err == nil || !strings.Contains(err.Error(), `key "sluice/c/leader": the token lacks key:read`) {
		t.Errorf("permissionErr = %v", err)
	}
	if permissionErr(api.StatusError{Code: 500, Body: "rpc error"}, "k", "key:read") != nil {
		t.Error("a 500 is not a permission error")
	}
	if !unknownCheck(api.StatusError{Code: 404, Body: "Unknown check ID"}) ||
		!unknownCheck(api.StatusError{Code: 500, Body: `CheckID "service:x" does not have associated TTL`}) ||
		unknownCheck(api.StatusError{Code: 500, Body: "No cluster leader"}) {
		t.Error("unknownCheck")
	}
}
