// Command testjob is the job binary of the cluster tests: a generated keyed
// sum whose speed, sink and output the tests control, with a result they can
// compute independently (see Expected in the tests).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// Rec is one generated record.
type Rec struct {
	Key   int64
	Value int64
}

func gen(i int64) Rec { return Rec{Key: (i * 7919) % 101, Value: i%17 - 8} }

func main() {
	records := flag.Int64("records", 100_000, "records to generate; negative: unbounded")
	rate := flag.Float64("rate", 0, "records per second over all source subtasks; 0: as fast as possible")
	parallelism := flag.Int("parallelism", 0, "parallelism of every operator; 0: SLUICE_PARALLELISM if set (jmctl submit/rescale --parallelism), else 2")
	output := flag.String("output", "", "directory for the per-key sums")
	slow := flag.Duration("slow-sink", 0, "time the sink spends on each record")
	nameFile := flag.String("name-from", "", "read the reduce operator's name from this file (to change the graph between plan and run)")
	sourcePar := flag.Int("source-parallelism", 0, "parallelism of the source (default: --parallelism)")
	extra := flag.Bool("extra-operator", false, "add a stateless map before the sink (a newer build of the job)")
	dropSum := flag.Bool("drop-sum", false, "leave out the keyed sum (a build that dropped a stateful operator)")
	interval := flag.Duration("checkpoint-interval", 0, "take a checkpoint this often; 0: none")
	appendLog := flag.Bool("append", false, "append every changed sum to part-N.log at each flush (survives restarts) instead of writing the latest sums at the end")
	bytes := flag.Bool("bytes", false, "benchmark mode: 100-byte records from one source subtask to one sink subtask on another TaskManager")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := stream.NewEnvironment()
	if *parallelism == 0 && os.Getenv(stream.ParallelismEnv) == "" {
		*parallelism = 2
	}
	if *parallelism > 0 {
		env.SetParallelism(*parallelism)
	}
	if *interval > 0 {
		env.EnableCheckpointing(*interval)
	}
	if *bytes {
		buildBytes(env, *records, *output, *slow)
	} else {
		name := "Sum"
		if *nameFile != "" {
			data, err := os.ReadFile(*nameFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "testjob:", err)
				os.Exit(2)
			}
			name = strings.TrimSpace(string(data))
		}
		var src *stream.DataStream[Rec]
		if *rate > 0 {
			paced := stream.FromSource(env, "Paced", paced{n: *records, rate: *rate}).UID("paced")
			if *sourcePar > 0 {
				paced.SetParallelism(*sourcePar)
			}
			src = stream.Map(paced, gen).Name("Generate")
		} else {
			src = stream.FromGenerator(env, *records, gen)
		}
		sums := src
		if !*dropSum {
			sums = stream.Reduce(stream.KeyBy(src, func(r Rec) int64 { return r.Key }), func(a, b Rec) Rec {
				return Rec{a.Key, a.Value + b.Value}
			}).Name(name).UID("sum")
		}
		if *extra {
			sums = stream.Map(sums, func(r Rec) Rec { return r }).Name("Identity").UID("identity")
		}
		stream.AddSink(sums, "Sums", func(subtask, _ int) (stream.SinkWriter[Rec], error) {
			return &sumFile{dir: *output, subtask: subtask, slow: *slow, latest: map[int64]int64{}, appendLog: *appendLog}, nil
		})
	}
	if _, err := env.Execute(ctx, "testjob"); err != nil {
		fmt.Fprintln(os.Stderr, "testjob:", err)
		os.Exit(1)
	}
}

// paced is a source of the numbers 0..n-1 (unbounded if n < 0) at a fixed
// rate, one record at a time, so that a job runs for a predictable time.
type paced struct {
	n    int64
	rate float64
}

func (p paced) Bounded() bool { return p.n >= 0 }

func (p paced) Open(subtask, parallelism int) (stream.Reader[int64], error) {
	start, end := int64(subtask)*p.n/int64(parallelism), int64(subtask+1)*p.n/int64(parallelism)
	if p.n < 0 {
		start, end = 0, -1
	}
	return &pacedReader{next: start, end: end, interval: time.Duration(float64(time.Second) * float64(parallelism) / p.rate)}, nil
}

type pacedReader struct {
	next, end int64
	interval  time.Duration
	due       time.Time
}

func (r *pacedReader) Read(out stream.Collector[int64]) (int, error) {
	if r.end >= 0 && r.next >= r.end {
		return 0, io.EOF
	}
	now := time.Now()
	if r.due.IsZero() {
		r.due = now
	}
	if now.Before(r.due) {
		time.Sleep(min(r.due.Sub(now), 20*time.Millisecond))
		return 0, nil
	}
	out.Collect(r.next)
	r.next++
	r.due = r.due.Add(r.interval)
	return 1, nil
}

func (r *pacedReader) Close() error { return nil }

// Position and Seek make the paced source replayable from a checkpoint.
func (r *pacedReader) Position() ([]byte, error) { return fmt.Appendf(nil, "%d", r.next), nil }

func (r *pacedReader) Seek(pos []byte) error {
	_, err := fmt.Sscanf(string(pos), "%d", &r.next)
	return err
}

// sumFile keeps the latest sum per key and writes them at the end, or, in
// append mode, appends the sums that changed at every flush to a log whose
// last line per key is the latest sum across restarts.
type sumFile struct {
	dir       string
	subtask   int
	slow      time.Duration
	latest    map[int64]int64
	appendLog bool
	dirty     []int64
	buf       []byte
	wrote     bool
}

func (s *sumFile) Write(r Rec) error {
	if s.slow > 0 {
		time.Sleep(s.slow)
	}
	if s.appendLog {
		s.dirty = append(s.dirty, r.Key)
		if !s.wrote && s.dir != "" {
			// When this sink instance (one per attempt) got its first
			// record: the recovery benchmark reads it from the name.
			s.wrote = true
			_ = os.MkdirAll(s.dir, 0o755)
			_ = os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("first-%d-%d", s.subtask, time.Now().UnixNano())), nil, 0o644)
		}
	}
	s.latest[r.Key] = r.Value
	return nil
}

// Flush appends the changed sums in one write, so that a process killed
// at any moment leaves whole lines only.
func (s *sumFile) Flush() error {
	if !s.appendLog || len(s.dirty) == 0 || s.dir == "" {
		return nil
	}
	s.buf = s.buf[:0]
	for _, k := range s.dirty {
		s.buf = fmt.Appendf(s.buf, "%d %d\n", k, s.latest[k])
	}
	s.dirty = s.dirty[:0]
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, fmt.Sprintf("part-%d.log", s.subtask+1)), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(s.buf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *sumFile) Close() error { return nil }

func (s *sumFile) Finish() error {
	if s.dir == "" {
		return nil
	}
	if s.appendLog {
		return s.Flush()
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(s.dir, fmt.Sprintf("part-%d", s.subtask+1))
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, k := range slices.Sorted(maps.Keys(s.latest)) {
		fmt.Fprintf(w, "%d %d\n", k, s.latest[k])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// Record is a benchmark record: 100 bytes of binary payload, which the
// codec encodes as exactly those 100 bytes.
type Record [100]byte

// payload is the content of every benchmark record.
var payload = func() (r Record) {
	copy(r[:], strings.Repeat("sluice-", 15))
	return r
}()

// buildBytes sends records from one source subtask to one sink subtask in
// another slot-sharing group, so that on TaskManagers of one slot each they
// run in two processes and every record crosses the data plane.
func buildBytes(env *stream.Environment, records int64, output string, slow time.Duration) {
	src := stream.FromSource[Record](env, "Records", recordSource(records)).SetParallelism(1).SlotSharingGroup("source")
	stream.AddSink(src, "Count", func(int, int) (stream.SinkWriter[Record], error) {
		return &countFile{dir: output, slow: slow}, nil
	}).SetParallelism(1).SlotSharingGroup("sink")
}

// recordSource is a source of copies of payload for one subtask: that
// many, or without end if negative. Its reader appends them a batch at a
// time (stream.BatchReader), so that the benchmark measures the data plane
// rather than a call per record.
type recordSource int64

func (s recordSource) Bounded() bool { return s >= 0 }

func (s recordSource) Open(subtask, parallelism int) (stream.Reader[Record], error) {
	if parallelism != 1 {
		return nil, fmt.Errorf("the record source runs at parallelism 1, not %d", parallelism)
	}
	return &recordReader{left: int64(s)}, nil
}

type recordReader struct{ left int64 } // < 0: unbounded

func (r *recordReader) Read(out stream.Collector[Record]) (int, error) {
	recs, err := r.ReadBatch(nil)
	for _, v := range recs {
		out.Collect(v)
	}
	return len(recs), err
}

func (r *recordReader) ReadBatch(buf []Record) ([]Record, error) {
	n := int64(256)
	if r.left >= 0 {
		n = min(n, r.left)
		r.left -= n
	}
	for range n {
		buf = append(buf, payload)
	}
	if r.left == 0 {
		return buf, io.EOF
	}
	return buf, nil
}

func (r *recordReader) Close() error { return nil }

// countFile counts records and bytes and writes the totals at the end.
type countFile struct {
	dir          string
	slow         time.Duration
	count, bytes int64
}

func (c *countFile) Write(r Record) error {
	if c.slow > 0 {
		time.Sleep(c.slow)
	}
	c.count++
	c.bytes += int64(len(r))
	return nil
}

// WriteBatch counts a batch at once, so that the benchmark measures the
// data plane rather than a call per record.
func (c *countFile) WriteBatch(recs []Record) error {
	if c.slow > 0 {
		for _, r := range recs {
			c.Write(r)
		}
		return nil
	}
	c.count += int64(len(recs))
	c.bytes += int64(len(recs) * len(Record{}))
	return nil
}

func (c *countFile) Flush() error { return nil }
func (c *countFile) Close() error { return nil }
func (c *countFile) Finish() error {
	if c.dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "count"), fmt.Appendf(nil, "%d %d\n", c.count, c.bytes), 0o644)
}
