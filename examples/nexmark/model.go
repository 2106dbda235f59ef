package nexmark

import "fmt"

// Person is a new user of the auction site.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     int64 // event time, ms since the Unix epoch
	Extra        string
}

// Auction is a new item for sale. It is open from DateTime to Expires.
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64 // cents
	Reserve     int64 // cents
	DateTime    int64 // event time, ms since the Unix epoch
	Expires     int64 // ms since the Unix epoch, after DateTime
	Seller      int64 // a Person.ID
	Category    int64
	Extra       string
}

// Bid is a bid for an auction.
type Bid struct {
	Auction  int64 // an Auction.ID
	Bidder   int64 // a Person.ID
	Price    int64 // cents (dollars in the generator, euros after Q1)
	Channel  string
	URL      string
	DateTime int64 // event time, ms since the Unix epoch
	Extra    string
}

// EventKind says which of an Event's fields holds the event.
type EventKind uint8

// The kinds of events. The zero EventKind is no event.
const (
	PersonKind EventKind = iota + 1
	AuctionKind
	BidKind
)

func (k EventKind) String() string {
	switch k {
	case PersonKind:
		return "person"
	case AuctionKind:
		return "auction"
	case BidKind:
		return "bid"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one Nexmark event: Kind says which of Person, Auction and Bid
// it is; the other two are zero. All three are values, not pointers, so that
// an Event is a plain struct that package stream/codec encodes without a
// registered codec, and generating one allocates nothing.
type Event struct {
	Kind    EventKind
	Person  Person
	Auction Auction
	Bid     Bid
}

// DateTime returns the event's event time (ms since the Unix epoch).
func (e Event) DateTime() int64 {
	switch e.Kind {
	case PersonKind:
		return e.Person.DateTime
	case AuctionKind:
		return e.Auction.DateTime
	}
	return e.Bid.DateTime
}

func (e Event) String() string {
	switch e.Kind {
	case PersonKind:
		return fmt.Sprintf("person%+v", e.Person)
	case AuctionKind:
		return fmt.Sprintf("auction%+v", e.Auction)
	case BidKind:
		return fmt.Sprintf("bid%+v", e.Bid)
	}
	return fmt.Sprintf("event{Kind:%v}", e.Kind)
}

// Result rows of the queries. Bid is the row of q0 and q1.
type (
	// Q2Row is a bid of an auction whose id is a multiple of 123.
	Q2Row struct {
		Auction int64
		Price   int64
	}

	// Q3Row is an auction of category 10 by a seller from OR, ID or CA.
	Q3Row struct {
		Name    string
		City    string
		State   string
		Auction int64
	}

	// Q4Row is the average winning price (cents, integer division) of the
	// closed auctions of a category. The stream query emits one after
	// every change; the last one of each category is the result.
	Q4Row struct {
		Category int64
		Avg      int64
	}

	// Q5Row is an auction with the most bids in the sliding window
	// [WindowStart, WindowEnd); ties give several rows.
	Q5Row struct {
		WindowStart int64
		WindowEnd   int64
		Auction     int64
		Count       int64
	}

	// Q7Row is a bid with the highest price of its tumbling 10 s window.
	Q7Row struct {
		Auction  int64
		Price    int64
		Bidder   int64
		DateTime int64
		Extra    string
	}

	// Q8Row is a person who created an auction in the tumbling 10 s window
	// (starting at WindowStart) in which they registered.
	Q8Row struct {
		ID          int64
		Name        string
		WindowStart int64
	}
)

// WinningBid is what q4's first stage emits when the best valid bid of an
// auction changes: the new price and, unless First, the price it replaces.
type WinningBid struct {
	Auction  int64
	Category int64
	Price    int64
	Previous int64
	First    bool
}
