package stream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/sluicehq/sluice/taskmanager/task"
)

// Source is a user-defined source: it opens one Reader per parallel subtask.
type Source[T any] interface {
	// Bounded reports whether the source ends.
	Bounded() bool
	// Open returns the reader of subtask `subtask` out of `parallelism`.
	Open(subtask, parallelism int) (Reader[T], error)
}

// Reader reads the records of one source subtask.
type Reader[T any] interface {
	// Read emits the next records to out (a few hundred at most, so that
	// the task stays responsive) and returns how many. It returns 0 when
	// nothing is ready yet, and io.EOF when a bounded source is exhausted.
	// It may block briefly, not indefinitely.
	Read(out Collector[T]) (int, error)
	// Close releases the reader's resources.
	Close() error
}

// CheckpointedReader is a Reader whose position can be checkpointed, so
// that after a failure the source resumes where its last checkpoint was
// instead of from the beginning. Position is called between two Reads.
type CheckpointedReader[T any] interface {
	Reader[T]
	Position() ([]byte, error)
	Seek(position []byte) error
}

// BatchReader is a Reader that can append its next records to a batch
// itself, which saves the Collector's call per record: the source calls
// ReadBatch instead of Read. ReadBatch appends at most a few hundred
// records to buf and returns it, like Read returns their count: none when
// nothing is ready yet, and io.EOF (with the last records, or none) when a
// bounded source is exhausted. The records in buf are the source's to
// reuse after the call returns.
type BatchReader[T any] interface {
	Reader[T]
	ReadBatch(buf []T) ([]T, error)
}

// readBatch is how many records the built-in readers emit per Read.
const readBatch = 256

// FromSource adds a user-defined source.
func FromSource[T any](env *Environment, name string, src Source[T]) *DataStream[T] {
	n := newNode[T](env, "source", name, nil)
	n.bounded = src.Bounded()
	n.build = func(c *opContext, out any) (any, error) {
		r, err := src.Open(c.subtask, c.parallelism)
		if err != nil {
			return nil, err
		}
		op := &sourceOp[T]{ts: c.chain, idx: c.idx, r: r, out: out.(input[T]), em: newEmitter[T](c, out)}
		if br, ok := r.(BatchReader[T]); ok {
			op.fill = br.ReadBatch
		}
		return op, nil
	}
	return streamOf[T](n)
}

type sourceOp[T any] struct {
	ts   *chainState
	idx  int
	r    Reader[T]
	fill func([]T) ([]T, error) // r's ReadBatch, if it has one
	buf  []T
	out  input[T]
	em   *emitter[T]
}

func (s *sourceOp[T]) read() (int, error) {
	s.ts.cur = s.idx
	if s.fill != nil {
		buf, err := s.fill(s.buf[:0])
		s.buf = buf
		if len(buf) > 0 {
			s.out.push(buf)
		}
		return len(buf), err
	}
	n, err := s.r.Read(s.em)
	s.em.emit()
	return n, err
}

func (s *sourceOp[T]) close() error { return s.r.Close() }

func (s *sourceOp[T]) snapshot() ([]byte, task.FrozenState, error) {
	if cr, ok := s.r.(CheckpointedReader[T]); ok {
		pos, err := cr.Position()
		return pos, nil, err
	}
	return nil, nil, nil
}

func (s *sourceOp[T]) restore(snaps [][]byte) error {
	cr, ok := s.r.(CheckpointedReader[T])
	if !ok || len(snaps) == 0 || snaps[0] == nil {
		return nil
	}
	if len(snaps) != 1 {
		return fmt.Errorf("a source subtask restores one position, got %d; a source's parallelism cannot change on restore", len(snaps))
	}
	return cr.Seek(snaps[0])
}

// indexed is a source of count records made by gen(i); count < 0 means
// unbounded. Bounded sources split [0, count) into contiguous ranges, one per
// subtask; unbounded ones interleave (subtask, subtask+p, ...). perSecond, if
// positive, caps the rate of the whole source.
type indexed[T any] struct {
	count     int64
	gen       func(int64) T
	perSecond float64
}

func (s indexed[T]) Bounded() bool { return s.count >= 0 }

func (s indexed[T]) Open(subtask, parallelism int) (Reader[T], error) {
	r := &indexReader[T]{gen: s.gen, step: 1, rate: s.perSecond / float64(parallelism)}
	if s.count >= 0 {
		p := int64(parallelism)
		r.next = int64(subtask) * s.count / p
		r.end = int64(subtask+1) * s.count / p
	} else {
		r.next, r.step, r.end = int64(subtask), int64(parallelism), -1
	}
	return r, nil
}

type indexReader[T any] struct {
	gen       func(int64) T
	next, end int64 // end < 0: unbounded
	step      int64
	rate      float64 // records per second of this subtask; 0: unlimited
	start     time.Time
	emitted   int64
}

func (r *indexReader[T]) Read(out Collector[T]) (int, error) {
	buf, err := r.ReadBatch(nil)
	for _, v := range buf {
		out.Collect(v)
	}
	return len(buf), err
}

func (r *indexReader[T]) ReadBatch(buf []T) ([]T, error) {
	n := int64(readBatch)
	if r.end >= 0 {
		if r.next >= r.end {
			return buf, io.EOF
		}
		n = min(n, r.end-r.next)
	}
	if r.rate > 0 {
		if r.start.IsZero() {
			r.start = time.Now()
		}
		due := int64(time.Since(r.start).Seconds()*r.rate) + 1 - r.emitted
		if due <= 0 {
			next := r.start.Add(time.Duration(float64(r.emitted) / r.rate * float64(time.Second)))
			time.Sleep(min(time.Until(next), 50*time.Millisecond))
			return buf, nil
		}
		n = min(n, due)
	}
	gen, next, step := r.gen, r.next, r.step
	k := len(buf)
	buf = slices.Grow(buf, int(n))[:k+int(n)]
	out := buf[k:]
	for i := range out {
		out[i] = gen(next)
		next += step
	}
	r.next = next
	r.emitted += n
	return buf, nil
}

func (r *indexReader[T]) Close() error { return nil }

// Position is the next index and the count emitted (for the rate).
func (r *indexReader[T]) Position() ([]byte, error) {
	return binary.AppendVarint(binary.AppendVarint(nil, r.next), r.emitted), nil
}

func (r *indexReader[T]) Seek(p []byte) error {
	next, n := binary.Varint(p)
	emitted, m := binary.Varint(p[max(n, 0):])
	if n <= 0 || m <= 0 || n+m != len(p) {
		return fmt.Errorf("source position %x is not one this source wrote", p)
	}
	r.next, r.emitted = next, emitted
	if r.rate > 0 {
		r.start = time.Now().Add(-time.Duration(float64(emitted) / r.rate * float64(time.Second)))
	}
	return nil
}

// FromSlice adds a bounded source of the given records, split over its
// subtasks in contiguous ranges.
func FromSlice[T any](env *Environment, items []T) *DataStream[T] {
	items = append([]T(nil), items...)
	return FromSource(env, "Slice", indexed[T]{count: int64(len(items)), gen: func(i int64) T { return items[i] }})
}

// FromGenerator adds a parallel source of count records, record i being
// fn(i); a negative count makes it unbounded. fn must be safe to call from
// several goroutines.
func FromGenerator[T any](env *Environment, count int64, fn func(i int64) T) *DataStream[T] {
	return FromSource(env, "Generator", indexed[T]{count: count, gen: fn})
}

// FromGeneratorAtRate is FromGenerator paced at perSecond records per
// second over all subtasks.
func FromGeneratorAtRate[T any](env *Environment, count int64, perSecond float64, fn func(i int64) T) *DataStream[T] {
	return FromSource(env, "Generator", indexed[T]{count: count, gen: fn, perSecond: perSecond})
}

// FromSequence adds a bounded source of the numbers from, from+1, ..., to.
func FromSequence(env *Environment, from, to int64) *DataStream[int64] {
	count := max(to-from+1, 0)
	return FromSource(env, "Sequence", indexed[int64]{count: count, gen: func(i int64) int64 { return from + i }})
}

// UnboundedSequence adds an unbounded source of the numbers from, from+1, ...,
// at perSecond records per second over all subtasks (0: as fast as possible).
func UnboundedSequence(env *Environment, from int64, perSecond float64) *DataStream[int64] {
	return FromSource(env, "Sequence", indexed[int64]{count: -1, perSecond: perSecond, gen: func(i int64) int64 { return from + i }})
}

// FromTextFile adds a bounded source of the lines of a text file, without
// their line endings. Subtasks read disjoint byte ranges of the file, each
// line belonging to the range it starts in.
func FromTextFile(env *Environment, path string) *DataStream[string] {
	return FromSource(env, "TextFile", textFile(path))
}

type textFile string

func (textFile) Bounded() bool { return true }

func (f textFile) Open(subtask, parallelism int) (Reader[string], error) {
	file, err := os.Open(string(f))
	if err != nil {
		return nil, fmt.Errorf("text file source: %w", err)
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("text file source: %w", err)
	}
	size, p := info.Size(), int64(parallelism)
	start, end := int64(subtask)*size/p, int64(subtask+1)*size/p
	r := &lineReader{f: file, pos: start, end: end}
	if start > 0 {
		// Skip the line in progress at start: it belongs to the previous
		// range. Reading from start-1 through the next newline also
		// handles a range that begins exactly at a line.
		if _, err := file.Seek(start-1, io.SeekStart); err != nil {
			file.Close()
			return nil, fmt.Errorf("text file source: %w", err)
		}
	}
	r.br = bufio.NewReaderSize(file, 64<<10)
	if start > 0 {
		skipped, err := r.br.ReadString('\n')
		r.pos = start - 1 + int64(len(skipped))
		if err != nil {
			r.pos = end // no line starts in this range
		}
	}
	return r, nil
}

type lineReader struct {
	f        *os.File
	br       *bufio.Reader
	pos, end int64 // offset of the next line; lines starting before end are ours
}

func (r *lineReader) Read(out Collector[string]) (int, error) {
	n := 0
	for n < readBatch {
		if r.pos >= r.end {
			return n, eofIf(n)
		}
		line, err := r.br.ReadString('\n')
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				r.pos = r.end
				return n, eofIf(n)
			}
			return n, err
		}
		r.pos += int64(len(line))
		line = trimEOL(line)
		out.Collect(line)
		n++
	}
	return n, nil
}

func eofIf(n int) error {
	if n == 0 {
		return io.EOF
	}
	return nil
}

func trimEOL(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
		if len(s) > 0 && s[len(s)-1] == '\r' {
			s = s[:len(s)-1]
		}
	}
	return s
}

func (r *lineReader) Close() error { return r.f.Close() }

// Position is the byte offset of the next line.
func (r *lineReader) Position() ([]byte, error) { return binary.AppendVarint(nil, r.pos), nil }

func (r *lineReader) Seek(p []byte) error {
	pos, n := binary.Varint(p)
	if n <= 0 || n != len(p) || pos < 0 {
		return fmt.Errorf("source position %x is not one this source wrote", p)
	}
	if _, err := r.f.Seek(pos, io.SeekStart); err != nil {
		return fmt.Errorf("text file source: %w", err)
	}
	r.br.Reset(r.f)
	r.pos = pos
	return nil
}
