package nexmark

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/stream"
)

// Results is what a query run produced, whatever its row type: how many
// rows it emitted and, when its rows were collected, their canonical form.
type Results interface {
	// Count is the number of rows emitted.
	Count() int64
	// Canonical returns the query's result in a form that does not depend
	// on the order rows arrived in: sorted rows formatted with %+v (for
	// q4, the final row of each category). Nil unless rows were collected.
	Canonical() []string
}

// Output gathers the rows of type T of one query run: it counts them and,
// when collecting, keeps them. Counting works wherever the sink runs;
// collected rows (and the count, read from this process) are only complete
// on the embedded mini-cluster.
type Output[T any] struct {
	collect bool
	canon   func([]T) []string
	count   atomic.Int64
	mu      sync.Mutex
	rows    []T
}

// NewOutput returns an Output that collects rows when collect is set; canon
// makes the canonical result of the collected rows (nil: Canonical).
func NewOutput[T any](collect bool, canon func([]T) []string) *Output[T] {
	if canon == nil {
		canon = Canonical[T]
	}
	return &Output[T]{collect: collect, canon: canon}
}

// Count returns the number of rows emitted so far (published on every sink
// flush).
func (o *Output[T]) Count() int64 { return o.count.Load() }

// Rows returns a copy of the collected rows, in the order the sink
// subtasks handed them over: each subtask's rows in the order it received
// them.
func (o *Output[T]) Rows() []T {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.rows)
}

// Canonical returns the canonical result of the collected rows, or nil when
// the output does not collect.
func (o *Output[T]) Canonical() []string {
	if !o.collect {
		return nil
	}
	return o.canon(o.Rows())
}

// Emit returns a function that adds one row, for single-goroutine plain
// loops; call the returned done when the loop is over.
func (o *Output[T]) Emit() (emit func(T), done func()) {
	var n int64
	if o.collect {
		emit = func(v T) { n++; o.rows = append(o.rows, v) }
	} else {
		emit = func(T) { n++ }
	}
	return emit, func() { o.count.Add(n) }
}

// Sink adds a sink called name that writes s's rows to a new Output.
func Sink[T any](s *stream.DataStream[T], name string, collect bool, canon func([]T) []string) *Output[T] {
	return sinkTo(s, name, collect, canon, "")
}

// sinkTo is Sink that also writes the rows to dir/part-N when dir is set.
func sinkTo[T any](s *stream.DataStream[T], name string, collect bool, canon func([]T) []string, dir string) *Output[T] {
	o := NewOutput(collect, canon)
	stream.AddSink(s, name, func(subtask, _ int) (stream.SinkWriter[T], error) {
		w := &outputWriter[T]{to: o}
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%d", subtask+1)))
			if err != nil {
				return nil, err
			}
			w.file, w.buf = f, bufio.NewWriter(f)
		}
		return w, nil
	})
	return o
}

// outputWriter counts (and collects) per subtask and publishes on flush.
type outputWriter[T any] struct {
	to    *Output[T]
	n     int64
	local []T
	file  *os.File // with OutputDir
	buf   *bufio.Writer
}

func (w *outputWriter[T]) Write(v T) error {
	w.n++
	if w.buf != nil {
		fmt.Fprintf(w.buf, "%+v\n", v)
	}
	if w.to.collect {
		w.local = append(w.local, v)
	}
	return nil
}

func (w *outputWriter[T]) Flush() error {
	if w.buf != nil {
		if err := w.buf.Flush(); err != nil {
			return err
		}
	}
	if w.n > 0 {
		w.to.count.Add(w.n)
		w.n = 0
	}
	if len(w.local) > 0 {
		w.to.mu.Lock()
		w.to.rows = append(w.to.rows, w.local...)
		w.to.mu.Unlock()
		clear(w.local)
		w.local = w.local[:0]
	}
	return nil
}

func (w *outputWriter[T]) Close() error {
	if w.file == nil {
		return nil
	}
	err := w.buf.Flush()
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// Canonical formats every row with %+v and sorts the strings: a canonical
// form of a multiset of rows.
func Canonical[T any](rows []T) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%+v", r)
	}
	slices.Sort(out)
	return out
}

// FinalQ4 returns the last row of each category in q4's stream of updates
// (which, per category, come from one subtask, in order), sorted by
// category.
func FinalQ4(updates []Q4Row) []Q4Row {
	last := map[int64]Q4Row{}
	for _, u := range updates {
		last[u.Category] = u
	}
	out := make([]Q4Row, 0, len(last))
	for _, r := range last {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Q4Row) int { return cmpInt(a.Category, b.Category) })
	return out
}

func canonicalQ4(updates []Q4Row) []string { return Canonical(FinalQ4(updates)) }
