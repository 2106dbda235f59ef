package stream_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/minicluster"
	"github.com/sluicehq/sluice/stream"
)

type kv struct {
	Key   int64
	Value int64
}

// genKV is the record i of the generated data: 97 keys, varied values.
func genKV(i int64) kv { return kv{Key: (i * 7919) % 97, Value: i%13 - 6} }

func TestKeyedReduceMatchesPlainGo(t *testing.T) {
	const n = 50_000
	want := map[int64]int64{}
	wantUpdates := map[int64]int{}
	for i := range int64(n) {
		r := genKV(i)
		want[r.Key] += r.Value
		wantUpdates[r.Key]++
	}
	for _, p := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p).SetMiniCluster(2, 0)
			src := stream.FromGenerator(env, n, genKV)
			sums := stream.Reduce(stream.KeyBy(src, func(r kv) int64 { return r.Key }), func(a, b kv) kv {
				return kv{a.Key, a.Value + b.Value}
			})
			out := stream.Collect(sums)
			res, err := env.Execute(testContext(t), "keyed-reduce")
			if err != nil {
				t.Fatal(err)
			}
			if res.State != jobmanager.StateFinished {
				t.Fatalf("job state %s", res.State)
			}
			got := map[int64]int64{}
			updates := map[int64]int{}
			for _, r := range out.Results() {
				got[r.Key] = r.Value // the last update of a key is its total
				updates[r.Key]++
			}
			if !maps.Equal(got, want) {
				t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
			}
			if !maps.Equal(updates, wantUpdates) {
				t.Fatalf("reduce emitted %v updates per key, want one per record %v", updates, wantUpdates)
			}
		})
	}
}

func TestChainedPipelineRunsAsOneTask(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	src := stream.FromSequence(env, 1, 1000)
	doubled := stream.Map(src, func(v int64) int64 { return 2 * v }).Name("double")
	kept := stream.Filter(doubled, func(v int64) bool { return v%3 == 0 }).Name("thirds")
	out := stream.Collect(kept)
	res, err := env.Execute(testContext(t), "chained")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, ts := range res.Tasks {
		names[ts.Name]++
	}
	want := map[string]int{"Sequence -> double -> thirds -> Collect": 2}
	if !maps.Equal(names, want) {
		t.Fatalf("tasks = %v, want %v", names, want)
	}
	var wantVals []int64
	for v := int64(1); v <= 1000; v++ {
		if 2*v%3 == 0 {
			wantVals = append(wantVals, 2*v)
		}
	}
	got := out.Results()
	slices.Sort(got)
	if !slices.Equal(got, wantVals) {
		t.Fatalf("got %d values, want %d", len(got), len(wantVals))
	}

	// The same pipeline with chaining off runs four tasks.
	env2 := stream.NewEnvironment().SetParallelism(2).DisableChaining()
	stream.Collect(stream.Filter(stream.Map(stream.FromSequence(env2, 1, 10), func(v int64) int64 { return v }), func(int64) bool { return true }))
	g, err := env2.Plan("unchained")
	if err != nil {
		t.Fatal(err)
	}
	if tasks, _ := g.Tasks(); len(tasks) != 4 {
		t.Fatalf("chaining disabled: %d tasks, want 4", len(tasks))
	}
}

func TestPanicFailsJobWithOperatorNameAndOtherJobsRun(t *testing.T) {
	ctx := testContext(t)
	mc, err := minicluster.New(minicluster.Config{TaskManagers: 2, SlotsPerTaskManager: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()

	// A long-running job on the same cluster.
	steady := stream.NewEnvironment().SetParallelism(2)
	seen := stream.Collect(stream.Map(stream.UnboundedSequence(steady, 0, 2000), func(v int64) int64 { return v }))
	steadyJob, err := steady.SubmitTo(ctx, mc, "steady")
	if err != nil {
		t.Fatal(err)
	}

	bad := stream.NewEnvironment().SetParallelism(2)
	boom := stream.Map(stream.FromSequence(bad, 0, 10_000), func(v int64) int64 {
		if v == 4321 {
			panic(fmt.Sprintf("cannot handle %d", v))
		}
		return v
	}).Name("fragile")
	stream.Collect(stream.Filter(boom, func(int64) bool { return true }).Name("after"))
	badJob, err := bad.SubmitTo(ctx, mc, "bad")
	if err != nil {
		t.Fatal(err)
	}
	res, err := badJob.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != jobmanager.StateFailed {
		t.Fatalf("bad job state %s, want failed", res.State)
	}
	if !errors.Is(res.Err(), jobmanager.ErrJobFailed) ||
		!strings.Contains(res.Error, `operator "fragile" panicked`) ||
		!strings.Contains(res.Error, "cannot handle 4321") {
		t.Fatalf("error %q does not name the operator and the panic", res.Error)
	}

	// The other job is still running and still producing.
	before := seen.Len()
	waitFor(t, 10*time.Second, "the steady job to keep producing", func() bool { return seen.Len() > before+50 })
	if st := steadyJob.Status(); st.State != jobmanager.StateRunning {
		t.Fatalf("steady job is %s", st.State)
	}
	if err := steadyJob.Cancel(); err != nil {
		t.Fatal(err)
	}
	st, err := steadyJob.Wait(ctx)
	if err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("steady job after cancel: %s, %v", st.State, err)
	}
}

func TestPanicAttributedToTheRightChainedOperator(t *testing.T) {
	// FlatMap calls downstream operators from inside user code; a panic in
	// its own code after such a call must still be attributed to it.
	env := stream.NewEnvironment().SetParallelism(1)
	fm := stream.FlatMap(stream.FromSequence(env, 0, 10), func(v int64, out stream.Collector[int64]) {
		out.Collect(v)
		if v == 5 {
			panic("flatmap broke")
		}
	}).Name("splitter")
	stream.Collect(stream.Map(fm, func(v int64) int64 { return v }).Name("downstream"))
	_, err := env.Execute(testContext(t), "attribution")
	if err == nil || !strings.Contains(err.Error(), `operator "splitter" panicked: flatmap broke`) {
		t.Fatalf("err = %v", err)
	}
}

// sessionFn counts records per key, keeps the last three values in a list
// and the distinct values in a map, and emits a summary per record.
type sessionFn struct {
	count    stream.ValueState[int]
	last     stream.ListState[int64]
	distinct stream.MapState[int64, bool]
}

type summary struct {
	Key      int64
	Count    int
	Last     string
	Distinct int
}

func (f *sessionFn) Open(ctx *stream.OpenContext[int64]) (err error) {
	if f.count, err = stream.NewValueState[int](ctx, "count"); err != nil {
		return err
	}
	if f.last, err = stream.NewListState[int64](ctx, "last"); err != nil {
		return err
	}
	f.distinct, err = stream.NewMapState[int64, bool](ctx, "distinct")
	return err
}

func (f *sessionFn) ProcessElement(ctx *stream.Context[int64], r kv, out stream.Collector[summary]) error {
	c, _ := f.count.Get()
	f.count.Set(c + 1)
	f.last.Add(r.Value)
	if l := f.last.Get(); len(l) > 3 {
		f.last.Update(l[len(l)-3:])
	}
	f.distinct.Put(r.Value, true)
	out.Collect(summary{Key: ctx.Key(), Count: c + 1, Last: fmt.Sprint(f.last.Get()), Distinct: f.distinct.Len()})
	return nil
}

func TestKeyedProcessWithStateMatchesPlainGo(t *testing.T) {
	const n = 20_000
	type model struct {
		count    int
		last     []int64
		distinct map[int64]bool
	}
	want := map[int64]summary{}
	models := map[int64]*model{}
	for i := range int64(n) {
		r := genKV(i)
		m := models[r.Key]
		if m == nil {
			m = &model{distinct: map[int64]bool{}}
			models[r.Key] = m
		}
		m.count++
		m.last = append(m.last, r.Value)
		if len(m.last) > 3 {
			m.last = m.last[len(m.last)-3:]
		}
		m.distinct[r.Value] = true
		want[r.Key] = summary{r.Key, m.count, fmt.Sprint(m.last), len(m.distinct)}
	}
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			// One source subtask, so each key's records keep their order
			// through the shuffle, as the "last three" model needs.
			src := stream.FromGenerator(env, n, genKV).SetParallelism(1)
			sums := stream.Process(stream.KeyBy(src, func(r kv) int64 { return r.Key }), func() stream.KeyedProcessFunction[int64, kv, summary] {
				return &sessionFn{}
			})
			out := stream.Collect(sums)
			if _, err := env.Execute(testContext(t), "process"); err != nil {
				t.Fatal(err)
			}
			got := map[int64]summary{}
			for _, s := range out.Results() {
				got[s.Key] = s
			}
			if !maps.Equal(got, want) {
				t.Fatalf("final summaries differ:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestUnionRebalanceBroadcast(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(3)
	a := stream.FromSequence(env, 1, 100).SetParallelism(1)
	b := stream.FromSequence(env, 101, 300).SetParallelism(2)
	all := stream.Collect(stream.Map(stream.Union(a, b).Rebalance(), func(v int64) int64 { return v }))
	bc := stream.Collect(stream.Map(stream.FromSequence(env, 1, 10).SetParallelism(1).Broadcast(), func(v int64) int64 { return v }).SetParallelism(3))
	if _, err := env.Execute(testContext(t), "union"); err != nil {
		t.Fatal(err)
	}
	got := all.Results()
	slices.Sort(got)
	if len(got) != 300 || got[0] != 1 || got[299] != 300 {
		t.Fatalf("union gave %d records", len(got))
	}
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("union record %d = %d", i, v)
		}
	}
	counts := map[int64]int{}
	for _, v := range bc.Results() {
		counts[v]++
	}
	for v := int64(1); v <= 10; v++ {
		if counts[v] != 3 {
			t.Fatalf("broadcast delivered %d %d times, want 3", v, counts[v])
		}
	}
}

func TestTextFileSplitsReadEveryLineOnce(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 3000 {
		lines = append(lines, strings.Repeat("x", i%17)+fmt.Sprint(i))
	}
	path := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	for p := 1; p <= 5; p++ {
		env := stream.NewEnvironment().SetParallelism(p)
		out := stream.Collect(stream.FromTextFile(env, path))
		if _, err := env.Execute(testContext(t), "lines"); err != nil {
			t.Fatal(err)
		}
		got := out.Results()
		want := slices.Clone(lines)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("parallelism %d: read %d lines, want %d", p, len(got), len(want))
		}
	}
}

func TestWriteTextAndPrint(t *testing.T) {
	dir := t.TempDir()
	var printed strings.Builder
	env := stream.NewEnvironment().SetParallelism(2).SetOutput(&printed)
	src := stream.FromSequence(env, 1, 100)
	stream.WriteText(src, filepath.Join(dir, "out"))
	stream.Print(stream.Map(src, func(v int64) string { return fmt.Sprint("n=", v) })).SetParallelism(1)
	if _, err := env.Execute(testContext(t), "sinks"); err != nil {
		t.Fatal(err)
	}
	var fileLines []string
	for _, part := range []string{"part-1", "part-2"} {
		data, err := os.ReadFile(filepath.Join(dir, "out", part))
		if err != nil {
			t.Fatal(err)
		}
		fileLines = append(fileLines, strings.Fields(string(data))...)
	}
	printLines := strings.Fields(printed.String())
	if len(fileLines) != 100 || len(printLines) != 100 {
		t.Fatalf("files have %d lines, print %d; want 100 each", len(fileLines), len(printLines))
	}
	if !slices.Contains(printLines, "n=42") {
		t.Fatalf("print output lacks n=42: %q", printed.String()[:50])
	}
}

func TestInvalidJobsNameTheOperator(t *testing.T) {
	cases := []struct {
		name  string
		build func(env *stream.Environment)
		want  string
	}{
		{"forward between parallelisms", func(env *stream.Environment) {
			src := stream.FromSequence(env, 1, 10).SetParallelism(2)
			stream.Collect(stream.Map(src.Forward(), func(v int64) int64 { return v }).Name("narrow").SetParallelism(3))
		}, "narrow"},
		{"duplicate uid", func(env *stream.Environment) {
			src := stream.FromSequence(env, 1, 10).UID("same")
			stream.Collect(stream.Map(src, func(v int64) int64 { return v }).UID("same").Name("twin"))
		}, "twin"},
		{"max parallelism below parallelism", func(env *stream.Environment) {
			src := stream.FromSequence(env, 1, 10)
			stream.Collect(stream.Map(src, func(v int64) int64 { return v }).Name("cramped").SetParallelism(8).SetMaxParallelism(4))
		}, "cramped"},
		{"setting on a union", func(env *stream.Environment) {
			a := stream.FromSequence(env, 1, 10)
			stream.Collect(stream.Union(a, stream.FromSequence(env, 1, 2)).Name("u"))
		}, "union"},
		{"exchanged type without a codec", func(env *stream.Environment) {
			type withFunc struct{ F func() }
			src := stream.FromSequence(env, 1, 10)
			m := stream.Map(src, func(v int64) withFunc { return withFunc{} }).Name("makes-funcs")
			stream.Collect(m.Rebalance())
		}, "makes-funcs"},
		{"unhashable key", func(env *stream.Environment) {
			src := stream.FromSequence(env, 1, 10)
			type badKey struct{ F any }
			stream.Collect(stream.Reduce(stream.KeyBy(src, func(v int64) badKey { return badKey{v} }), func(a, b int64) int64 { return a }))
		}, "KeyBy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(2)
			tc.build(env)
			_, err := env.Plan("bad")
			if err == nil {
				t.Fatal("Plan succeeded")
			}
			if !errors.Is(err, stream.ErrInvalidJob) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want ErrInvalidJob naming %q", err, tc.want)
			}
		})
	}
}

func TestChainedTypeNeedsNoCodec(t *testing.T) {
	// Records that stay inside a chain are never encoded.
	type withFunc struct{ F func() int64 }
	env := stream.NewEnvironment().SetParallelism(2)
	m := stream.Map(stream.FromSequence(env, 1, 10), func(v int64) withFunc { return withFunc{func() int64 { return v }} })
	out := stream.Collect(stream.Map(m, func(w withFunc) int64 { return w.F() }))
	if _, err := env.Execute(testContext(t), "chained-funcs"); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 10 {
		t.Fatalf("got %d records", out.Len())
	}
}

func TestPlanIsStable(t *testing.T) {
	build := func(name string) *jobgraph.Graph {
		env := stream.NewEnvironment().SetParallelism(3)
		src := stream.FromGenerator(env, 100, genKV)
		stream.Collect(stream.Reduce(stream.KeyBy(src, func(r kv) int64 { return r.Key }), func(a, b kv) kv { return a }).Name(name))
		g, err := env.Plan("stable")
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b := build("sum"), build("renamed")
	if len(a.Operators) != len(b.Operators) {
		t.Fatal("operator counts differ")
	}
	for i := range a.Operators {
		if a.Operators[i].UID != b.Operators[i].UID {
			t.Fatalf("uid of operator %d changed with its name: %s vs %s", i, a.Operators[i].UID, b.Operators[i].UID)
		}
	}
	if a.Fingerprint == b.Fingerprint {
		t.Fatal("renaming an operator should change the fingerprint")
	}
	if c := build("sum"); c.Fingerprint != a.Fingerprint {
		t.Fatal("the same program gave two fingerprints")
	}
	data, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobgraph.Parse(data); err != nil {
		t.Fatalf("the plan does not parse back: %v", err)
	}
}

func TestCancelUnboundedJob(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	out := stream.Collect(stream.Filter(stream.UnboundedSequence(env, 0, 0), func(v int64) bool { return v%1000 == 0 }))
	client, err := env.ExecuteAsync(testContext(t), "forever")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	waitFor(t, 10*time.Second, "records from the unbounded job", func() bool { return out.Len() > 10 })
	if err := client.Cancel(); err != nil {
		t.Fatal(err)
	}
	st, err := client.Wait(testContext(t))
	if err != nil || st.State != jobmanager.StateCancelled {
		t.Fatalf("after cancel: %s, %v", st.State, err)
	}
	for _, ts := range st.Tasks {
		if ts.State != "cancelled" {
			t.Fatalf("task %s is %s", ts.Name, ts.State)
		}
	}
}

// batchSum is a BatchWriter that adds up what it is given, counting calls.
type batchSum struct {
	mu                    *sync.Mutex
	sum, records, batches *int64
	writes                *int64
}

func (b batchSum) Write(v int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.writes++
	return nil
}

func (b batchSum) WriteBatch(recs []int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.batches++
	for _, v := range recs {
		*b.sum += v
	}
	*b.records += int64(len(recs))
	return nil
}

func (batchSum) Flush() error { return nil }
func (batchSum) Close() error { return nil }

func TestBatchWriterGetsEveryRecordInBatches(t *testing.T) {
	const n = 100_000
	env := stream.NewEnvironment().SetParallelism(2)
	var mu sync.Mutex
	var sum, records, batches, writes int64
	doubled := stream.Map(stream.FromSequence(env, 1, n).Rebalance(), func(v int64) int64 { return 2 * v })
	stream.AddSink(doubled, "Sum", func(int, int) (stream.SinkWriter[int64], error) {
		return batchSum{mu: &mu, sum: &sum, records: &records, batches: &batches, writes: &writes}, nil
	})
	if _, err := env.Execute(testContext(t), "batch sink"); err != nil {
		t.Fatal(err)
	}
	var want int64
	for v := int64(1); v <= n; v++ {
		want += 2 * v
	}
	if sum != want || records != n {
		t.Fatalf("the batch sink got %d records summing to %d, want %d summing to %d", records, sum, n, want)
	}
	if writes != 0 || batches == 0 || batches >= n/10 {
		t.Fatalf("%d Writes and %d batches for %d records; want no Writes and batches of many records", writes, batches, n)
	}
}

// batchSource is a bounded source of 1..n whose reader appends batches.
type batchSource struct{ n int64 }

func (s batchSource) Bounded() bool { return true }
func (s batchSource) Open(subtask, parallelism int) (stream.Reader[int64], error) {
	p := int64(parallelism)
	return &batchReader{next: 1 + int64(subtask)*s.n/p, end: 1 + int64(subtask+1)*s.n/p}, nil
}

type batchReader struct{ next, end int64 }

func (r *batchReader) Read(stream.Collector[int64]) (int, error) {
	return 0, errors.New("Read called on a BatchReader")
}

func (r *batchReader) ReadBatch(buf []int64) ([]int64, error) {
	for range 100 {
		if r.next == r.end {
			return buf, io.EOF
		}
		buf = append(buf, r.next)
		r.next++
	}
	return buf, nil
}

func (r *batchReader) Close() error { return nil }

func TestBatchReaderFeedsTheSource(t *testing.T) {
	const n = 10_007
	env := stream.NewEnvironment().SetParallelism(2)
	sum := stream.Collect(stream.Reduce(stream.KeyBy(stream.FromSource[int64](env, "Batches", batchSource{n}),
		func(int64) int64 { return 0 }), func(a, b int64) int64 { return a + b }))
	if _, err := env.Execute(testContext(t), "batch source"); err != nil {
		t.Fatal(err)
	}
	// One running sum per record; the largest is the sum of them all.
	got := sum.Results()
	if len(got) != n || slices.Max(got) != n*(n+1)/2 {
		t.Fatalf("%d running sums, the largest %d; want %d and %d", len(got), slices.Max(got), n, n*(n+1)/2)
	}
}
