package nexmark

import (
	"cmp"
	"iter"
	"maps"
	"slices"
)

// The reference implementations: plain, single-goroutine Go over a
// sequence of events, independent of package stream, each returning the
// query's result sorted. A bounded run of a windowed query fires every
// window at the end, so the windowed references simply group the events by
// window (event time, the event's DateTime), with no watermark.

// Window sizes of the windowed queries, in ms.
const (
	Q5WindowSize  = 10_000 // q5: sliding windows of 10 s ...
	Q5WindowSlide = 2_000  // ... every 2 s
	Q7WindowSize  = 10_000 // q7: tumbling windows of 10 s
	Q8WindowSize  = 10_000 // q8: tumbling windows of 10 s
)

// Q2AuctionSkip is q2's selection: bids of auctions whose id is a multiple
// of it.
const Q2AuctionSkip = 123

// Q3States are the states q3 selects sellers from; Q3Category the category
// of the auctions it selects.
var Q3States = []string{"OR", "ID", "CA"}

const Q3Category = 10

// ReferenceQ0 is q0, pass-through: every bid.
func ReferenceQ0(events iter.Seq[Event]) []Bid {
	var out []Bid
	for e := range events {
		if e.Kind == BidKind {
			out = append(out, e.Bid)
		}
	}
	slices.SortFunc(out, compareBids)
	return out
}

// ReferenceQ1 is q1, currency conversion: every bid with its price in
// euros (DollarsToEuros).
func ReferenceQ1(events iter.Seq[Event]) []Bid {
	var out []Bid
	for e := range events {
		if e.Kind == BidKind {
			b := e.Bid
			b.Price = b.Price * 908 / 1000
			out = append(out, b)
		}
	}
	slices.SortFunc(out, compareBids)
	return out
}

// ReferenceQ2 is q2, selection: (auction, price) of the bids of auctions
// whose id is a multiple of 123.
func ReferenceQ2(events iter.Seq[Event]) []Q2Row {
	var out []Q2Row
	for e := range events {
		if e.Kind == BidKind && e.Bid.Auction%Q2AuctionSkip == 0 {
			out = append(out, Q2Row{e.Bid.Auction, e.Bid.Price})
		}
	}
	slices.SortFunc(out, func(a, b Q2Row) int { return cmp.Or(cmpInt(a.Auction, b.Auction), cmpInt(a.Price, b.Price)) })
	return out
}

// ReferenceQ3 is q3, local item suggestion: the auctions of category 10
// joined with their sellers, when the seller lives in OR, ID or CA.
func ReferenceQ3(events iter.Seq[Event]) []Q3Row {
	persons := map[int64]Person{}
	var auctions []Auction
	for e := range events {
		switch {
		case e.Kind == PersonKind && slices.Contains(Q3States, e.Person.State):
			persons[e.Person.ID] = e.Person
		case e.Kind == AuctionKind && e.Auction.Category == Q3Category:
			auctions = append(auctions, e.Auction)
		}
	}
	var out []Q3Row
	for _, a := range auctions {
		if p, ok := persons[a.Seller]; ok {
			out = append(out, Q3Row{p.Name, p.City, p.State, a.ID})
		}
	}
	slices.SortFunc(out, compareQ3)
	return out
}

// ReferenceQ4 is q4, average price per category: the winning bid of an
// auction is its highest bid with DateTime in [auction.DateTime,
// auction.Expires]; per category, the average of the winning bids of the
// auctions that have one, in integer cents (sum / count, truncated, as
// Flink's AVG of a BIGINT). Sorted by category.
func ReferenceQ4(events iter.Seq[Event]) []Q4Row {
	auctions := map[int64]Auction{}
	var bids []Bid
	for e := range events {
		switch e.Kind {
		case AuctionKind:
			auctions[e.Auction.ID] = e.Auction
		case BidKind:
			bids = append(bids, e.Bid)
		}
	}
	best := map[int64]int64{}
	for _, b := range bids {
		a, ok := auctions[b.Auction]
		if !ok || b.DateTime < a.DateTime || b.DateTime > a.Expires {
			continue
		}
		if p, ok := best[b.Auction]; !ok || b.Price > p {
			best[b.Auction] = b.Price
		}
	}
	sum, count := map[int64]int64{}, map[int64]int64{}
	for id, p := range best {
		c := auctions[id].Category
		sum[c] += p
		count[c]++
	}
	var out []Q4Row
	for _, c := range slices.Sorted(maps.Keys(count)) {
		out = append(out, Q4Row{Category: c, Avg: sum[c] / count[c]})
	}
	return out
}

// ReferenceQ5 is q5, hot items: for every sliding window of 10 s every 2 s
// (starts at multiples of 2 s, [start, start+10 s)), the auction(s) with the
// most bids in it.
func ReferenceQ5(events iter.Seq[Event]) []Q5Row {
	type key struct{ start, auction int64 }
	counts := map[key]int64{}
	for e := range events {
		if e.Kind != BidKind {
			continue
		}
		for start := range slidingWindows(e.Bid.DateTime, Q5WindowSize, Q5WindowSlide) {
			counts[key{start, e.Bid.Auction}]++
		}
	}
	most := map[int64]int64{}
	for k, c := range counts {
		most[k.start] = max(most[k.start], c)
	}
	var out []Q5Row
	for k, c := range counts {
		if c == most[k.start] {
			out = append(out, Q5Row{k.start, k.start + Q5WindowSize, k.auction, c})
		}
	}
	slices.SortFunc(out, compareQ5)
	return out
}

// ReferenceQ7 is q7, highest bid: per tumbling 10 s window [start,
// start+10 s), the bids whose price is the window's highest.
func ReferenceQ7(events iter.Seq[Event]) []Q7Row {
	highest := map[int64]int64{}
	var bids []Bid
	for e := range events {
		if e.Kind != BidKind {
			continue
		}
		w := windowStart(e.Bid.DateTime, Q7WindowSize)
		if p, ok := highest[w]; !ok || e.Bid.Price > p {
			highest[w] = e.Bid.Price
		}
		bids = append(bids, e.Bid)
	}
	var out []Q7Row
	for _, b := range bids {
		if b.Price == highest[windowStart(b.DateTime, Q7WindowSize)] {
			out = append(out, Q7Row{b.Auction, b.Price, b.Bidder, b.DateTime, b.Extra})
		}
	}
	slices.SortFunc(out, compareQ7)
	return out
}

// ReferenceQ8 is q8, monitor new users: the persons who created an auction
// in the tumbling 10 s window in which they registered, once per person and
// window.
func ReferenceQ8(events iter.Seq[Event]) []Q8Row {
	type key struct{ id, start int64 }
	persons := map[key]string{}
	sellers := map[key]bool{}
	for e := range events {
		switch e.Kind {
		case PersonKind:
			persons[key{e.Person.ID, windowStart(e.Person.DateTime, Q8WindowSize)}] = e.Person.Name
		case AuctionKind:
			sellers[key{e.Auction.Seller, windowStart(e.Auction.DateTime, Q8WindowSize)}] = true
		}
	}
	var out []Q8Row
	for k, name := range persons {
		if sellers[k] {
			out = append(out, Q8Row{k.id, name, k.start})
		}
	}
	slices.SortFunc(out, compareQ8)
	return out
}

// windowStart is the start of the tumbling window of size containing t.
func windowStart(t, size int64) int64 { return t - mod(t, size) }

// slidingWindows yields the starts of the sliding windows of size every
// slide that contain t, latest first.
func slidingWindows(t, size, slide int64) iter.Seq[int64] {
	return func(yield func(int64) bool) {
		for start := t - mod(t, slide); start > t-size; start -= slide {
			if !yield(start) {
				return
			}
		}
	}
}

// mod is the floor modulo, non-negative for a positive m.
func mod(t, m int64) int64 {
	r := t % m
	if r < 0 {
		r += m
	}
	return r
}

func cmpInt(a, b int64) int { return cmp.Compare(a, b) }

func compareBids(a, b Bid) int {
	return cmp.Or(cmpInt(a.Auction, b.Auction), cmpInt(a.Bidder, b.Bidder), cmpInt(a.Price, b.Price),
		cmpInt(a.DateTime, b.DateTime), cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.URL, b.URL), cmp.Compare(a.Extra, b.Extra))
}

func compareQ3(a, b Q3Row) int {
	return cmp.Or(cmpInt(a.Auction, b.Auction), cmp.Compare(a.Name, b.Name), cmp.Compare(a.City, b.City), cmp.Compare(a.State, b.State))
}

func compareQ5(a, b Q5Row) int {
	return cmp.Or(cmpInt(a.WindowStart, b.WindowStart), cmpInt(a.Auction, b.Auction), cmpInt(a.Count, b.Count))
}

func compareQ7(a, b Q7Row) int {
	return cmp.Or(cmpInt(a.DateTime, b.DateTime), cmpInt(a.Auction, b.Auction), cmpInt(a.Bidder, b.Bidder),
		cmpInt(a.Price, b.Price), cmp.Compare(a.Extra, b.Extra))
}

func compareQ8(a, b Q8Row) int {
	return cmp.Or(cmpInt(a.WindowStart, b.WindowStart), cmpInt(a.ID, b.ID), cmp.Compare(a.Name, b.Name))
}
