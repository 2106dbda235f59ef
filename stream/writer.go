package stream

import (
	"fmt"
	"sync/atomic"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/taskmanager/network"
)

// writerSpec is what a network output of an operator is built from.
type writerSpec struct {
	part      jobgraph.Partitioning
	channels  []*network.Channel // indexed by consumer subtask
	route     any                // func(T) int for hash edges
	subtask   int                // producer subtask, to stagger round-robin
	batchSize int
	done      <-chan struct{}
	sent      *atomic.Int64
	register  func(outputWriter)
}

// outputWriter is the part of a network output that the chain drives.
type outputWriter interface {
	flush()
	end()
}

// chanWriter batches records for one channel.
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

func (w *chanWriter[T]) end() {
	w.flush()
	if w.box == nil {
		w.acquire()
	}
	w.buf = w.buf[:0]
	w.send(network.EventEndOfStream)
}

// newPartitionWriter returns an input[T] that partitions records over the
// channels of one output edge.
func newPartitionWriter[T any](s writerSpec) any {
	ws := make([]*chanWriter[T], len(s.channels))
	for i, ch := range s.channels {
		ws[i] = &chanWriter[T]{ch: ch, size: s.batchSize, done: s.done, sent: s.sent}
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

type forwardWriter[T any] struct{ w *chanWriter[T] }

func (f forwardWriter[T]) push(recs []T) { f.w.addAll(recs) }

type rebalanceWriter[T any] struct {
	ws   []*chanWriter[T]
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
	ws    []*chanWriter[T]
	route func(T) int
}

func (h hashWriter[T]) push(recs []T) {
	for _, v := range recs {
		h.ws[h.route(v)].add(v)
	}
}

type broadcastWriter[T any] []*chanWriter[T]

func (b broadcastWriter[T]) push(recs []T) {
	for _, w := range b {
		w.addAll(recs)
	}
}
