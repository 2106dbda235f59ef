package nexmark

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// readBatch is how many events a source subtask emits per Read.
const readBatch = 256

// Source adds the Nexmark event source to env: parallel (the environment's
// parallelism unless set on the returned stream), bounded by cfg.Events
// (unbounded when 0 or negative), capped at cfg.Rate events per second over
// all subtasks when that is positive. Subtask i of P emits events i, i+P,
// i+2P, ..., so all subtasks together emit exactly Events(cfg), whatever
// the parallelism, and event times advance alike in every subtask. Its
// position (the next event number) is checkpointed.
func Source(env *stream.Environment, cfg Config) *stream.DataStream[Event] {
	return stream.FromSource[Event](env, "Nexmark", source{cfg: cfg})
}

type source struct{ cfg Config }

func (s source) Bounded() bool { return s.cfg.Events > 0 }

func (s source) Open(subtask, parallelism int) (stream.Reader[Event], error) {
	return newReader(s.cfg, subtask, parallelism), nil
}

func newReader(cfg Config, subtask, parallelism int) *reader {
	r := &reader{g: NewGenerator(cfg), next: int64(subtask), step: int64(parallelism), end: -1}
	if cfg.Events > 0 {
		r.end = cfg.Events
	}
	if cfg.Rate > 0 {
		r.rate = float64(cfg.Rate) / float64(parallelism)
	}
	return r
}

type reader struct {
	g         *Generator
	next, end int64 // next event number; end < 0: unbounded
	step      int64
	rate      float64 // events per second of this subtask; 0: unlimited
	start     time.Time
	emitted   int64
}

func (r *reader) Read(out stream.Collector[Event]) (int, error) {
	n := int64(readBatch)
	if r.end >= 0 {
		if r.next >= r.end {
			return 0, io.EOF
		}
		n = min(n, (r.end-r.next+r.step-1)/r.step)
	}
	if r.rate > 0 {
		if r.start.IsZero() {
			r.start = time.Now()
		}
		due := int64(time.Since(r.start).Seconds()*r.rate) + 1 - r.emitted
		if due <= 0 {
			next := r.start.Add(time.Duration(float64(r.emitted) / r.rate * float64(time.Second)))
			time.Sleep(min(time.Until(next), 50*time.Millisecond))
			return 0, nil
		}
		n = min(n, due)
	}
	g, next, step := r.g, r.next, r.step
	for range n {
		out.Collect(g.Event(next))
		next += step
	}
	r.next = next
	r.emitted += n
	return int(n), nil
}

func (r *reader) Close() error { return nil }

// Position is the next event number and the count emitted (for the rate).
func (r *reader) Position() ([]byte, error) {
	return binary.AppendVarint(binary.AppendVarint(nil, r.next), r.emitted), nil
}

func (r *reader) Seek(p []byte) error {
	next, n := binary.Varint(p)
	emitted, m := binary.Varint(p[max(n, 0):])
	if n <= 0 || m <= 0 || n+m != len(p) || next < 0 || emitted < 0 {
		return fmt.Errorf("nexmark source: position %x is not one this source wrote", p)
	}
	r.next, r.emitted = next, emitted
	if r.rate > 0 {
		r.start = time.Now().Add(-time.Duration(float64(emitted) / r.rate * float64(time.Second)))
	}
	return nil
}

var _ stream.CheckpointedReader[Event] = (*reader)(nil)
