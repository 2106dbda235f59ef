package network

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog.Handler that keeps records in memory. Tests must
// not log through t after they end, and yamux may log from its own
// goroutines, so records are printed only when a test fails.
type logRecorder struct {
	mu      sync.Mutex
	records []string
	attrs   []slog.Attr
	parent  *logRecorder
}

func (r *logRecorder) root() *logRecorder {
	for r.parent != nil {
		r = r.parent
	}
	return r
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
	for _, a := range r.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	root := r.root()
	root.mu.Lock()
	root.records = append(root.records, b.String())
	root.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{attrs: append(append([]slog.Attr(nil), r.attrs...), as...), parent: r.root()}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// find returns the records containing every one of parts.
func (r *logRecorder) find(parts ...string) []string {
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []string
next:
	for _, rec := range root.records {
		for _, p := range parts {
			if !strings.Contains(rec, p) {
				continue next
			}
		}
		out = append(out, rec)
	}
	return out
}

func (r *logRecorder) dump(t testing.TB) {
	root := r.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	for _, rec := range root.records {
		t.Log(rec)
	}
}

// plane is a running DataPlane for tests.
type plane struct {
	*DataPlane
	x      *Exchange
	logs   *logRecorder
	cancel context.CancelFunc
	ran    chan error
}

// startPlane starts a DataPlane with id on 127.0.0.1:0; cleanup stops it.
func startPlane(t testing.TB, id string, tweak ...func(*DataPlaneConfig)) *plane {
	t.Helper()
	logs := &logRecorder{}
	cfg := DataPlaneConfig{ID: id, Exchange: NewExchange(), Logger: slog.New(logs)}
	for _, f := range tweak {
		f(&cfg)
	}
	d, err := NewDataPlane(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return runPlane(t, d, logs)
}

// runPlane runs d until the test ends (or stop is called).
func runPlane(t testing.TB, d *DataPlane, logs *logRecorder) *plane {
	ctx, cancel := context.WithCancel(context.Background())
	p := &plane{DataPlane: d, x: d.cfg.Exchange, logs: logs, cancel: cancel, ran: make(chan error, 1)}
	go func() { p.ran <- d.Run(ctx) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("logs of %s:", d.cfg.ID)
			logs.dump(t)
		}
	})
	return p
}

// stop cancels Run, waits for it and closes the DataPlane; it may be called
// more than once.
func (p *plane) stop(t testing.TB) {
	t.Helper()
	p.cancel()
	if err, ok := <-p.ran; ok {
		close(p.ran)
		if err != nil {
			t.Errorf("Run of %s: %v", p.cfg.ID, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close of %s: %v", p.cfg.ID, err)
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func header(job string, subtask, channels, channel, credits int) StreamHeader {
	return StreamHeader{Inbox: InboxID{Job: job, Task: "sink", Subtask: subtask}, Channels: channels, Channel: channel, Credits: credits}
}

// testPayload is the deterministic payload of frame seq on channel ch:
// a 12-byte tag and a filler pattern.
func testPayload(tag, ch, seq, size int) []byte {
	b := make([]byte, max(size, 12))
	binary.LittleEndian.PutUint32(b[0:], uint32(tag))
	binary.LittleEndian.PutUint32(b[4:], uint32(ch))
	binary.LittleEndian.PutUint32(b[8:], uint32(seq))
	for i := 12; i < len(b); i++ {
		b[i] = byte(seq*7 + i)
	}
	return b
}

// testSize varies frame sizes from 12 bytes to about 40 KiB.
func testSize(seq int) int { return 12 + (seq*7919)%(40<<10) }

// sendFrames sends n frames of testPayload and then closes the channel.
func sendFrames(rc *RemoteChannel, tag, ch, n int) error {
	for seq := range n {
		if err := rc.Send(EventNone, testPayload(tag, ch, seq, testSize(seq))); err != nil {
			return fmt.Errorf("channel %d frame %d: %w", ch, seq, err)
		}
	}
	return rc.Close()
}

// checkFrames reads an inbox until every one of its channels has ended,
// recycling promptly, and checks that channel ch got n frames of
// testPayload(tag, ch, ...) in order.
func checkFrames(in *Inbox, tag, n int) error {
	next := make([]int, in.Channels())
	ended := 0
	timeout := time.After(20 * time.Second)
	for ended < in.Channels() {
		var b Buffer
		select {
		case b = <-in.Queue():
		case <-timeout:
			return fmt.Errorf("timed out: %d of %d channels ended, next frames %v", ended, in.Channels(), next)
		}
		f, ok := b.Batch.(*Frame)
		if !ok {
			return fmt.Errorf("channel %d: batch %T, want *Frame", b.Channel, b.Batch)
		}
		switch b.Event {
		case EventEndOfStream:
			if next[b.Channel] != n {
				return fmt.Errorf("channel %d ended after %d frames, want %d", b.Channel, next[b.Channel], n)
			}
			ended++
		case EventNone:
			want := testPayload(tag, b.Channel, next[b.Channel], testSize(next[b.Channel]))
			if !bytes.Equal(f.Data, want) {
				return fmt.Errorf("channel %d frame %d: got %d bytes starting %x, want %d bytes starting %x",
					b.Channel, next[b.Channel], len(f.Data), f.Data[:min(12, len(f.Data))], len(want), want[:12])
			}
			next[b.Channel]++
		}
		in.Recycle(b)
	}
	return nil
}
