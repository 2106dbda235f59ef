package task

import (
	"errors"
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
func (f *fakeChain) EndInput() error  { f.calls = append(f.calls, "end-input"); return nil }
func (f *fakeChain) Flush()           { f.calls = append(f.calls, "flush") }
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
	if err := Run(f, in, make(chan struct{}), DefaultConfig(), &stats); err != nil {
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
	go func() { errc <- Run(f, in, done, Config{BufferTimeout: time.Hour, BatchSize: 1, Credits: 1}, &stats) }()
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
	err := Run(f, in, make(chan struct{}), DefaultConfig(), new(Stats))
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
	if err := Run(f, nil, make(chan struct{}), Config{BufferTimeout: time.Hour}.WithDefaults(), &stats); err != nil {
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
