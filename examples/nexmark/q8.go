package nexmark

import (
	"time"

	"github.com/sluicehq/sluice/stream"
)

// q8, monitor new users: per tumbling 10 s window, the persons who
// registered in it and created an auction in it. Flink's Nexmark SQL joins
// the persons and the sellers of auctions, each grouped by tumbling window,
// on id = seller and window start; here it is a window co-group of the two
// keyed streams, persons by id and auctions by seller.

// Q8Person is what q8 keeps of a person: projected before the shuffle, so
// only this crosses it.
type Q8Person struct {
	ID       int64
	Name     string
	DateTime int64
}

// Q8Seller is what q8 keeps of an auction: its seller and its time.
type Q8Seller struct {
	Seller   int64
	DateTime int64
}

// IsPerson keeps persons.
func IsPerson(e Event) bool { return e.Kind == PersonKind }

// IsAuction keeps auctions.
func IsAuction(e Event) bool { return e.Kind == AuctionKind }

// Q8PersonOf projects a person event.
func Q8PersonOf(e Event) Q8Person {
	return Q8Person{ID: e.Person.ID, Name: e.Person.Name, DateTime: e.Person.DateTime}
}

// Q8SellerOf projects an auction event on its seller.
func Q8SellerOf(e Event) Q8Seller {
	return Q8Seller{Seller: e.Auction.Seller, DateTime: e.Auction.DateTime}
}

// Q8Emit is q8's window function, called per person id (the key) and
// window with the key's persons and the auctions it sold in the window:
// one row for the person if it sold any, whatever the number of auctions
// (a person registers once; should an id come twice, the last name wins,
// as in ReferenceQ8).
func Q8Emit(w stream.TimeWindow, persons []Q8Person, auctions []Q8Seller, out stream.Collector[Q8Row]) {
	if len(persons) == 0 || len(auctions) == 0 {
		return
	}
	p := persons[len(persons)-1]
	out.Collect(Q8Row{ID: p.ID, Name: p.Name, WindowStart: w.Start})
}

// Q8 is the persons who created an auction in the tumbling 10 s window in
// which they registered. The watermark generator goes on the event stream,
// before it splits, so both branches carry its watermarks (a generator per
// branch would do too, at twice the cost); the projections keep the
// events' times, given back to them with WithTimestamps after Map.
func Q8(events *stream.DataStream[Event], cfg Config) *stream.DataStream[Q8Row] {
	stamped := stream.AssignTimestampsAndWatermarks(events,
		stream.ForBoundedOutOfOrderness(time.Duration(cfg.MaxOutOfOrderness())*time.Millisecond, Event.DateTime))
	persons := stream.WithTimestamps(
		stream.Map(stream.Filter(stamped, IsPerson).Name("Q8 Persons"), Q8PersonOf).Name("Q8 ProjectPersons"),
		func(p Q8Person) int64 { return p.DateTime })
	sellers := stream.WithTimestamps(
		stream.Map(stream.Filter(stamped, IsAuction).Name("Q8 Auctions"), Q8SellerOf).Name("Q8 ProjectSellers"),
		func(s Q8Seller) int64 { return s.DateTime })
	return stream.CoGroupWindow(
		stream.KeyBy(persons, func(p Q8Person) int64 { return p.ID }),
		stream.KeyBy(sellers, func(s Q8Seller) int64 { return s.Seller }),
		stream.TumblingEventTimeWindows(Q8WindowSize*time.Millisecond), Q8Emit).Name("Q8 Join").UID("nexmark-q8-join")
}
