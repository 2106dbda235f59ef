package jobmanager

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/poll"
	"github.com/sluicehq/sluice/jobmanager/provider"
)

// fakeProvider is a ResourceProvider whose losses the test sends.
type fakeProvider struct {
	lost    chan provider.Lost
	pending error
	mu      sync.Mutex
	ensured int
}

func (p *fakeProvider) Ensure(context.Context, provider.Request) ([]string, error) {
	p.mu.Lock()
	p.ensured++
	p.mu.Unlock()
	return nil, nil
}
func (p *fakeProvider) Release(string) error       { return nil }
func (p *fakeProvider) Lost() <-chan provider.Lost { return p.lost }
func (p *fakeProvider) Pending(jobID string) error { return p.pending }
func newFakeProvider(pending error) *fakeProvider {
	return &fakeProvider{lost: make(chan provider.Lost), pending: pending}
}
func (p *fakeProvider) report(l provider.Lost) { p.lost <- l }

// everyRestart restarts at once, always.
type everyRestart struct{}

func (everyRestart) Failed(time.Time) (time.Duration, bool) { return 0, true }
func (everyRestart) String() string                         { return "always" }

func TestSlotTimeoutSaysWhyTheProviderIsPending(t *testing.T) {
	p := newFakeProvider(errors.New("nomad has placed 0 of 1 taskmanagers: memory exhausted on 1"))
	jm := New(Config{SlotTimeout: 50 * time.Millisecond, Provider: p})
	defer jm.Close()
	id, err := jm.Submit(context.Background(), Submission{Graph: testGraph(t), Program: nopProgram{}, Resources: &provider.Request{TaskManagers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := jm.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateFailed || !strings.Contains(st.Error, "no slots after waiting") || !strings.Contains(st.Error, "memory exhausted") {
		t.Fatalf("job %s: %q", st.State, st.Error)
	}
}

// TestLateLossReportOfARegisteredTaskManager: the provider reports the end
// of a TaskManager after its connection dropped and the job went back to
// waiting for slots; that must not count as a TaskManager that never came
// up, which fails a waiting job.
func TestLateLossReportOfARegisteredTaskManager(t *testing.T) {
	p := newFakeProvider(nil)
	jm := New(Config{SlotTimeout: time.Minute, Provider: p})
	defer jm.Close()
	tm := &fakeTM{jm: jm, id: "tm-1", slots: 2}
	jm.RegisterTaskManager(tm)
	id, err := jm.Submit(context.Background(), Submission{Graph: testGraph(t), Program: nopProgram{}, Restart: everyRestart{},
		Resources: &provider.Request{TaskManagers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := jm.Status(id); st.State != StateRunning {
		t.Fatalf("job %s, want running", st.State)
	}
	jm.TaskManagerLost("tm-1", errors.New("connection dropped"))
	poll.Until(t, 10*time.Second, "the job to wait for slots again", func() bool {
		st, _ := jm.Status(id)
		return st.State == StateCreated
	})
	p.report(provider.Lost{TaskManager: "tm-1", JobID: id, Err: errors.New("allocation stopped")})
	// A TaskManager that never registered fails the waiting job.
	p.report(provider.Lost{TaskManager: "tm-2", JobID: id, Err: errors.New("artifact download failed")})
	// The reports are handled in order: once tm-2's counted, tm-1's was
	// handled too.
	var st JobStatus
	poll.Until(t, 10*time.Second, "the report of a TaskManager that never registered to fail the waiting job", func() bool {
		st, _ = jm.Status(id)
		n := len(st.Exceptions)
		return n > 0 && strings.Contains(st.Exceptions[n-1].Error, "artifact download failed")
	})
	for _, e := range st.Exceptions {
		if strings.Contains(e.Error, "allocation stopped") {
			t.Errorf("the late report of tm-1 counted as a failure: %+v", e)
		}
	}
}

func TestRecentSetForgetsTheOldest(t *testing.T) {
	var s recentSet
	for i := range recentSetCap + 10 {
		s.add(strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26))
	}
	if len(s.members) != recentSetCap {
		t.Fatalf("%d members, want %d", len(s.members), recentSetCap)
	}
	s.add("z")
	if !s.remove("z") || s.remove("z") {
		t.Fatal("remove of a member")
	}
}
