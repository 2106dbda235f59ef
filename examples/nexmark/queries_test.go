package nexmark

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/stream"
)

// streamQueryEvents is how many events each stream query runs over.
const streamQueryEvents = 200_000

func TestStreamQueriesMatchTheirReference(t *testing.T) {
	// 100 s of event time, so that windowed queries, once they have a
	// stream version, see ten tumbling windows.
	cfg := Config{Seed: 11, Events: streamQueryEvents, EventTimeRate: 2000}
	for _, name := range QueryNames() {
		q := Queries[name]
		if q.Build == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			want := q.Reference(Events(cfg))
			if len(want) == 0 {
				t.Fatal("the reference has no rows: the test would prove nothing")
			}
			for _, p := range []int{1, 2} {
				t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
					out, _, err := RunStream(testContext(t), q, cfg, p, true)
					if err != nil {
						t.Fatal(err)
					}
					equalRows(t, out.Canonical(), want)
				})
			}
		})
	}
}

func TestPlainLoopsMatchTheirReference(t *testing.T) {
	// A slower event-time rate, so the windowed queries see many windows:
	// 100 s of event time, 50 ms out of order.
	cfg := Config{Seed: 12, Events: streamQueryEvents, EventTimeRate: 2000, OutOfOrderGroupSize: 101}
	for _, name := range QueryNames() {
		q := Queries[name]
		t.Run(name, func(t *testing.T) {
			want := q.Reference(Events(cfg))
			if len(want) == 0 {
				t.Fatal("the reference has no rows: the test would prove nothing")
			}
			got := q.Plain(cfg, true)
			equalRows(t, got.Canonical(), want)
			if name != "q4" && got.Count() != int64(len(want)) {
				t.Fatalf("the plain loop counted %d rows, emitted %d", got.Count(), len(want))
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	if got := QueryNames(); !slices.Equal(got, []string{"q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"}) {
		t.Fatalf("queries %v", got)
	}
	for name, q := range Queries {
		if q.Name != name || q.Description == "" || q.Reference == nil || q.Plain == nil {
			t.Errorf("query %q is incomplete: %+v", name, q)
		}
		// q5, q7 and q8 get theirs once the stream API has windows.
		if windowed := name == "q5" || name == "q7" || name == "q8"; !windowed && q.Build == nil {
			t.Errorf("query %q has no stream version", name)
		}
	}
	if _, err := Lookup("Q1"); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup("q6"); err == nil {
		t.Fatal("Lookup found q6")
	}
	if _, _, err := RunStream(testContext(t), Query{Name: "q-none"}, Config{Events: 10}, 1, false); err == nil {
		t.Fatal("RunStream ran a query with no stream version")
	}
}

// runOnSlice runs a query over hand-built events at parallelism p, with
// one source subtask so that the events arrive in the slice's order.
func runOnSlice[T any](t *testing.T, events []Event, p int, query func(*stream.DataStream[Event]) *stream.DataStream[T]) []T {
	t.Helper()
	env := stream.NewEnvironment().SetParallelism(p)
	out := stream.Collect(query(stream.FromSlice(env, events).SetParallelism(1)))
	if _, err := env.Execute(testContext(t), "nexmark-slice"); err != nil {
		t.Fatal(err)
	}
	return out.Results()
}

func TestQ3JoinsWhicheverSideComesFirst(t *testing.T) {
	events := []Event{
		auction(100, 3, 10, 0, 9), // before its seller
		auction(106, 3, 10, 0, 9),
		person(1, "Ann", "OR", 0),
		person(2, "Bob", "WA", 0),
		person(3, "Cid", "CA", 0),
		auction(101, 1, 10, 0, 9),
		auction(102, 2, 10, 0, 9),
		auction(103, 3, 11, 0, 9),
		auction(104, 9, 10, 0, 9),
		bid(101, 1, 5, 0),
	}
	for _, p := range []int{1, 2} {
		got := runOnSlice(t, events, p, Q3)
		slices.SortFunc(got, compareQ3)
		checkRows(t, got, ReferenceQ3(slices.Values(events)))
	}
}

func TestQ4BidsBeforeTheirAuctionWait(t *testing.T) {
	events := []Event{
		bid(1, 9, 6, 1200), // before its auction
		bid(1, 9, 50, 999), // before its auction, and before it opens
		auction(1, 9, 10, 1000, 2000),
		bid(1, 9, 5, 1500),
		bid(1, 9, 9, 1999),
		bid(1, 9, 100, 2001),
		bid(2, 9, 4, 1000),
		auction(2, 9, 10, 1000, 3000),
		bid(2, 9, 3, 2000),
		auction(3, 9, 11, 0, 10),
		auction(4, 9, 12, 0, 10),
		bid(4, 9, 7, 10),
	}
	for _, p := range []int{1, 2} {
		updates := runOnSlice(t, events, p, Q4)
		checkRows(t, FinalQ4(updates), ReferenceQ4(slices.Values(events)))
		// 6 then 9 for auction 1 (category 10), 4 for auction 2, 7 for auction 4.
		if len(updates) != 4 {
			t.Fatalf("parallelism %d: %d updates %v, want 4", p, len(updates), updates)
		}
	}
}
