package ha

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluicehq/sluice/internal/poll"
	"github.com/sluicehq/sluice/jobmanager/ha/consultest"
)

// testLog is a logger whose output the test can search; it is printed if
// the test fails.
type testLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLog(t *testing.T) (*testLog, *slog.Logger) {
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("SLUICE_HA_TEST_LOG") != "" {
			t.Logf("log:\n%s", l.String())
		}
	})
	return l, slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor waits for cond (see poll.Until).
var waitFor = poll.Until

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// elector is one test "JobManager".
type elector struct {
	*Consul
	me  Leader
	log *testLog
}

func newElector(t *testing.T, addr, cluster, id string, mod func(*ConsulConfig)) *elector {
	t.Helper()
	tl, logger := newTestLog(t)
	cfg := ConsulConfig{Address: addr, Cluster: cluster, Logger: logger.With("jm", id), StartTimeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewConsul(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Logf("close %s: %v", id, err)
		}
	})
	port := 10000 + 2*int(portSeq.Add(1))
	me := Leader{ID: id, REST: "127.0.0.1:" + strconv.Itoa(port), RPC: "127.0.0.1:" + strconv.Itoa(port+1)}
	return &elector{Consul: c, me: me, log: tl}
}

// campaignResult is what a Campaign returned.
type campaignResult struct {
	e     *elector
	epoch uint64
	lost  <-chan struct{}
	err   error
	at    time.Time
}

func campaignAsync(ctx context.Context, e *elector, out chan<- campaignResult) {
	go func() {
		epoch, lost, err := e.Campaign(ctx, e.me)
		out <- campaignResult{e: e, epoch: epoch, lost: lost, err: err, at: time.Now()}
	}()
}

func receive(t *testing.T, ch <-chan campaignResult, timeout time.Duration, what string) campaignResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: Campaign of %s: %v", what, r.e.me.ID, r.err)
		}
		return r
	case <-time.After(timeout):
		t.Fatalf("%s: no Campaign returned within %v", what, timeout)
	}
	panic("unreachable")
}

func noneReady(t *testing.T, ch <-chan campaignResult, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s: %s leads too (epoch %d, err %v)", what, r.e.me.ID, r.epoch, r.err)
	default:
	}
}

var clusterSeq, portSeq atomic.Int64

// cluster is a fresh cluster name, so that tests sharing a Consul agent
// do not see each other's keys.
func cluster(t *testing.T) string {
	return fmt.Sprintf("t%d-%s", clusterSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "-"))
}

func TestConsulElection(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	jms := []*elector{
		newElector(t, srv.HTTPAddr, cl, "jm-a", nil),
		newElector(t, srv.HTTPAddr, cl, "jm-b", nil),
		newElector(t, srv.HTTPAddr, cl, "jm-c", nil),
	}
	watcher := newElector(t, srv.HTTPAddr, cl, "watcher", nil)
	wctx, wcancel := context.WithCancel(ctx)
	seen := make(chan Leader, 100)
	watchDone := make(chan error)
	go func() { watchDone <- watcher.Watch(wctx, func(l Leader) { seen <- l }) }()
	defer func() {
		wcancel()
		if err := <-watchDone; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	if l := <-seen; !l.IsZero() {
		t.Fatalf("Watch first reported %+v, want no leader", l)
	}

	results := make(chan campaignResult, len(jms))
	for _, e := range jms {
		campaignAsync(ctx, e, results)
	}
	first := receive(t, results, 15*time.Second, "first election")
	noneReady(t, results, "first election")
	t.Logf("%s leads at epoch %d", first.e.me.ID, first.epoch)

	l, err := watcher.Leader(ctx)
	if err != nil || l.ID != first.e.me.ID || l.Epoch != first.epoch || l.REST != first.e.me.REST || l.RPC != first.e.me.RPC {
		t.Fatalf("Leader = %+v, %v; want %s at epoch %d", l, err, first.e.me.ID, first.epoch)
	}
	expectWatch := func(want campaignResult) {
		t.Helper()
		for {
			select {
			case l := <-seen:
				if l.IsZero() {
					continue
				}
				if l.ID != want.e.me.ID || l.Epoch != want.epoch {
					t.Fatalf("Watch reported %+v, want %s at epoch %d", l, want.e.me.ID, want.epoch)
				}
				return
			case <-time.After(10 * time.Second):
				t.Fatalf("Watch did not report %s", want.e.me.ID)
			}
		}
	}
	expectWatch(first)

	// The leader writes; the others may not.
	p1 := Pointer{Checkpoint: 1, Metadata: CheckpointMetadataObject("j1", 1, 1)}
	if err := first.e.PutJob(ctx, first.epoch, job("j1")); err != nil {
		t.Fatal(err)
	}
	if err := first.e.PutPointer(ctx, first.epoch, "j1", p1); err != nil {
		t.Fatal(err)
	}
	for _, e := range jms {
		if e != first.e {
			if err := e.PutPointer(ctx, first.epoch, "j1", p1); !errors.Is(err, ErrFenced) {
				t.Fatalf("standby %s: PutPointer = %v, want ErrFenced", e.me.ID, err)
			}
		}
	}

	// Resign: another leads at once (an explicit release has no lock
	// delay), at a higher epoch.
	resigned := time.Now()
	if err := first.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if !isClosed(first.lost) {
		t.Fatal("lost is open after Resign")
	}
	second := receive(t, results, 5*time.Second, "after Resign")
	noneReady(t, results, "after Resign")
	t.Logf("after Resign: %s leads at epoch %d, %v after the resignation", second.e.me.ID, second.epoch, second.at.Sub(resigned))
	if second.epoch <= first.epoch {
		t.Fatalf("epoch %d after %d", second.epoch, first.epoch)
	}
	expectWatch(second)

	// The old leader is fenced, before and after the new leader writes.
	if err := first.e.PutPointer(ctx, first.epoch, "j1", Pointer{Checkpoint: 2, Metadata: "m"}); !errors.Is(err, ErrFenced) {
		t.Fatalf("old leader PutPointer = %v, want ErrFenced", err)
	}
	p2 := Pointer{Checkpoint: 2, Metadata: CheckpointMetadataObject("j1", 1, 2)}
	if err := second.e.PutPointer(ctx, second.epoch, "j1", p2); err != nil {
		t.Fatal(err)
	}
	if err := first.e.PutPointer(ctx, first.epoch, "j1", Pointer{Checkpoint: 3, Metadata: "m"}); !errors.Is(err, ErrFenced) {
		t.Fatalf("old leader PutPointer after the new leader's = %v, want ErrFenced", err)
	}
	if err := first.e.PutJob(ctx, first.epoch, job("j2")); !errors.Is(err, ErrFenced) {
		t.Fatalf("old leader PutJob = %v, want ErrFenced", err)
	}
	if err := second.e.PutPointer(ctx, first.epoch, "j1", p2); !errors.Is(err, ErrFenced) {
		t.Fatalf("new leader writing with the old epoch = %v, want ErrFenced", err)
	}
	got, ok, err := watcher.Pointer(ctx, "j1")
	if p2.Epoch = second.epoch; err != nil || !ok || got != p2 {
		t.Fatalf("Pointer = %+v, %v, %v; want %+v", got, ok, err, p2)
	}

	// Close: the last one leads.
	closed := time.Now()
	if err := second.e.Close(); err != nil {
		t.Fatal(err)
	}
	if !isClosed(second.lost) {
		t.Fatal("lost is open after Close")
	}
	third := receive(t, results, 5*time.Second, "after Close")
	t.Logf("after Close: %s leads at epoch %d, %v after the close", third.e.me.ID, third.epoch, third.at.Sub(closed))
	if third.epoch <= second.epoch {
		t.Fatalf("epoch %d after %d", third.epoch, second.epoch)
	}
	expectWatch(third)
	if _, _, err := second.e.Campaign(ctx, second.e.me); !errors.Is(err, ErrClosed) {
		t.Fatalf("Campaign after Close = %v, want ErrClosed", err)
	}
	// The first JobManager campaigns again and stands by.
	campaignAsync(ctx, first.e, results)
	if err := third.e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	fourth := receive(t, results, 5*time.Second, "after the third resigned")
	if fourth.e != first.e || fourth.epoch <= third.epoch {
		t.Fatalf("fourth leadership: %s at %d", fourth.e.me.ID, fourth.epoch)
	}
	expectWatch(fourth)
	// Resign and Close deregister the service.
	agentServices, err := srv.Client().Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	for id := range agentServices {
		if id == DefaultServiceName+"-"+third.e.me.ID || id == DefaultServiceName+"-"+second.e.me.ID {
			t.Errorf("service %s still registered after Resign/Close", id)
		}
	}
	if _, ok := agentServices[DefaultServiceName+"-"+first.e.me.ID]; !ok {
		t.Errorf("the leader's service is not registered: %v", agentServices)
	}
}

// TestConsulFencedByConsul checks Consul's side of fencing: a JobManager
// that still believes it leads (it has not yet noticed that its session is
// gone) cannot write, because the transaction's check of the lock key
// fails.
func TestConsulFencedByConsul(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	a := newElector(t, srv.HTTPAddr, cl, "jm-a", nil)
	b := newElector(t, srv.HTTPAddr, cl, "jm-b", nil)
	epochA, _, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	// The fields of a's leadership, as a JobManager that missed its loss
	// would keep them.
	staleEpoch, staleSession := a.term.epoch, a.term.session
	a.mu.Unlock()
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	epochB, _, err := b.Campaign(ctx, b.me)
	if err != nil {
		t.Fatal(err)
	}
	p := Pointer{Checkpoint: 5, Metadata: CheckpointMetadataObject("j1", 1, 5)}
	if err := b.PutPointer(ctx, epochB, "j1", p); err != nil {
		t.Fatal(err)
	}

	install := func() *term {
		tctx, cancel := context.WithCancel(context.Background())
		tm := &term{epoch: staleEpoch, session: staleSession, lost: make(chan struct{}), ctx: tctx, cancel: cancel}
		a.mu.Lock()
		a.term = tm
		a.mu.Unlock()
		return tm
	}
	tm := install()
	err = a.PutPointer(ctx, epochA, "j1", Pointer{Checkpoint: 6, Metadata: "x"})
	if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), "refused by Consul") {
		t.Fatalf("stale leader PutPointer = %v, want ErrFenced from Consul's check", err)
	}
	if !isClosed(tm.lost) || !tm.fenced.Load() {
		t.Fatal("a write refused by Consul did not end the stale leadership")
	}
	install()
	if err := a.PutJob(ctx, epochA, job("j1")); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale leader PutJob = %v, want ErrFenced", err)
	}
	a.mu.Lock()
	a.term = nil
	a.mu.Unlock()
	got, _, err := b.Pointer(ctx, "j1")
	if p.Epoch = epochB; err != nil || got != p {
		t.Fatalf("the pointer changed: %+v, %v", got, err)
	}
	if js, _ := b.Jobs(ctx); len(js) != 0 {
		t.Fatalf("the stale leader wrote a job: %+v", js)
	}
}

// TestConsulHungLeader stops the leader's health-check updates (as if its
// process hung or died): its session is invalidated when the check's TTL
// runs out, it sees the lock lost, and the standby takes over after the
// lock delay.
func TestConsulHungLeader(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	a := newElector(t, srv.HTTPAddr, cl, "jm-a", nil)
	b := newElector(t, srv.HTTPAddr, cl, "jm-b", nil)
	epochA, lostA, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan campaignResult, 1)
	campaignAsync(ctx, b, results)
	waitFor(t, 10*time.Second, "b standing by", func() bool { return strings.Contains(b.log.String(), "standing by") })

	stopped := time.Now()
	a.pauseHeartbeat.Store(true)
	bound := a.cfg.CheckTTL + a.cfg.LockDelay + 2*time.Second
	select {
	case <-lostA:
		t.Logf("the hung leader saw its leadership lost %v after its check updates stopped", time.Since(stopped).Round(time.Millisecond))
	case <-time.After(bound):
		t.Fatalf("lost still open %v after the check updates stopped", bound)
	}
	r := receive(t, results, bound, "failover")
	took := r.at.Sub(stopped)
	t.Logf("failover: %s leads at epoch %d, %v after the leader's check updates stopped (CheckTTL %v + LockDelay %v)",
		r.e.me.ID, r.epoch, took.Round(time.Millisecond), a.cfg.CheckTTL, a.cfg.LockDelay)
	if r.e != b || r.epoch <= epochA {
		t.Fatalf("failover to %s at epoch %d (old %d)", r.e.me.ID, r.epoch, epochA)
	}
	if err := a.PutPointer(ctx, epochA, "j1", Pointer{Checkpoint: 1, Metadata: "m"}); !errors.Is(err, ErrFenced) {
		t.Fatalf("hung leader PutPointer = %v, want ErrFenced", err)
	}
	waitFor(t, time.Second, "the loss logged", func() bool { return strings.Contains(a.log.String(), "leadership lost") })
	// Once it passes its check again it may campaign again, as a standby.
	a.pauseHeartbeat.Store(false)
	campaignAsync(ctx, a, results)
	waitFor(t, 10*time.Second, "a standing by again", func() bool { return strings.Count(a.log.String(), "standing by") >= 1 })
	noneReady(t, results, "after the hung leader came back")
}

// TestConsulLockKeyRewritten: a write to the lock key by anyone else ends
// the leadership, since readers would no longer find its epoch there.
func TestConsulLockKeyRewritten(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	a := newElector(t, srv.HTTPAddr, cl, "jm-a", nil)
	epoch, lost, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().KV().Put(&api.KVPair{Key: a.keys.leader, Value: []byte("operator was here")}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("lost still open after the lock key was rewritten")
	}
	waitFor(t, time.Second, "the reason logged", func() bool { return strings.Contains(a.log.String(), "rewritten") })
	if err := a.PutJob(ctx, epoch, job("j1")); !errors.Is(err, ErrFenced) {
		t.Fatalf("PutJob = %v, want ErrFenced", err)
	}
}

func TestConsulStore(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	a := newElector(t, srv.Addr, cl, "jm-a", nil)
	epoch, _, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	if js, err := a.Jobs(ctx); err != nil || len(js) != 0 {
		t.Fatalf("Jobs of an empty store = %v, %v", js, err)
	}
	j1, j0 := job("j1"), job("j0")
	j0.Submitted = j1.Submitted.Add(-time.Minute)
	j0.FromSavepoint, j0.AllowNonRestoredState = "savepoints/x", true
	for _, j := range []JobRecord{j1, j0} {
		if err := a.PutJob(ctx, epoch, j); err != nil {
			t.Fatal(err)
		}
	}
	j1.Ended, j1.State = true, "finished"
	if err := a.PutJob(ctx, epoch, j1); err != nil {
		t.Fatal(err)
	}
	if err := a.PutJob(ctx, epoch, JobRecord{ID: "j2"}); err == nil || errors.Is(err, ErrFenced) {
		t.Fatalf("PutJob of a record without graph = %v", err)
	}
	// Corrupt and foreign values under jobs/.
	raw := srv.Client().KV()
	other, _ := encodeJob(job("j3"))
	bad := map[string]string{
		a.keys.job("garbage"): "\x00not json",
		a.keys.job("v2"):      strings.Replace(string(other), "sluice-job/1", "sluice-job/2", 1),
		a.keys.job("j4"):      string(other), // the record of j3 under j4
		a.keys.jobs + "x/y":   string(other),
		a.keys.job("nograph"): `{"format":"sluice-job/1","id":"nograph"}`,
	}
	for k, v := range bad {
		if _, err := raw.Put(&api.KVPair{Key: k, Value: []byte(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	reader := newElector(t, srv.Addr, cl, "reader", nil)
	js, err := reader.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 2 || js[0].ID != "j0" || js[1].ID != "j1" {
		t.Fatalf("Jobs = %+v", js)
	}
	if !js[1].Ended || js[1].State != "finished" || !js[0].AllowNonRestoredState || js[0].FromSavepoint != "savepoints/x" ||
		string(js[0].Graph) != string(j0.Graph) || js[0].Artifact != digest || len(js[0].Args) != 2 || !js[0].Submitted.Equal(j0.Submitted) {
		t.Fatalf("Jobs = %+v", js)
	}
	for k := range bad {
		if !strings.Contains(reader.log.String(), k) {
			t.Errorf("the corrupt entry %s was not logged", k)
		}
	}

	if _, ok, err := reader.Pointer(ctx, "j1"); ok || err != nil {
		t.Fatalf("Pointer before any = %v, %v", ok, err)
	}
	p := Pointer{Checkpoint: 12, Metadata: CheckpointMetadataObject("j1", 1, 12), Epoch: 999}
	if err := a.PutPointer(ctx, epoch, "j1", p); err != nil {
		t.Fatal(err)
	}
	got, ok, err := reader.Pointer(ctx, "j1")
	if p.Epoch = epoch; err != nil || !ok || got != p {
		t.Fatalf("Pointer = %+v, %v, %v; want %+v", got, ok, err, p)
	}
	if _, err := raw.Put(&api.KVPair{Key: a.keys.pointer("j7"), Value: []byte(`{"checkpoint":3}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reader.Pointer(ctx, "j7"); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), a.keys.pointer("j7")) {
		t.Fatalf("Pointer of a corrupt value = %v, want ErrForeign naming the key", err)
	}
	if _, _, err := reader.Pointer(ctx, "../x"); err == nil {
		t.Fatal("Pointer of an invalid id succeeded")
	}
}

func TestConsulForeignLeaderValue(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	a := newElector(t, srv.Addr, cl, "jm-a", nil)
	key := a.keys.leader
	raw := srv.Client()
	sid, _, err := raw.Session().CreateNoChecks(&api.SessionEntry{TTL: "30s", LockDelay: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := raw.KV().Acquire(&api.KVPair{Key: key, Session: sid, Value: []byte("some other program")}, nil); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := a.Leader(ctx); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), key) {
		t.Fatalf("Leader = %v, want ErrForeign naming %s", err, key)
	}
	if !strings.Contains(a.log.String(), "refusing the value of the leader key") {
		t.Error("the foreign value was not logged")
	}

	watcher := newElector(t, srv.Addr, cl, "watcher", nil)
	wctx, wcancel := context.WithCancel(ctx)
	seen := make(chan Leader, 10)
	watchDone := make(chan error)
	go func() { watchDone <- watcher.Watch(wctx, func(l Leader) { seen <- l }) }()
	defer func() { wcancel(); <-watchDone }()
	if l := <-seen; !l.IsZero() {
		t.Fatalf("Watch followed a foreign value: %+v", l)
	}

	// A JobManager stands by while the foreign session holds the key.
	results := make(chan campaignResult, 1)
	campaignAsync(ctx, a, results)
	waitFor(t, 10*time.Second, "the foreign holder logged", func() bool { return strings.Contains(a.log.String(), "foreign value") })
	noneReady(t, results, "while a foreign session holds the lock")

	// Another version of the format is refused too.
	v2 := []byte(`{"format":"sluice-leader/2","id":"jm-z","rest":"127.0.0.1:1","rpc":"127.0.0.1:2"}`)
	if ok, _, err := raw.KV().Acquire(&api.KVPair{Key: key, Session: sid, Value: v2}, nil); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := a.Leader(ctx); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "another version") {
		t.Fatalf("Leader = %v, want ErrForeign for another version", err)
	}

	if _, err := raw.Session().Destroy(sid, nil); err != nil {
		t.Fatal(err)
	}
	r := receive(t, results, 10*time.Second, "after the foreign session ended")
	for l := range seen {
		if l.ID == a.me.ID {
			if l.Epoch != r.epoch {
				t.Fatalf("Watch reported epoch %d, want %d", l.Epoch, r.epoch)
			}
			break
		}
		if !l.IsZero() {
			t.Fatalf("Watch reported %+v", l)
		}
	}
}

func TestConsulUnreachableAtStart(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t)) // nothing listens there
	tl, logger := newTestLog(t)
	start := time.Now()
	_, err := NewConsul(ConsulConfig{Address: addr, StartTimeout: 1500 * time.Millisecond, Logger: logger})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("NewConsul = %v; want an error naming %s", err, addr)
	}
	t.Logf("NewConsul failed after %v: %v", took.Round(time.Millisecond), err)
	if took < 1500*time.Millisecond || took > 5*time.Second {
		t.Errorf("took %v with a start timeout of 1.5s", took)
	}
	if n := strings.Count(tl.String(), "not reachable yet; retrying"); n < 3 {
		t.Errorf("%d retries logged, want several", n)
	}
}

func TestConsulCampaignStops(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	a := newElector(t, srv.HTTPAddr, cl, "jm-a", nil)
	if _, _, err := a.Campaign(ctx, a.me); err != nil {
		t.Fatal(err)
	}
	// A standby's campaign ends with its context, with Resign and with Close.
	b := newElector(t, srv.HTTPAddr, cl, "jm-b", nil)
	cctx, cancel := context.WithCancel(ctx)
	results := make(chan campaignResult, 1)
	go func() {
		_, _, err := b.Campaign(cctx, b.me)
		results <- campaignResult{e: b, err: err}
	}()
	waitFor(t, 10*time.Second, "b standing by", func() bool { return strings.Contains(b.log.String(), "standing by") })
	cancel()
	if r := <-results; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Campaign after cancel = %v", r.err)
	}
	go func() {
		_, _, err := b.Campaign(ctx, b.me)
		results <- campaignResult{e: b, err: err}
	}()
	waitFor(t, 10*time.Second, "b standing by again", func() bool { return strings.Count(b.log.String(), "standing by") >= 2 })
	if err := b.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-results; r.err == nil || !strings.Contains(r.err.Error(), "Resign") {
		t.Fatalf("Campaign after Resign = %v", r.err)
	}
	go func() {
		_, _, err := b.Campaign(ctx, b.me)
		results <- campaignResult{e: b, err: err}
	}()
	waitFor(t, 10*time.Second, "b standing by once more", func() bool { return strings.Count(b.log.String(), "standing by") >= 3 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-results; !errors.Is(r.err, ErrClosed) {
		t.Fatalf("Campaign after Close = %v", r.err)
	}
	// No session of b is left behind.
	waitFor(t, 5*time.Second, "b's sessions destroyed", func() bool {
		ss, _, err := srv.Client().Session().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if strings.Contains(s.Name, "jm-b") {
				return false
			}
		}
		return true
	})
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Resign(ctx); err != nil {
		t.Fatal("second Resign:", err)
	}
	// Watch ends with the caller's context (nil) or with Close (ErrClosed).
	watchDone := make(chan error)
	wctx, wcancel := context.WithCancel(ctx)
	go func() { watchDone <- a.Watch(wctx, func(Leader) {}) }()
	wcancel()
	if err := <-watchDone; err != nil {
		t.Fatalf("Watch after cancel = %v", err)
	}
	called := make(chan struct{}, 10)
	go func() { watchDone <- a.Watch(ctx, func(Leader) { called <- struct{}{} }) }()
	<-called
	a.Close()
	if err := <-watchDone; !errors.Is(err, ErrClosed) {
		t.Fatalf("Watch after Close = %v", err)
	}
}

// TestConsulBlipWithinGrace cuts the leader's connection to Consul for
// less than the grace period: it keeps leading.
func TestConsulBlipWithinGrace(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	proxy := newCutProxy(t, srv.Addr)
	const grace = 3 * time.Second
	a := newElector(t, proxy.Addr(), cl, "jm-a", func(c *ConsulConfig) {
		c.Grace = grace
		c.CheckTTL = 8 * time.Second // the check outlives the blip
	})
	epoch, lost, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	proxy.Cut()
	waitFor(t, 5*time.Second, "the leader noticing the blip", func() bool {
		return strings.Contains(a.log.String(), "Consul does not answer")
	})
	time.Sleep(time.Second) // the blip
	restored := time.Now()
	proxy.Restore()
	waitFor(t, grace, "the leader confirming its lock again", func() bool {
		return a.monitorOK.Load() >= restored.UnixNano()
	})
	// Stay past the end of the grace period counted from the cut: lost
	// must not close.
	time.Sleep(time.Until(cut.Add(grace + 500*time.Millisecond)))
	if isClosed(lost) {
		t.Fatal("a blip shorter than the grace period ended the leadership")
	}
	if err := a.PutPointer(ctx, epoch, "j1", Pointer{Checkpoint: 1, Metadata: "m"}); err != nil {
		t.Fatalf("PutPointer after the blip: %v", err)
	}
}

// TestConsulUnreachablePastGrace cuts the leader off Consul for longer than
// the grace period (its session stays valid meanwhile: its check's TTL is
// long): it gives up leadership after the grace period; once Consul is
// reachable again it destroys its session, and the standby takes over.
func TestConsulUnreachablePastGrace(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	proxy := newCutProxy(t, srv.Addr)
	const grace = 1500 * time.Millisecond
	a := newElector(t, proxy.Addr(), cl, "jm-a", func(c *ConsulConfig) {
		c.Grace = grace
		c.CheckTTL = 30 * time.Second
	})
	b := newElector(t, srv.HTTPAddr, cl, "jm-b", nil)
	epoch, lost, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan campaignResult, 1)
	campaignAsync(ctx, b, results)
	waitFor(t, 10*time.Second, "b standing by", func() bool { return strings.Contains(b.log.String(), "standing by") })

	cut := time.Now()
	proxy.Cut()
	select {
	case <-lost:
		t.Logf("leadership given up %v after the cut (grace %v)", time.Since(cut).Round(time.Millisecond), grace)
	case <-time.After(grace + 3*time.Second):
		t.Fatal("lost still open past the grace period")
	}
	if d := time.Since(cut); d < grace-confirmInterval(grace)-100*time.Millisecond {
		t.Errorf("leadership given up after %v, before the grace period", d)
	}
	if err := a.PutPointer(ctx, epoch, "j1", Pointer{Checkpoint: 1, Metadata: "m"}); !errors.Is(err, ErrFenced) {
		t.Fatalf("PutPointer = %v, want ErrFenced", err)
	}
	noneReady(t, results, "while the old leader's session is still valid")
	restored := time.Now()
	proxy.Restore()
	r := receive(t, results, 10*time.Second, "after the connection came back")
	t.Logf("%s leads at epoch %d, %v after the connection came back", r.e.me.ID, r.epoch, r.at.Sub(restored).Round(time.Millisecond))
	if r.epoch <= epoch {
		t.Fatalf("epoch %d after %d", r.epoch, epoch)
	}
}

// TestConsulAgentKilled: when the agent dies, the leader gives up after the
// grace period.
func TestConsulAgentKilled(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	const grace = 1500 * time.Millisecond
	a := newElector(t, srv.HTTPAddr, cluster(t), "jm-a", func(c *ConsulConfig) { c.Grace = grace })
	_, lost, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	srv.Kill(t)
	select {
	case <-lost:
		t.Logf("leadership given up %v after the agent was killed", time.Since(killed).Round(time.Millisecond))
	case <-time.After(grace + 3*time.Second):
		t.Fatal("lost still open past the grace period")
	}
}

// helperProcess is a JobManager in another process (see helperJobManager).
type helperProcess struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

func startHelper(t *testing.T, addr, cluster, id string) *helperProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SLUICE_HA_TEST_HELPER=1", "SLUICE_HA_CONSUL="+addr, "SLUICE_HA_CLUSTER="+cluster, "SLUICE_HA_ID="+id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testLog
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helperProcess{cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-h.done
		if t.Failed() {
			t.Logf("helper %s stderr:\n%s", id, stderr.String())
		}
	})
	return h
}

// expect waits for a line of the helper's output starting with prefix.
func (h *helperProcess) expect(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l := <-h.lines:
			if strings.HasPrefix(l, "error") {
				t.Fatalf("helper: %s", l)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("helper did not print %q within %v", prefix, timeout)
		}
	}
}

func helperEpoch(t *testing.T, line string) uint64 {
	n, err := strconv.ParseUint(strings.TrimPrefix(line, "leading "), 10, 64)
	if err != nil {
		t.Fatalf("helper printed %q", line)
	}
	return n
}

// TestConsulKilledLeaderProcess kills a leading JobManager process with
// SIGKILL: the standby takes over within about CheckTTL + LockDelay.
func TestConsulKilledLeaderProcess(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	h := startHelper(t, srv.HTTPAddr, cl, "jm-proc")
	epoch := helperEpoch(t, h.expect(t, "leading", 20*time.Second))
	b := newElector(t, srv.HTTPAddr, cl, "jm-b", nil)
	results := make(chan campaignResult, 1)
	campaignAsync(ctx, b, results)
	waitFor(t, 10*time.Second, "b standing by", func() bool { return strings.Contains(b.log.String(), "standing by") })

	killed := time.Now()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	bound := DefaultCheckTTL + DefaultLockDelay + 2*time.Second
	r := receive(t, results, bound, "failover after SIGKILL")
	t.Logf("failover after SIGKILL of the leader's process: %v (CheckTTL %v + LockDelay %v), epoch %d -> %d",
		r.at.Sub(killed).Round(time.Millisecond), DefaultCheckTTL, DefaultLockDelay, epoch, r.epoch)
	if r.epoch <= epoch {
		t.Fatalf("epoch %d after %d", r.epoch, epoch)
	}
}

// TestConsulStoppedLeaderProcess stops a leading JobManager process with
// SIGSTOP: it loses its session like a dead one, the standby takes over,
// and when the process continues it sees its leadership lost.
func TestConsulStoppedLeaderProcess(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	cl := cluster(t)
	h := startHelper(t, srv.HTTPAddr, cl, "jm-proc")
	epoch := helperEpoch(t, h.expect(t, "leading", 20*time.Second))
	b := newElector(t, srv.HTTPAddr, cl, "jm-b", nil)
	results := make(chan campaignResult, 1)
	campaignAsync(ctx, b, results)
	waitFor(t, 10*time.Second, "b standing by", func() bool { return strings.Contains(b.log.String(), "standing by") })

	stopped := time.Now()
	if err := h.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	bound := DefaultCheckTTL + DefaultLockDelay + 2*time.Second
	r := receive(t, results, bound, "failover after SIGSTOP")
	t.Logf("failover after SIGSTOP of the leader's process: %v, epoch %d -> %d", r.at.Sub(stopped).Round(time.Millisecond), epoch, r.epoch)
	if r.epoch <= epoch {
		t.Fatalf("epoch %d after %d", r.epoch, epoch)
	}
	if err := h.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	h.expect(t, "lost", 5*time.Second)
	if l, err := b.Leader(ctx); err != nil || l.ID != "jm-b" || l.Epoch != r.epoch {
		t.Fatalf("Leader = %+v, %v", l, err)
	}
}

// TestConsulACL checks the token's rights at start: a token that may not
// do what a JobManager does is refused with ErrPermission naming the key
// (or resource) and the missing right; a token with the rights of the
// documented policy works.
func TestConsulACL(t *testing.T) {
	srv := consultest.Start(t, consultest.WithACL())
	ctx := context.Background()
	cl := cluster(t)
	acl := srv.Client().ACL()
	token := func(name, rules string) string {
		t.Helper()
		p, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: name, Rules: rules}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := acl.TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok.SecretID
	}
	const (
		keys     = `key_prefix "sluice/" { policy = "write" }`
		sessions = `session_prefix "" { policy = "write" }`
		services = `service_prefix "sluice-jobmanager" { policy = "write" }`
		nodes    = `node_prefix "" { policy = "read" }`
	)
	full := token("full", keys+"\n"+sessions+"\n"+services+"\n"+nodes)
	for _, tc := range []struct {
		name, rules string
		want        []string
	}{
		{"read-only", `key_prefix "" { policy = "read" }` + "\n" + sessions + "\n" + services,
			[]string{fmt.Sprintf("key %q: the token lacks key:write", "sluice/"+cl+"/leader"), "key:write"}},
		{"other-prefix", `key_prefix "other/" { policy = "write" }` + "\n" + sessions + "\n" + services,
			[]string{fmt.Sprintf("key %q: the token lacks key:read", "sluice/"+cl+"/leader")}},
		{"no-sessions", keys + "\n" + services, []string{"session:write"}},
		{"no-services", keys + "\n" + sessions, []string{fmt.Sprintf("service %q: the token lacks service:write", DefaultServiceName)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, logger := newTestLog(t)
			_, err := NewConsul(ConsulConfig{Address: srv.Addr, Cluster: cl, Token: token(tc.name, tc.rules), Logger: logger, StartTimeout: 10 * time.Second})
			if !errors.Is(err, ErrPermission) {
				t.Fatalf("NewConsul = %v, want ErrPermission", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			t.Log(err)
		})
	}
	_, logger := newTestLog(t)
	if _, err := NewConsul(ConsulConfig{Address: srv.Addr, Cluster: cl, Token: "00000000-0000-0000-0000-000000000001", Logger: logger, StartTimeout: 10 * time.Second}); !errors.Is(err, ErrPermission) {
		t.Fatalf("NewConsul with an unknown token = %v, want ErrPermission", err)
	}

	a := newElector(t, srv.Addr, cl, "jm-a", func(c *ConsulConfig) { c.Token = full })
	b := newElector(t, srv.Addr, cl, "jm-b", func(c *ConsulConfig) { c.Token = full })
	epoch, _, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PutJob(ctx, epoch, job("j1")); err != nil {
		t.Fatal(err)
	}
	if err := a.PutPointer(ctx, epoch, "j1", Pointer{Checkpoint: 1, Metadata: "m"}); err != nil {
		t.Fatal(err)
	}
	results := make(chan campaignResult, 1)
	campaignAsync(ctx, b, results)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r := receive(t, results, 5*time.Second, "failover with ACLs")
	if js, err := b.Jobs(ctx); err != nil || len(js) != 1 {
		t.Fatalf("Jobs = %v, %v", js, err)
	}
	if r.epoch <= epoch {
		t.Fatalf("epoch %d after %d", r.epoch, epoch)
	}
}

// TestConsulAgentPausedWithinGrace freezes the agent (SIGSTOP: requests
// hang) for less than the grace period: the leader keeps leading.
func TestConsulAgentPausedWithinGrace(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	const grace = 4 * time.Second
	a := newElector(t, srv.Addr, cluster(t), "jm-a", func(c *ConsulConfig) {
		c.Grace = grace
		// The agent's TTL timer runs on when it continues: the check
		// must outlive the pause, or the session ends at SIGCONT.
		c.CheckTTL = 10 * time.Second
	})
	epoch, lost, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	srv.Pause(t)
	time.Sleep(1500 * time.Millisecond) // the blip
	resumed := time.Now()
	srv.Resume(t)
	waitFor(t, grace, "the leader confirming its lock again", func() bool {
		return a.monitorOK.Load() >= resumed.UnixNano()
	})
	time.Sleep(time.Until(paused.Add(grace + 500*time.Millisecond))) // past the grace period counted from the pause
	if isClosed(lost) {
		t.Fatal("a pause of the agent shorter than the grace period ended the leadership")
	}
	if err := a.PutJob(ctx, epoch, job("j1")); err != nil {
		t.Fatalf("PutJob after the pause: %v", err)
	}
}

// TestConsulAgentPausedPastGrace freezes the agent for longer than the grace
// period: requests hang rather than fail, and the leader gives up when the
// grace period ends.
func TestConsulAgentPausedPastGrace(t *testing.T) {
	srv := consultest.Start(t)
	ctx := context.Background()
	const grace = 1500 * time.Millisecond
	a := newElector(t, srv.Addr, cluster(t), "jm-a", func(c *ConsulConfig) { c.Grace = grace })
	epoch, lost, err := a.Campaign(ctx, a.me)
	if err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	srv.Pause(t)
	select {
	case <-lost:
		t.Logf("leadership given up %v after the agent was paused (grace %v)", time.Since(paused).Round(time.Millisecond), grace)
	case <-time.After(grace + 3*time.Second):
		t.Fatal("lost still open past the grace period")
	}
	if err := a.PutJob(ctx, epoch, job("j1")); !errors.Is(err, ErrFenced) {
		t.Fatalf("PutJob = %v, want ErrFenced", err)
	}
	srv.Resume(t)
}
