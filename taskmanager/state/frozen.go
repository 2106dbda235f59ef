package state

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// ErrSnapshotReleased means a Frozen snapshot can no longer be written: it
// was released, superseded by a newer Freeze before its write began, or
// written already.
var ErrSnapshotReleased = errors.New("state: snapshot released, superseded or already written")

// Frozen is a copy-on-write snapshot of a Backend, taken by Freeze. It is
// written once, by WriteTo or Bytes, from any goroutine, while the owner of
// the backend goes on changing it; finishing the write releases it.
type Frozen struct {
	c    *Cursor
	stop atomic.Bool // set by Release: a write under way gives up

	mu    sync.Mutex
	state frozenState
	enc   encoder // nil once released, so that the pages it shares are freed
}

type frozenState uint8

const (
	frozenIdle frozenState = iota
	frozenWriting
	frozenDone
)

// encoder is the view of a backend of any key type.
type encoder interface {
	encode(buf []byte, emit func([]byte) error, stop *atomic.Bool) ([]byte, error)
}

// Freeze takes a snapshot of the backend's keys and states as they are now,
// to be written later, on another goroutine, while the owner goes on
// changing them. It costs a pointer copy per page of each state (a page is
// 128 keys), whatever the size of the values. Until the snapshot is
// released, the first write to a page (or map) it shares copies that page,
// so the snapshot keeps the old one; a released snapshot costs nothing.
//
// Call it on the owner goroutine. A snapshot is written once; WriteTo and
// Bytes release it when they finish, and Release drops one that is not to
// be written. Checkpoints are meant to take one snapshot at a time: Freeze
// releases the previous snapshot if its write has not begun (an aborted
// checkpoint), so that one left unreleased does not keep the backend
// copying. A write already under way is not disturbed and stays correct.
func (b *Backend[K]) Freeze() *Frozen {
	if b.last != nil {
		b.last.release(false)
		b.last = nil
	}
	c := &b.cursor
	if c.live.Load() == 0 {
		c.cow.Store(0) // no snapshot keeps copied pages alive
	}
	c.live.Add(1)
	c.snap = c.epoch
	c.epoch++
	f := &Frozen{c: c, enc: b.view()}
	b.last = f
	return f
}

// WriteTo writes the snapshot to w in the format of Backend.Snapshot, byte
// for byte what Snapshot would have returned when Freeze was called, in
// pieces of about a megabyte, then releases the snapshot. It implements
// io.WriterTo.
func (f *Frozen) WriteTo(w io.Writer) (int64, error) {
	enc, err := f.begin()
	if err != nil {
		return 0, err
	}
	defer f.end()
	var n int64
	_, err = enc.encode(make([]byte, 0, flushBytes+flushBytes/4), func(p []byte) error {
		m, err := w.Write(p)
		n += int64(m)
		if err == nil && m < len(p) {
			err = io.ErrShortWrite
		}
		return err
	}, &f.stop)
	return n, err
}

// Bytes returns the snapshot, byte for byte what Backend.Snapshot would have
// returned when Freeze was called, then releases it.
func (f *Frozen) Bytes() ([]byte, error) {
	enc, err := f.begin()
	if err != nil {
		return nil, err
	}
	defer f.end()
	return enc.encode(nil, nil, &f.stop)
}

// Release drops the snapshot: the backend stops copying the pages it
// shares, and a write of it under way on another goroutine stops soon with
// ErrSnapshotReleased. It is safe from any goroutine and more than once,
// and does nothing to a snapshot already written.
func (f *Frozen) Release() { f.release(true) }

func (f *Frozen) begin() (encoder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state != frozenIdle {
		return nil, ErrSnapshotReleased
	}
	f.state = frozenWriting
	return f.enc, nil
}

// end ends a write begun by begin.
func (f *Frozen) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done()
}

// release drops a snapshot whose write has not begun; a write under way
// releases it when it returns, and with stop is asked to give up.
func (f *Frozen) release(stop bool) {
	if stop {
		f.stop.Store(true)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.state == frozenIdle {
		f.done()
	}
}

func (f *Frozen) done() {
	f.state = frozenDone
	f.enc = nil
	// After this the owner may write to the pages the snapshot shared: the
	// atomic orders the writer's reads before those writes.
	f.c.live.Add(-1)
}
