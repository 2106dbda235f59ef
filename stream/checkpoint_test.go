package stream_test

import (
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/stream"
)

type indexed struct {
	I, Key, Value int64
}

func genIndexed(i int64) indexed { return indexed{I: i, Key: (i * 7919) % 97, Value: i%13 - 6} }

func TestStateIsExactlyOnceAcrossAFailure(t *testing.T) {
	const n = 30_000
	want := map[int64]int64{}
	for i := range int64(n) {
		r := genIndexed(i)
		want[r.Key] += r.Value
	}
	// Exactly-once only: at-least-once may count records twice after a
	// restore, by design.
	for _, mode := range []string{"exactly-once"} {
		t.Run(mode, func(t *testing.T) {
			var failed atomic.Bool
			env := stream.NewEnvironment().SetParallelism(2).
				EnableCheckpointing(50 * time.Millisecond).
				SetRestartStrategy(restart.Config{Kind: restart.FixedDelay, Attempts: 2, Delay: 50 * time.Millisecond})
			// 2 subtasks reading [0, 15000) and [15000, 30000) at
			// 20000 records/s in all: record 20000 comes after half a
			// second, some ten checkpoints in.
			src := stream.FromGeneratorAtRate(env, n, 20_000, genIndexed)
			fragile := stream.Map(src, func(r indexed) indexed {
				if r.I == 20_000 && !failed.Swap(true) {
					panic("injected failure")
				}
				return r
			}).Name("fragile")
			sums := stream.Reduce(stream.KeyBy(fragile, func(r indexed) int64 { return r.Key }), func(a, b indexed) indexed {
				return indexed{I: b.I, Key: a.Key, Value: a.Value + b.Value}
			}).Name("sum")
			out := stream.Collect(sums)
			res, err := env.Execute(testContext(t), "exactly-once")
			if err != nil {
				t.Fatal(err)
			}
			if res.State != jobmanager.StateFinished || res.Restarts != 1 {
				t.Fatalf("job %s after %d restarts; exceptions %v", res.State, res.Restarts, res.Exceptions)
			}
			if !strings.Contains(res.Exceptions[0].Error, "injected failure") {
				t.Fatalf("exception %q", res.Exceptions[0].Error)
			}
			// The last sum emitted for each key is its total: equal to
			// plain Go only if no record was lost or counted twice.
			got := map[int64]int64{}
			for _, r := range out.Results() {
				got[r.Key] = r.Value
			}
			if !maps.Equal(got, want) {
				t.Fatalf("sums differ from plain Go after the restore:\n got %v\nwant %v", got, want)
			}
			// And the restore started from a checkpoint, not from the
			// beginning: the last attempt read less than everything.
			var readAgain int64
			for _, ts := range res.Tasks {
				if strings.HasPrefix(ts.Name, "Generator") {
					readAgain += ts.RecordsIn
				}
			}
			if readAgain == 0 || readAgain >= n {
				t.Fatalf("the restarted sources read %d of %d records; want them resumed from a checkpoint", readAgain, n)
			}
			t.Logf("%s: the sources resumed with %d of %d records to go", mode, readAgain, n)
		})
	}
}
