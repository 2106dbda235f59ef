package stream

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

// writerSpec is what a network output of an operator is built from.
type writerSpec struct {
	part      jobgraph.Partitioning
	channels  []task.Output // indexed by consumer subtask
	route     any           // func(T) int for hash edges
	subtask   int           // producer subtask, to stagger round-robin
	batchSize int
	done      <-chan struct{}
	sent      *atomic.Int64
	register  func(outputWriter)
}

// outputWriter is the part of a network output that the chain drives.
type outputWriter interface {
	flush()
	end()
	// barrier sends the barrier of checkpoint id after what was flushed.
	barrier(id int64)
	// watermark sends watermark wm after the records added before it.
	watermark(wm int64)
	// status sends the watermark status (idle or active again) after the
	// records added before it.
	status(idle bool)
}

// sender is the producer end of one channel as the partitioners use it.
type sender[T any] interface {
	add(v T)
	addAll(recs []T)
	outputWriter
}

// chanWriter batches records for one in-process channel.
type chanWriter[T any] struct {
	ch   *network.Channel
	box  *[]T // the batch being filled, nil when none is held
	buf  []T
	size int
	done <-chan struct{}
	sent *atomic.Int64
}

func (w *chanWriter[T]) add(v T) {
	if w.box == nil {
		w.acquire()
	}
	w.buf = append(w.buf, v)
	if len(w.buf) >= w.size {
		w.send(network.EventNone)
	}
}

func (w *chanWriter[T]) acquire() {
	b, err := w.ch.Acquire(w.done)
	if err != nil {
		fail(err)
	}
	if b == nil {
		s := make([]T, 0, w.size)
		w.box = &s
	} else {
		w.box = b.(*[]T)
	}
	w.buf = (*w.box)[:0]
}

func (w *chanWriter[T]) send(ev network.Event) {
	*w.box = w.buf
	w.ch.Send(ev, w.box)
	w.sent.Add(int64(len(w.buf)))
	w.box, w.buf = nil, nil
}

// addAll appends a run of records, sending each batch as it fills.
func (w *chanWriter[T]) addAll(recs []T) {
	for len(recs) > 0 {
		if w.box == nil {
			w.acquire()
		}
		n := min(len(recs), w.size-len(w.buf))
		w.buf = append(w.buf, recs[:n]...)
		recs = recs[n:]
		if len(w.buf) >= w.size {
			w.send(network.EventNone)
		}
	}
}

func (w *chanWriter[T]) flush() {
	if w.box != nil && len(w.buf) > 0 {
		w.send(network.EventNone)
	}
}

func (w *chanWriter[T]) barrier(id int64) { w.event(network.EventBarrier, id) }

func (w *chanWriter[T]) watermark(wm int64) { w.event(network.EventWatermark, wm) }

func (w *chanWriter[T]) status(idle bool) {
	if idle {
		w.event(network.EventIdle, 0)
	} else {
		w.event(network.EventActive, 0)
	}
}

// event sends an event after the records added so far; it takes a credit
// like a batch.
func (w *chanWriter[T]) event(ev network.Event, value int64) {
	w.flush()
	if w.box == nil {
		w.acquire()
	}
	w.buf = w.buf[:0]
	*w.box = w.buf
	switch ev {
	case network.EventBarrier:
		w.ch.SendBarrier(value, w.box)
	case network.EventWatermark:
		w.ch.SendWatermark(value, w.box)
	default:
		w.ch.Send(ev, w.box)
	}
	w.box, w.buf = nil, nil
}

func (w *chanWriter[T]) end() {
	w.flush()
	if w.box == nil {
		w.acquire()
	}
	w.buf = w.buf[:0]
	w.send(network.EventEndOfStream)
}

// Frames of serialized records are sent when they hold about a
// millisecond of the channel's records, between minFrame and maxFrame
// bytes (or earlier, when the buffer timeout or an event flushes them). A
// channel that fills frames faster than frameFill gets larger ones, so
// that a busy channel costs few syscalls per byte (a 256 KiB write costs
// the kernel much less per byte than eight of 32 KiB), while a slow one
// keeps small frames: its records wait at most about frameFill for a
// frame to fill, and its consumer's buffers stay small.
const (
	minFrame  = 32 << 10
	maxFrame  = 256 << 10
	frameFill = time.Millisecond
)

// frameWriter serializes records into frames for a remote channel. Its
// buf starts with network.FrameHeaderLen bytes of room for the frame's
// header, so that a full frame goes to the channel without another copy.
type frameWriter[T any] struct {
	rc    *network.RemoteChannel
	c     codec.Codec[T]
	raw   int // size of a T whose encoding is its memory image, else 0
	buf   []byte
	n     int // records in buf
	limit int // payload size at which a frame is sent: minFrame to maxFrame
	last  time.Time
	sent  *atomic.Int64
}

func newFrameWriter[T any](rc *network.RemoteChannel, sent *atomic.Int64) *frameWriter[T] {
	c, err := codec.For[T]()
	if err != nil {
		fail(err) // Plan checked every exchanged type
	}
	raw, _ := codec.RawSize[T]()
	buf := make([]byte, network.FrameHeaderLen, network.FrameHeaderLen+minFrame+minFrame/4)
	return &frameWriter[T]{rc: rc, c: c, raw: raw, buf: buf, limit: minFrame, sent: sent}
}

// size is the payload in buf.
func (w *frameWriter[T]) size() int { return len(w.buf) - network.FrameHeaderLen }

func (w *frameWriter[T]) add(v T) {
	w.buf = w.c.Append(w.buf, v)
	w.n++
	if w.size() >= w.limit {
		w.send(true)
	}
}

func (w *frameWriter[T]) addAll(recs []T) {
	if w.raw > 0 {
		w.addRaw(recs)
		return
	}
	for i := range recs {
		w.add(recs[i])
	}
}

// addRaw copies records whose encoding is their memory image in bulk.
func (w *frameWriter[T]) addRaw(recs []T) {
	for len(recs) > 0 {
		k := min(len(recs), max((w.limit-w.size())/w.raw, 1))
		w.buf = append(w.buf, unsafe.Slice((*byte)(unsafe.Pointer(&recs[0])), k*w.raw)...)
		w.n += k
		recs = recs[k:]
		if w.size() >= w.limit {
			w.send(true)
		}
	}
}

// send sends the frame in buf; full says it reached the limit, rather
// than being flushed early. It sizes the next frame by how fast this one
// filled.
func (w *frameWriter[T]) send(full bool) {
	if w.size() > network.MaxFramePayload {
		fail(fmt.Errorf("a record of %d bytes does not fit the data plane's %d-byte frames", w.size(), network.MaxFramePayload))
	}
	if err := w.rc.SendFrame(network.EventNone, w.buf); err != nil {
		fail(err)
	}
	w.sent.Add(int64(w.n))
	w.buf, w.n = w.buf[:network.FrameHeaderLen], 0
	now := time.Now()
	w.limit = nextFrameLimit(w.limit, full, now.Sub(w.last))
	w.last = now
}

// nextFrameLimit sizes the next frame of a channel whose last frame, of
// limit bytes, filled (full) or was flushed early in took: a frame that
// filled in under frameFill doubles the next, one that was flushed early
// or took over twice that halves it, within minFrame and maxFrame.
func nextFrameLimit(limit int, full bool, took time.Duration) int {
	switch {
	case full && took < frameFill:
		return min(2*limit, maxFrame)
	case !full || took > 2*frameFill:
		return max(limit/2, minFrame)
	}
	return limit
}

func (w *frameWriter[T]) flush() {
	if w.n > 0 {
		w.send(false)
	}
}

func (w *frameWriter[T]) barrier(id int64) {
	w.flush()
	if err := w.rc.SendBarrier(id); err != nil {
		fail(err)
	}
}

func (w *frameWriter[T]) watermark(wm int64) {
	w.flush()
	if err := w.rc.SendWatermark(wm); err != nil {
		fail(err)
	}
}

func (w *frameWriter[T]) status(idle bool) {
	w.flush()
	ev := network.EventActive
	if idle {
		ev = network.EventIdle
	}
	if err := w.rc.Send(ev, nil); err != nil {
		fail(err)
	}
}

func (w *frameWriter[T]) end() {
	w.flush()
	if err := w.rc.Send(network.EventEndOfStream, nil); err != nil {
		fail(err)
	}
}

// newPartitionWriter returns an input[T] that partitions records over the
// channels of one output edge.
func newPartitionWriter[T any](s writerSpec) any {
	ws := make([]sender[T], len(s.channels))
	for i, ch := range s.channels {
		if ch.Remote != nil {
			ws[i] = newFrameWriter[T](ch.Remote, s.sent)
		} else {
			ws[i] = &chanWriter[T]{ch: ch.Local, size: s.batchSize, done: s.done, sent: s.sent}
		}
		s.register(ws[i])
	}
	switch s.part {
	case jobgraph.Forward:
		return forwardWriter[T]{ws[0]}
	case jobgraph.Rebalance:
		return &rebalanceWriter[T]{ws: ws, next: s.subtask % len(ws)}
	case jobgraph.Hash:
		return hashWriter[T]{ws: ws, route: s.route.(func(T) int)}
	case jobgraph.Broadcast:
		return broadcastWriter[T](ws)
	}
	panic(fmt.Sprintf("stream: unknown partitioning %q", s.part))
}

type forwardWriter[T any] struct{ w sender[T] }

func (f forwardWriter[T]) push(recs []T) { f.w.addAll(recs) }

type rebalanceWriter[T any] struct {
	ws   []sender[T]
	next int
}

func (r *rebalanceWriter[T]) push(recs []T) {
	next := r.next
	for _, v := range recs {
		r.ws[next].add(v)
		next++
		if next == len(r.ws) {
			next = 0
		}
	}
	r.next = next
}

type hashWriter[T any] struct {
	ws    []sender[T]
	route func(T) int
}

func (h hashWriter[T]) push(recs []T) {
	for _, v := range recs {
		h.ws[h.route(v)].add(v)
	}
}

type broadcastWriter[T any] []sender[T]

func (b broadcastWriter[T]) push(recs []T) {
	for _, w := range b {
		w.addAll(recs)
	}
}
