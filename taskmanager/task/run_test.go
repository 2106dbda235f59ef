package task

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/taskmanager/network"
)

// fakeChain records what the task loop asks of it.
type fakeChain struct {
	source    bool
	reads     []int // what successive Reads return; then io.EOF
	panicAt   int   // Process call that panics (1-based), 0: none
	calls     []string
	op        string
	processed int
}

func (f *fakeChain) Open() error    { f.calls = append(f.calls, "open"); return nil }
func (f *fakeChain) IsSource() bool { return f.source }
func (f *fakeChain) Read() (int, error) {
	if len(f.reads) == 0 {
		return 0, io.EOF
	}
	n := f.reads[0]
	f.reads = f.reads[1:]
	f.calls = append(f.calls, "read")
	return n, nil
}
func (f *fakeChain) Process(b *network.Buffer) int {
	f.processed++
	if f.processed == f.panicAt {
		f.op = "boom-op"
		panic("exploded")
	}
	f.calls = append(f.calls, "process")
	return len(*b.Batch.(*[]int))
}
func (f *fakeChain) EndInput() error                   { f.calls = append(f.calls, "end-input"); return nil }
func (f *fakeChain) Flush()                            { f.calls = append(f.calls, "flush") }
func (f *fakeChain) Restore(map[string][][]byte) error { return nil }
func (f *fakeChain) Checkpoint(id int64) (*Snapshot, error) {
	f.calls = append(f.calls, fmt.Sprintf("checkpoint-%d", id))
	return &Snapshot{}, nil
}
func (f *fakeChain) EndOutputs()      { f.calls = append(f.calls, "end-outputs") }
func (f *fakeChain) Close() error     { f.calls = append(f.calls, "close"); return nil }
func (f *fakeChain) Operator() string { return f.op }

func send(in *network.Inbox, ch int, ev network.Event, recs ...int) {
	c := in.Channel(ch)
	if _, err := c.Acquire(nil); err != nil {
		panic(err)
	}
	c.Send(ev, &recs)
}

func TestInputLoopEndsWhenEveryChannelEnded(t *testing.T) {
	in := network.NewInbox(2, 4)
	send(in, 0, network.EventNone, 1, 2, 3)
	send(in, 1, network.EventEndOfStream)
	send(in, 1, network.EventEndOfStream) // duplicate: counted once
	send(in, 0, network.EventNone, 4)
	send(in, 0, network.EventEndOfStream)
	f := &fakeChain{}
	var stats Stats
	if err := Run(f, in, make(chan struct{}), DefaultConfig(), &stats, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := stats.RecordsIn.Load(); got != 4 {
		t.Fatalf("records in %d, want 4", got)
	}
	got := strings.Join(f.calls, ",")
	if !strings.HasPrefix(got, "open,process,process") || !strings.HasSuffix(got, "end-input,flush,end-outputs,close") {
		t.Fatalf("calls: %s", got)
	}
}

func TestInputLoopFlushesBeforeWaiting(t *testing.T) {
	in := network.NewInbox(1, 4)
	done := make(chan struct{})
	f := &fakeChain{}
	errc := make(chan error, 1)
	var stats Stats
	go func() {
		errc <- Run(f, in, done, Config{BufferTimeout: time.Hour, BatchSize: 1, Credits: 1}, &stats, nil, nil)
	}()
	send(in, 0, network.EventNone, 1)
	// The loop processes the buffer, finds the inbox empty and flushes
	// before blocking, although the buffer timeout is an hour away.
	deadline := time.Now().Add(10 * time.Second)
	for stats.RecordsIn.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(done)
	if err := <-errc; !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled", err)
	}
	got := strings.Join(f.calls, ",")
	if !strings.Contains(got, "process,flush") {
		t.Fatalf("no flush after processing while idle: %s", got)
	}
	if strings.Contains(got, "end-outputs") {
		t.Fatalf("a cancelled task must not end its outputs: %s", got)
	}
}

func TestPanicBecomesOperatorError(t *testing.T) {
	in := network.NewInbox(1, 2)
	send(in, 0, network.EventNone, 1)
	f := &fakeChain{panicAt: 1}
	err := Run(f, in, make(chan struct{}), DefaultConfig(), new(Stats), nil, nil)
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "boom-op" || !oe.Panic || !strings.Contains(err.Error(), "exploded") {
		t.Fatalf("err = %v", err)
	}
	if f.calls[len(f.calls)-1] != "close" {
		t.Fatalf("chain not closed after the panic: %v", f.calls)
	}
}

func TestSourceLoopFlushesWhenIdleAndEnds(t *testing.T) {
	f := &fakeChain{source: true, reads: []int{5, 0, 3}}
	var stats Stats
	if err := Run(f, nil, make(chan struct{}), Config{BufferTimeout: time.Hour}.WithDefaults(), &stats, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := "open,read,read,flush,read,end-input,flush,end-outputs,close"
	if got := strings.Join(f.calls, ","); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	if stats.RecordsIn.Load() != 8 {
		t.Fatalf("records %d, want 8", stats.RecordsIn.Load())
	}
}

func TestFailurePanicCarriesTheError(t *testing.T) {
	f := &fakeChain{op: "reader"}
	// A Failure panic carries an error, not a crash: no stack, not a panic.
	err := func() (err error) {
		defer func() { err = recovered(f, recover()) }()
		panic(Failure{Err: errors.New("disk gone")})
	}()
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Panic || oe.Operator != "reader" {
		t.Fatalf("err = %v", err)
	}
	if err := recovered(f, Failure{Err: network.ErrClosed}); !errors.Is(err, ErrCancelled) {
		t.Fatalf("closed channel should read as cancellation, got %v", err)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// alignChain records the order of processing and checkpoints.
type alignChain struct {
	fakeChain
	log []string
}

func (a *alignChain) Process(b *network.Buffer) int {
	recs := *b.Batch.(*[]int)
	a.log = append(a.log, fmt.Sprintf("ch%d:%v", b.Channel, recs))
	return len(recs)
}

func (a *alignChain) Checkpoint(id int64) (*Snapshot, error) {
	a.log = append(a.log, fmt.Sprintf("snapshot-%d", id))
	return &Snapshot{}, nil
}

func sendBarrier(in *network.Inbox, ch int, id int64) {
	c := in.Channel(ch)
	b, _ := c.Acquire(nil)
	c.SendBarrier(id, b)
}

func TestBarrierAlignment(t *testing.T) {
	type step func(in *network.Inbox)
	data := func(ch int, v int) step { return func(in *network.Inbox) { send(in, ch, network.EventNone, v) } }
	barrier := func(ch int, id int64) step { return func(in *network.Inbox) { sendBarrier(in, ch, id) } }
	eos := func(ch int) step { return func(in *network.Inbox) { send(in, ch, network.EventEndOfStream) } }
	cases := []struct {
		name    string
		aligned bool
		steps   []step
		want    string
	}{
		{"exactly-once holds the channel that delivered the barrier", true,
			[]step{data(0, 1), barrier(0, 1), data(0, 2), data(1, 3), barrier(1, 1), data(1, 4), eos(0), eos(1)},
			"ch0:[1] ch1:[3] snapshot-1 ch0:[2] ch1:[4]"},
		{"at-least-once processes on", false,
			[]step{data(0, 1), barrier(0, 1), data(0, 2), data(1, 3), barrier(1, 1), data(1, 4), eos(0), eos(1)},
			"ch0:[1] ch0:[2] ch1:[3] snapshot-1 ch1:[4]"},
		{"a newer barrier aborts the alignment", true,
			[]step{barrier(0, 1), data(0, 2), barrier(1, 2), barrier(0, 2), data(1, 5), eos(0), eos(1)},
			"ch0:[2] snapshot-2 ch1:[5]"},
		{"an ended channel counts as aligned", true,
			[]step{barrier(0, 1), data(0, 2), eos(1), eos(0)},
			"snapshot-1 ch0:[2]"},
		{"a stale barrier is ignored", true,
			[]step{barrier(0, 1), barrier(1, 1), barrier(0, 1), data(0, 7), eos(0), eos(1)},
			"snapshot-1 ch0:[7]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := network.NewInbox(2, 8)
			for _, s := range tc.steps {
				s(in)
			}
			var snaps []int64
			a := &alignChain{}
			cp := &Checkpointing{Aligned: tc.aligned, OnSnapshot: func(id int64, _ *Snapshot, m SnapshotMetrics) { snaps = append(snaps, id) }}
			if err := Run(a, in, make(chan struct{}), DefaultConfig(), new(Stats), cp, nil); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a.log, " "); got != tc.want {
				t.Fatalf("order\n got %s\nwant %s", got, tc.want)
			}
			if len(snaps) != strings.Count(tc.want, "snapshot") {
				t.Fatalf("OnSnapshot called for %v", snaps)
			}
		})
	}
}

func TestSourceTakesTriggersBetweenReads(t *testing.T) {
	triggers := make(chan int64, 1)
	triggers <- 5
	f := &fakeChain{source: true, reads: []int{3, 3}}
	var got []int64
	cp := &Checkpointing{Triggers: triggers, OnSnapshot: func(id int64, _ *Snapshot, _ SnapshotMetrics) { got = append(got, id) }}
	if err := Run(f, nil, make(chan struct{}), DefaultConfig(), new(Stats), cp, nil); err != nil {
		t.Fatal(err)
	}
	if calls := strings.Join(f.calls, ","); !strings.HasPrefix(calls, "open,checkpoint-5,read,read") || len(got) != 1 || got[0] != 5 {
		t.Fatalf("calls %s, snapshots %v", calls, got)
	}
}

// timerChain is a fakeChain with timers at the given times; FireTimers
// reports on fired each batch of timers it fires.
type timerChain struct {
	fakeChain
	pending []time.Time // ascending
	fired   chan []time.Time
	fireErr error
}

func (c *timerChain) NextTimer() (time.Time, bool) {
	if len(c.pending) == 0 {
		return time.Time{}, false
	}
	return c.pending[0], true
}

func (c *timerChain) FireTimers(now time.Time) error {
	if c.fireErr != nil {
		c.op = "timer-op"
		return c.fireErr
	}
	var due []time.Time
	for len(c.pending) > 0 && !c.pending[0].After(now) {
		due = append(due, c.pending[0])
		c.pending = c.pending[1:]
	}
	c.calls = append(c.calls, "fire")
	c.fired <- due
	return nil
}

func TestInputLoopWakesForTimersWithoutInput(t *testing.T) {
	in := network.NewInbox(1, 4)
	done := make(chan struct{})
	start := time.Now()
	at := []time.Time{start.Add(20 * time.Millisecond), start.Add(40 * time.Millisecond)}
	c := &timerChain{pending: append([]time.Time(nil), at...), fired: make(chan []time.Time, 4)}
	errc := make(chan error, 1)
	go func() {
		errc <- Run(c, in, done, Config{BufferTimeout: time.Hour}.WithDefaults(), new(Stats), nil, nil)
	}()
	// No input arrives: only the timers' deadlines can wake the loop.
	for i := range at {
		select {
		case got := <-c.fired:
			if len(got) != 1 || !got[0].Equal(at[i]) {
				t.Fatalf("firing %d fired %v, want [%v]", i, got, at[i])
			}
			if now := time.Now(); now.Before(at[i]) {
				t.Fatalf("timer for %v fired early, at %v", at[i], now)
			}
		case err := <-errc:
			t.Fatalf("Run ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("timer %d never fired", i)
		}
	}
	close(done)
	if err := <-errc; !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled", err)
	}
	// Each firing is followed by a flush before the next wait.
	if got := strings.Join(c.calls, ","); !strings.Contains(got, "fire,flush,fire,flush") {
		t.Fatalf("calls %s", got)
	}
}

func TestInputLoopFiresDueTimersBetweenBuffers(t *testing.T) {
	in := network.NewInbox(1, 8)
	send(in, 0, network.EventNone, 1)
	send(in, 0, network.EventNone, 2)
	send(in, 0, network.EventEndOfStream)
	due := time.Now().Add(-time.Second)
	c := &timerChain{pending: []time.Time{due, due.Add(time.Hour)}, fired: make(chan []time.Time, 4)}
	if err := Run(c, in, make(chan struct{}), Config{BufferTimeout: time.Hour}.WithDefaults(), new(Stats), nil, nil); err != nil {
		t.Fatal(err)
	}
	// The due timer fires after the first buffer, although input never
	// stops; the one an hour away is pending when the input ends, and is
	// dropped rather than fired.
	want := "open,process,fire,process,end-input,flush,end-outputs,close"
	if got := strings.Join(c.calls, ","); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	if got := <-c.fired; len(got) != 1 || !got[0].Equal(due) {
		t.Fatalf("fired %v", got)
	}
}

func TestSourceLoopFiresTimers(t *testing.T) {
	due := time.Now().Add(-time.Millisecond)
	c := &timerChain{fakeChain: fakeChain{source: true, reads: []int{2, 0}},
		pending: []time.Time{due, due.Add(time.Hour)}, fired: make(chan []time.Time, 4)}
	if err := Run(c, nil, make(chan struct{}), Config{BufferTimeout: time.Hour}.WithDefaults(), new(Stats), nil, nil); err != nil {
		t.Fatal(err)
	}
	want := "open,read,fire,read,flush,end-input,flush,end-outputs,close"
	if got := strings.Join(c.calls, ","); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
}

func TestTimerFailureNamesTheOperator(t *testing.T) {
	in := network.NewInbox(1, 4)
	c := &timerChain{pending: []time.Time{time.Now()}, fireErr: errors.New("timer broke"), fired: make(chan []time.Time, 1)}
	err := Run(c, in, make(chan struct{}), DefaultConfig(), new(Stats), nil, nil)
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "timer-op" || oe.Panic || !strings.Contains(err.Error(), "timer broke") {
		t.Fatalf("err = %v", err)
	}
}

func TestChainWithoutTimersIsNotAsked(t *testing.T) {
	// A Chain that does not implement Timers runs as before; the loop
	// checks for the interface once, not per buffer.
	in := network.NewInbox(1, 4)
	send(in, 0, network.EventNone, 1)
	send(in, 0, network.EventEndOfStream)
	if w := newWakeup(&fakeChain{}); w.timers != nil || w.due(time.Now()) {
		t.Fatal("a chain without timers has a wakeup")
	}
	if err := Run(&fakeChain{}, in, make(chan struct{}), DefaultConfig(), new(Stats), nil, nil); err != nil {
		t.Fatal(err)
	}
}
