package nexmark

import (
	"slices"
	"testing"
)

// Hand-built events for the reference self-checks; times are offsets from
// base, which is a multiple of every window size and slide.
const base = DefaultBaseTime

func person(id int64, name, state string, at int64) Event {
	return Event{Kind: PersonKind, Person: Person{ID: id, Name: name, City: "City of " + name, State: state, DateTime: base + at}}
}

func auction(id, seller, category, at, expires int64) Event {
	return Event{Kind: AuctionKind, Auction: Auction{ID: id, Seller: seller, Category: category, DateTime: base + at, Expires: base + expires}}
}

func bid(auction, bidder, price, at int64) Event {
	return Event{Kind: BidKind, Bid: Bid{Auction: auction, Bidder: bidder, Price: price, DateTime: base + at}}
}

func checkRows[T comparable](t *testing.T, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestReferenceQ0(t *testing.T) {
	events := []Event{bid(2, 1, 10, 5), person(1, "A", "OR", 0), auction(2, 1, 10, 0, 100), bid(1, 1, 20, 3)}
	checkRows(t, ReferenceQ0(slices.Values(events)), []Bid{events[3].Bid, events[0].Bid})
}

func TestReferenceQ1(t *testing.T) {
	events := []Event{bid(1, 1, 1000, 0), bid(2, 1, 1999, 0), bid(3, 1, 1, 0), person(1, "A", "OR", 0)}
	want := []Bid{events[0].Bid, events[1].Bid, events[2].Bid}
	want[0].Price, want[1].Price, want[2].Price = 908, 1815, 0
	checkRows(t, ReferenceQ1(slices.Values(events)), want)
	for i, e := range events[:3] {
		if got := ToEuros(e); got != want[i] {
			t.Fatalf("ToEuros(%v) = %v, want %v", e, got, want[i])
		}
	}
}

func TestReferenceQ2(t *testing.T) {
	events := []Event{bid(246, 1, 7, 0), bid(123, 1, 5, 0), bid(124, 1, 6, 0), bid(0, 1, 8, 0), auction(123, 1, 10, 0, 1)}
	checkRows(t, ReferenceQ2(slices.Values(events)), []Q2Row{{0, 8}, {123, 5}, {246, 7}})
}

func TestReferenceQ3(t *testing.T) {
	events := []Event{
		auction(100, 3, 10, 0, 9), // before its seller
		person(1, "Ann", "OR", 0),
		person(2, "Bob", "WA", 0),
		person(3, "Cid", "CA", 0),
		person(4, "Dee", "ID", 0),
		auction(101, 1, 10, 0, 9),
		auction(102, 2, 10, 0, 9), // seller in WA
		auction(103, 3, 11, 0, 9), // category 11
		auction(104, 9, 10, 0, 9), // no such seller
		auction(105, 1, 10, 0, 9),
	}
	checkRows(t, ReferenceQ3(slices.Values(events)), []Q3Row{
		{"Cid", "City of Cid", "CA", 100}, {"Ann", "City of Ann", "OR", 101}, {"Ann", "City of Ann", "OR", 105},
	})
}

func TestReferenceQ4(t *testing.T) {
	events := []Event{
		bid(1, 9, 6, 1200), // before its auction in the stream, valid
		auction(1, 9, 10, 1000, 2000),
		bid(1, 9, 5, 1500),
		bid(1, 9, 9, 1999),
		bid(1, 9, 100, 2001), // after the auction expired
		bid(1, 9, 50, 999),   // before it opened
		auction(2, 9, 10, 1000, 3000),
		bid(2, 9, 4, 1000),       // at the opening: valid
		auction(3, 9, 11, 0, 10), // no bids
		auction(4, 9, 12, 0, 10),
		bid(4, 9, 7, 10),  // at the expiry: valid
		bid(5, 9, 70, 10), // no such auction
	}
	// Category 10: (9 + 4) / 2, truncated.
	checkRows(t, ReferenceQ4(slices.Values(events)), []Q4Row{{10, 6}, {12, 7}})
}

func TestReferenceQ5(t *testing.T) {
	events := []Event{bid(1, 9, 1, 0), bid(1, 9, 1, 1000), bid(2, 9, 1, 5000), bid(3, 9, 1, 9000), bid(2, 9, 1, 11000), person(1, "A", "OR", 3000)}
	row := func(start, auction, count int64) Q5Row {
		return Q5Row{base + start, base + start + Q5WindowSize, auction, count}
	}
	checkRows(t, ReferenceQ5(slices.Values(events)), []Q5Row{
		row(-8000, 1, 2), row(-6000, 1, 2), row(-4000, 1, 2), row(-2000, 1, 2), row(0, 1, 2),
		row(2000, 2, 2), row(4000, 2, 2),
		row(6000, 2, 1), row(6000, 3, 1), // a tie
		row(8000, 2, 1), row(8000, 3, 1),
		row(10000, 2, 1),
	})
}

func TestReferenceQ7(t *testing.T) {
	events := []Event{bid(1, 9, 5, 0), bid(2, 8, 9, 3000), bid(3, 7, 9, 9999), bid(4, 6, 3, 10000), bid(5, 5, 2, 19999), bid(6, 4, 1, 25000)}
	checkRows(t, ReferenceQ7(slices.Values(events)), []Q7Row{
		{2, 9, 8, base + 3000, ""}, {3, 9, 7, base + 9999, ""}, // a tie in [0, 10 s)
		{4, 3, 6, base + 10000, ""},
		{6, 1, 4, base + 25000, ""},
	})
}

func TestReferenceQ8(t *testing.T) {
	events := []Event{
		person(1, "Ann", "OR", 1000),
		person(2, "Bob", "OR", 2000),
		person(3, "Cid", "OR", 9000),
		auction(10, 1, 10, 5000, 6000),
		auction(11, 1, 10, 6000, 7000),   // Ann again: one row
		auction(12, 2, 10, 10000, 11000), // Bob, the next window
		auction(13, 3, 10, 9999, 10500),
		auction(14, 4, 10, 11000, 12000), // before Dee registers, same window
		person(4, "Dee", "OR", 12000),
		person(5, "Eve", "OR", 13000), // no auction
	}
	checkRows(t, ReferenceQ8(slices.Values(events)), []Q8Row{{1, "Ann", base}, {3, "Cid", base}, {4, "Dee", base + 10000}})
}
