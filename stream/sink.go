package stream

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// sinkNode adds a sink reading T records.
func sinkNode[T any](s *DataStream[T], kind, name string, build func(c *opContext) (any, error)) *Sink {
	n := newNode[struct{}](s.env, kind, name, s.edges())
	consumes[T](n)
	n.build = func(c *opContext, _ any) (any, error) { return build(c) }
	return &Sink{n: n}
}

// Print writes every record to the environment's output (standard output by
// default), one per line, formatted with fmt's %v. With parallelism above 1
// each line starts with the subtask number, as in "2> record".
func Print[T any](s *DataStream[T]) *Sink {
	return sinkNode(s, "sink", "Print", func(c *opContext) (any, error) {
		p := &printSink[T]{w: c.env.stdoutLocked()}
		if c.parallelism > 1 {
			p.prefix = fmt.Sprintf("%d> ", c.subtask+1)
		}
		return p, nil
	})
}

type printSink[T any] struct {
	w      *lockedWriter
	prefix string
	buf    []byte
}

func (p *printSink[T]) push(recs []T) {
	for _, v := range recs {
		p.buf = append(p.buf, p.prefix...)
		p.buf = fmt.Append(p.buf, v)
		p.buf = append(p.buf, '\n')
	}
	if len(p.buf) >= 32<<10 {
		p.flush()
	}
}

func (p *printSink[T]) flush() {
	if len(p.buf) > 0 {
		p.w.write(p.buf)
		p.buf = p.buf[:0]
	}
}

// lockedWriter serializes whole-line writes of parallel print sinks.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(b); err != nil {
		fail(fmt.Errorf("print sink: %w", err))
	}
}

func (e *Environment) stdoutLocked() *lockedWriter {
	e.outOnce.Do(func() { e.out = &lockedWriter{w: e.stdout} })
	return e.out
}

// WriteText writes every record as a line of text (fmt's %v). With
// parallelism 1 it writes the file path; otherwise path is a directory that
// gets one file per subtask, part-1, part-2, ...
func WriteText[T any](s *DataStream[T], path string) *Sink {
	return sinkNode(s, "sink", "WriteText", func(c *opContext) (any, error) {
		file := path
		if c.parallelism > 1 {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return nil, fmt.Errorf("text sink: %w", err)
			}
			file = filepath.Join(path, fmt.Sprintf("part-%d", c.subtask+1))
		}
		f, err := os.Create(file)
		if err != nil {
			return nil, fmt.Errorf("text sink: %w", err)
		}
		return &textSink[T]{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
	})
}

type textSink[T any] struct {
	f   *os.File
	w   *bufio.Writer
	buf []byte
}

func (t *textSink[T]) push(recs []T) {
	for _, v := range recs {
		t.buf = fmt.Append(t.buf[:0], v)
		t.buf = append(t.buf, '\n')
		if _, err := t.w.Write(t.buf); err != nil {
			fail(fmt.Errorf("text sink %s: %w", t.f.Name(), err))
		}
	}
}

func (t *textSink[T]) finish() error { return t.w.Flush() }

func (t *textSink[T]) close() error { return t.f.Close() }

// Collected gathers the records of a stream in memory, for tests and small
// results. It works in the embedded mini-cluster only.
type Collected[T any] struct {
	*Sink
	mu   sync.Mutex
	recs []T
}

// Collect adds a sink that gathers every record of s; read them with Results.
func Collect[T any](s *DataStream[T]) *Collected[T] {
	c := &Collected[T]{}
	c.Sink = sinkNode(s, "sink", "Collect", func(*opContext) (any, error) {
		return &collectSink[T]{to: c}, nil
	})
	return c
}

// Results returns a copy of the records gathered so far. Subtasks hand over
// their records whenever their task flushes, so a running job's results lag
// by at most the buffer timeout.
func (c *Collected[T]) Results() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.recs...)
}

// Len returns the number of records gathered so far.
func (c *Collected[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

type collectSink[T any] struct {
	to    *Collected[T]
	local []T
}

func (s *collectSink[T]) push(recs []T) { s.local = append(s.local, recs...) }

func (s *collectSink[T]) flush() {
	if len(s.local) == 0 {
		return
	}
	s.to.mu.Lock()
	s.to.recs = append(s.to.recs, s.local...)
	s.to.mu.Unlock()
	s.local = s.local[:0]
}

// SinkWriter writes the records of one sink subtask somewhere.
type SinkWriter[T any] interface {
	// Write takes one record.
	Write(T) error
	// Flush is called when the task flushes its outputs (at most every
	// buffer timeout while busy, whenever it waits for input, and at the
	// end of a bounded input).
	Flush() error
	// Close is called once when the subtask stops, also after a failure.
	Close() error
}

// BatchWriter is a SinkWriter that takes records a batch at a time: the
// sink calls WriteBatch, not Write, with each batch the task hands it (up
// to a frame's or a batch's worth of records). recs is valid only during
// the call: copy what you keep. For sinks that write in bulk, and to save
// a call per record.
type BatchWriter[T any] interface {
	SinkWriter[T]
	WriteBatch(recs []T) error
}

// Finisher is a SinkWriter that wants to know when a bounded input has
// ended: Finish is called once, after the last Write and before the last
// Flush. It is not called when the job is cancelled or fails.
type Finisher interface {
	Finish() error
}

// AddSink adds a user-defined sink; newWriter is called once per subtask.
func AddSink[T any](s *DataStream[T], name string, newWriter func(subtask, parallelism int) (SinkWriter[T], error)) *Sink {
	return sinkNode(s, "sink", name, func(c *opContext) (any, error) {
		w, err := newWriter(c.subtask, c.parallelism)
		if err != nil {
			return nil, err
		}
		bw, _ := w.(BatchWriter[T])
		return &userSink[T]{w: w, batch: bw}, nil
	})
}

type userSink[T any] struct {
	w     SinkWriter[T]
	batch BatchWriter[T] // w, if it takes batches
}

func (u *userSink[T]) push(recs []T) {
	if u.batch != nil {
		if err := u.batch.WriteBatch(recs); err != nil {
			fail(err)
		}
		return
	}
	for _, v := range recs {
		if err := u.w.Write(v); err != nil {
			fail(err)
		}
	}
}

func (u *userSink[T]) flush() {
	if err := u.w.Flush(); err != nil {
		fail(err)
	}
}

func (u *userSink[T]) finish() error {
	if f, ok := u.w.(Finisher); ok {
		return f.Finish()
	}
	return nil
}

func (u *userSink[T]) close() error { return u.w.Close() }
