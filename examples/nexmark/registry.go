package nexmark

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/stream"
)

// Query is one Nexmark query: its stream version (when the stream API can
// express it), its reference implementation and its plain loop, all three
// giving results in the same canonical form.
type Query struct {
	Name        string
	Description string
	// FlinkPerCore is the throughput per core published for Flink 1.13 on
	// Nexmark, in events per second; 0 when there is none.
	FlinkPerCore float64
	// Build adds the query to a job reading events, made by a Source of
	// cfg (whose MaxOutOfOrderness is the watermark bound a windowed query
	// needs), ending in a sink that counts its rows and, with collect,
	// keeps them (embedded mini-cluster only). Nil for a query without a
	// stream version.
	Build func(events *stream.DataStream[Event], cfg Config, collect bool) Results
	// Reference computes the query's canonical result with its reference
	// implementation.
	Reference func(events iter.Seq[Event]) []string
	// Plain runs the query's plain loop over cfg's events; with collect,
	// its Results keep the rows.
	Plain func(cfg Config, collect bool) Results
}

// Queries are the Nexmark queries by name: q0 to q5, q7 and q8 (q6 is not
// one Flink's Nexmark runs either).
var Queries = map[string]Query{
	"q0": {
		Name: "q0", Description: "pass-through: every bid", FlinkPerCore: 155_000,
		Build: build("Q0 Sink", noConfig(Q0), nil), Reference: reference(ReferenceQ0), Plain: plain(PlainQ0, nil),
	},
	"q1": {
		Name: "q1", Description: "currency conversion: every bid, price in euros", FlinkPerCore: 158_000,
		Build: build("Q1 Sink", noConfig(Q1), nil), Reference: reference(ReferenceQ1), Plain: plain(PlainQ1, nil),
	},
	"q2": {
		Name: "q2", Description: "selection: bids of auctions whose id is a multiple of 123", FlinkPerCore: 175_000,
		Build: build("Q2 Sink", noConfig(Q2), nil), Reference: reference(ReferenceQ2), Plain: plain(PlainQ2, nil),
	},
	"q3": {
		Name: "q3", Description: "local item suggestion: category-10 auctions joined with sellers from OR, ID, CA",
		Build: build("Q3 Sink", noConfig(Q3), nil), Reference: reference(ReferenceQ3), Plain: plain(PlainQ3, nil),
	},
	"q4": {
		Name: "q4", Description: "average winning-bid price per category (updating)",
		Build: build("Q4 Sink", noConfig(Q4), canonicalQ4), Reference: reference(ReferenceQ4), Plain: plain(PlainQ4, canonicalQ4),
	},
	"q5": {
		Name: "q5", Description: "hot items: auctions with the most bids per 10 s window sliding by 2 s", FlinkPerCore: 22_000,
		Build: build("Q5 Sink", Q5, nil), Reference: reference(ReferenceQ5), Plain: plain(PlainQ5, nil),
	},
	"q7": {
		Name: "q7", Description: "highest bid per tumbling 10 s window", FlinkPerCore: 12_000,
		Build: build("Q7 Sink", Q7, nil), Reference: reference(ReferenceQ7), Plain: plain(PlainQ7, nil),
	},
	"q8": {
		Name: "q8", Description: "monitor new users: persons who open an auction in the 10 s window they registered in", FlinkPerCore: 146_000,
		Build: build("Q8 Sink", Q8, nil), Reference: reference(ReferenceQ8), Plain: plain(PlainQ8, nil),
	},
}

// QueryNames returns the names of the queries, in order.
func QueryNames() []string { return slices.Sorted(maps.Keys(Queries)) }

// Lookup returns the query called name.
func Lookup(name string) (Query, error) {
	q, ok := Queries[strings.ToLower(name)]
	if !ok {
		return Query{}, fmt.Errorf("no query %q; the queries are %s", name, strings.Join(QueryNames(), ", "))
	}
	return q, nil
}

// build makes a Query.Build of a query function; canon nil is Canonical.
func build[T any](sink string, query func(*stream.DataStream[Event], Config) *stream.DataStream[T], canon func([]T) []string) func(*stream.DataStream[Event], Config, bool) Results {
	return func(events *stream.DataStream[Event], cfg Config, collect bool) Results {
		return sinkTo(query(events, cfg), sink, collect, canon, cfg.OutputDir)
	}
}

// noConfig adapts a query that does not depend on the Config to build.
func noConfig[T any](query func(*stream.DataStream[Event]) *stream.DataStream[T]) func(*stream.DataStream[Event], Config) *stream.DataStream[T] {
	return func(events *stream.DataStream[Event], _ Config) *stream.DataStream[T] { return query(events) }
}

func reference[T any](ref func(iter.Seq[Event]) []T) func(iter.Seq[Event]) []string {
	return func(events iter.Seq[Event]) []string { return Canonical(ref(events)) }
}

func plain[T any](loop func(Config, func(T)), canon func([]T) []string) func(Config, bool) Results {
	return func(cfg Config, collect bool) Results {
		o := NewOutput(collect, canon)
		emit, done := o.Emit()
		loop(cfg, emit)
		done()
		return o
	}
}
