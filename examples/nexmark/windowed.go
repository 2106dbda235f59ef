package nexmark

import (
	"slices"
	"time"

	"github.com/sluicehq/sluice/stream"
)

// The windowed queries on the stream API's event-time windows. Each gives
// the events their timestamps (Event.DateTime) and a bounded-out-of-
// orderness watermark of cfg.MaxOutOfOrderness(), which never makes an
// event late, and projects the bids to what the query needs before the
// shuffle. Window results carry their window's end; a second stage that
// combines the results of one window gets its timestamps from it (the
// window's last millisecond, as Flink stamps window results), so it fires
// once every first-stage subtask has passed the window.

// eventTimes gives the events their timestamps and watermarks.
func eventTimes(events *stream.DataStream[Event], cfg Config, name string) *stream.DataStream[Event] {
	bound := time.Duration(cfg.MaxOutOfOrderness()) * time.Millisecond
	return stream.AssignTimestampsAndWatermarks(events, stream.ForBoundedOutOfOrderness(bound, Event.DateTime)).Name(name)
}

// Q5Bid is what q5 keeps of a bid.
type Q5Bid struct{ Auction, DateTime int64 }

// Q5Project is q5's projection of a bid event.
func Q5Project(e Event) Q5Bid { return Q5Bid{e.Bid.Auction, e.Bid.DateTime} }

// Q5Count is the number of bids of an auction in a sliding window.
type Q5Count struct{ WindowStart, WindowEnd, Auction, Count int64 }

// Q5Hot is the highest count of a window so far and the auctions that
// have it.
type Q5Hot struct {
	Count    int64
	Auctions []int64
}

// Q5BidCount counts bids.
type Q5BidCount struct{}

func (Q5BidCount) CreateAccumulator() int64   { return 0 }
func (Q5BidCount) Add(_ Q5Bid, n int64) int64 { return n + 1 }
func (Q5BidCount) GetResult(n int64) int64    { return n }
func (Q5BidCount) Merge(a, b int64) int64     { return a + b }
func q5BidTime(b Q5Bid) int64                 { return b.DateTime }
func q5Auction(b Q5Bid) int64                 { return b.Auction }
func q5CountTime(c Q5Count) int64             { return c.WindowEnd - 1 }
func q5CountWindow(c Q5Count) int64           { return c.WindowStart }

// Q5Hottest keeps the auctions with the highest count of a window.
type Q5Hottest struct{}

func (Q5Hottest) CreateAccumulator() Q5Hot { return Q5Hot{} }

func (Q5Hottest) Add(c Q5Count, h Q5Hot) Q5Hot {
	switch {
	case c.Count > h.Count:
		return Q5Hot{c.Count, []int64{c.Auction}}
	case c.Count == h.Count:
		// A new slice: the stored one may be in a snapshot being written.
		return Q5Hot{h.Count, append(slices.Clip(h.Auctions), c.Auction)}
	}
	return h
}

func (Q5Hottest) GetResult(h Q5Hot) Q5Hot { return h }

// Q5 is hot items: for every sliding window of 10 s every 2 s, the
// auctions with the most bids. The first stage counts the bids per auction
// and window (keyed by auction, an accumulator per auction and window);
// the second, keyed by window, keeps the highest count and its auctions as
// the counts of the window come, and emits them once the watermark passes
// the window.
func Q5(events *stream.DataStream[Event], cfg Config) *stream.DataStream[Q5Row] {
	bids := stream.Map(stream.Filter(eventTimes(events, cfg, "Q5 Timestamps"), IsBid).Name("Q5 Bids"), Q5Project).Name("Q5 Project")
	sliding := stream.SlidingEventTimeWindows(Q5WindowSize*time.Millisecond, Q5WindowSlide*time.Millisecond)
	counts := stream.WindowAggregateProcess(stream.Window(stream.KeyBy(stream.WithTimestamps(bids, q5BidTime), q5Auction), sliding), Q5BidCount{},
		func(ctx *stream.WindowContext[int64], n []int64, out stream.Collector[Q5Count]) error {
			w := ctx.Window()
			out.Collect(Q5Count{w.Start, w.End, ctx.Key(), n[0]})
			return nil
		}).Name("Q5 Count").UID("nexmark-q5-count")
	// The counts of window [s, s+10 s) have the timestamp s+10 s-1, in the
	// tumbling window [s+8 s, s+10 s) of one slide: only theirs.
	perWindow := stream.Window(stream.KeyBy(stream.WithTimestamps(counts, q5CountTime), q5CountWindow),
		stream.TumblingEventTimeWindows(Q5WindowSlide*time.Millisecond))
	return stream.WindowAggregateProcess(perWindow, Q5Hottest{},
		func(ctx *stream.WindowContext[int64], hot []Q5Hot, out stream.Collector[Q5Row]) error {
			start := ctx.Key()
			for _, a := range hot[0].Auctions {
				out.Collect(Q5Row{start, start + Q5WindowSize, a, hot[0].Count})
			}
			return nil
		}).Name("Q5 Hottest").UID("nexmark-q5-hottest")
}

// Q7Partitions is how many keys q7's first stage spreads the bids over, to
// find each window's highest bids in parallel before one key per window
// combines them.
const Q7Partitions = 64

// Q7Top is the highest price of a window so far and the bids at it; with
// the window's end once the first stage has emitted it.
type Q7Top struct {
	WindowEnd int64
	Price     int64
	Bids      []Q7Row
}

// Q7Project is q7's projection of a bid event.
func Q7Project(e Event) Q7Row {
	b := &e.Bid
	return Q7Row{b.Auction, b.Price, b.Bidder, b.DateTime, b.Extra}
}

func q7BidTime(r Q7Row) int64      { return r.DateTime }
func q7Partition(r Q7Row) int64    { return r.Auction % Q7Partitions }
func q7TopTime(t Q7Top) int64      { return t.WindowEnd - 1 }
func q7TopWindow(t Q7Top) int64    { return t.WindowEnd }
func (t Q7Top) empty() bool        { return t.Bids == nil }
func (t Q7Top) beats(p int64) bool { return t.empty() || p > t.Price }

// Q7Highest keeps the bids with the highest price.
type Q7Highest struct{}

func (Q7Highest) CreateAccumulator() Q7Top { return Q7Top{} }

func (Q7Highest) Add(r Q7Row, t Q7Top) Q7Top {
	switch {
	case t.beats(r.Price):
		return Q7Top{Price: r.Price, Bids: []Q7Row{r}}
	case r.Price == t.Price:
		// A new slice: the stored one may be in a snapshot being written.
		return Q7Top{Price: t.Price, Bids: append(slices.Clip(t.Bids), r)}
	}
	return t
}

func (Q7Highest) GetResult(t Q7Top) Q7Top { return t }

// Q7Combine combines the highest bids of a window's partitions.
type Q7Combine struct{}

func (Q7Combine) CreateAccumulator() Q7Top { return Q7Top{} }

func (Q7Combine) Add(in Q7Top, t Q7Top) Q7Top {
	switch {
	case t.beats(in.Price):
		return Q7Top{Price: in.Price, Bids: in.Bids}
	case in.Price == t.Price:
		return Q7Top{Price: t.Price, Bids: slices.Concat(t.Bids, in.Bids)}
	}
	return t
}

func (Q7Combine) GetResult(t Q7Top) Q7Top { return t }

// Q7 is highest bid: per tumbling 10 s window, the bids with the highest
// price. The first stage finds the highest bids of each window per
// partition of the auctions (Q7Partitions keys); the second, keyed by
// window, combines the partitions' and emits the window's once the
// watermark passes it.
func Q7(events *stream.DataStream[Event], cfg Config) *stream.DataStream[Q7Row] {
	bids := stream.Map(stream.Filter(eventTimes(events, cfg, "Q7 Timestamps"), IsBid).Name("Q7 Bids"), Q7Project).Name("Q7 Project")
	tumbling := stream.TumblingEventTimeWindows(Q7WindowSize * time.Millisecond)
	tops := stream.WindowAggregateProcess(stream.Window(stream.KeyBy(stream.WithTimestamps(bids, q7BidTime), q7Partition), tumbling), Q7Highest{},
		func(ctx *stream.WindowContext[int64], t []Q7Top, out stream.Collector[Q7Top]) error {
			out.Collect(Q7Top{WindowEnd: ctx.Window().End, Price: t[0].Price, Bids: t[0].Bids})
			return nil
		}).Name("Q7 PartitionHighest").UID("nexmark-q7-partition-highest")
	perWindow := stream.Window(stream.KeyBy(stream.WithTimestamps(tops, q7TopTime), q7TopWindow), tumbling)
	return stream.WindowAggregateProcess(perWindow, Q7Combine{},
		func(_ *stream.WindowContext[int64], t []Q7Top, out stream.Collector[Q7Row]) error {
			for _, r := range t[0].Bids {
				out.Collect(r)
			}
			return nil
		}).Name("Q7 Highest").UID("nexmark-q7-highest")
}
