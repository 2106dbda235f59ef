package nexmark

import (
	"github.com/sluicehq/sluice/stream"
)

// The user functions of the stream queries. The plain loops call the very
// same functions, so that a benchmark ratio compares the runtime's overhead
// with straight Go, not different code.

// IsBid keeps bids.
func IsBid(e Event) bool { return e.Kind == BidKind }

// BidOf projects a bid event on its bid.
func BidOf(e Event) Bid { return e.Bid }

// DollarsToEuros converts a price in dollar cents to euro cents at 0.908
// euros per dollar, as q1's `0.908 * price`, in integer arithmetic:
// price*908/1000, truncated.
func DollarsToEuros(cents int64) int64 { return cents * 908 / 1000 }

// ToEuros is q1's map: the bid of a bid event with its price in euros.
func ToEuros(e Event) Bid {
	b := e.Bid
	b.Price = DollarsToEuros(b.Price)
	return b
}

// IsQ2Bid is q2's filter: bids of auctions whose id is a multiple of 123.
func IsQ2Bid(e Event) bool { return e.Kind == BidKind && e.Bid.Auction%Q2AuctionSkip == 0 }

// Q2Project is q2's projection.
func Q2Project(e Event) Q2Row { return Q2Row{Auction: e.Bid.Auction, Price: e.Bid.Price} }

// Q0 is the pass-through query: every bid.
func Q0(events *stream.DataStream[Event]) *stream.DataStream[Bid] {
	return stream.Map(stream.Filter(events, IsBid).Name("Q0 Bids"), BidOf).Name("Q0 PassThrough")
}

// Q1 converts every bid's price from dollars to euros.
func Q1(events *stream.DataStream[Event]) *stream.DataStream[Bid] {
	return stream.Map(stream.Filter(events, IsBid).Name("Q1 Bids"), ToEuros).Name("Q1 ToEuros")
}

// Q2 selects the bids of every 123rd auction.
func Q2(events *stream.DataStream[Event]) *stream.DataStream[Q2Row] {
	return stream.Map(stream.Filter(events, IsQ2Bid).Name("Q2 Select"), Q2Project).Name("Q2 Project")
}

// Q3Side is one side of q3's join, projected before the shuffle so that
// only what the join needs crosses it: a selected person (Person true; Key
// is its id) or a selected auction (Key is its seller).
type Q3Side struct {
	Person  bool
	Key     int64
	Auction int64
	Name    string
	City    string
	State   string
}

// Q3Select is q3's selection and projection: persons from OR, ID or CA,
// auctions of category 10.
func Q3Select(e Event, out stream.Collector[Q3Side]) {
	switch e.Kind {
	case PersonKind:
		if s := e.Person.State; s == "OR" || s == "ID" || s == "CA" {
			out.Collect(Q3Side{Person: true, Key: e.Person.ID, Name: e.Person.Name, City: e.Person.City, State: s})
		}
	case AuctionKind:
		if e.Auction.Category == Q3Category {
			out.Collect(Q3Side{Key: e.Auction.Seller, Auction: e.Auction.ID})
		}
	}
}

// Q3Key is q3's join key: person id = seller.
func Q3Key(s Q3Side) int64 { return s.Key }

// Q3 joins the selected auctions with their selected sellers, incrementally:
// a row is emitted as soon as both an auction and its seller have been seen.
func Q3(events *stream.DataStream[Event]) *stream.DataStream[Q3Row] {
	sides := stream.FlatMap(events, Q3Select).Name("Q3 Select")
	return stream.Process(stream.KeyBy(sides, Q3Key), NewQ3Join).Name("Q3 Join").UID("nexmark-q3-join")
}

// Q3Seller is what q3's join keeps of a seller.
type Q3Seller struct{ Name, City, State string }

// Q3Join is q3's join, per seller id: it keeps the seller once seen, and
// the ids of the seller's auctions seen before the seller.
type Q3Join struct {
	seller  stream.ValueState[Q3Seller]
	pending stream.ListState[int64]
}

// NewQ3Join returns a Q3Join.
func NewQ3Join() stream.KeyedProcessFunction[int64, Q3Side, Q3Row] { return &Q3Join{} }

func (j *Q3Join) Open(ctx *stream.OpenContext[int64]) (err error) {
	if j.seller, err = stream.NewValueState[Q3Seller](ctx, "seller"); err != nil {
		return err
	}
	j.pending, err = stream.NewListState[int64](ctx, "pending-auctions")
	return err
}

func (j *Q3Join) ProcessElement(_ *stream.Context[int64], in Q3Side, out stream.Collector[Q3Row]) error {
	if in.Person {
		j.seller.Set(Q3Seller{in.Name, in.City, in.State})
		for _, a := range j.pending.Get() {
			out.Collect(Q3Row{in.Name, in.City, in.State, a})
		}
		j.pending.Clear()
		return nil
	}
	if s, ok := j.seller.Get(); ok {
		out.Collect(Q3Row{s.Name, s.City, s.State, in.Auction})
	} else {
		j.pending.Add(in.Auction)
	}
	return nil
}

// Q4Side is one side of q4's join, projected before the shuffle: an
// auction (IsAuction; with Category, DateTime and Expires) or a bid (Price,
// DateTime) of auction Auction.
type Q4Side struct {
	IsAuction bool
	Auction   int64
	Category  int64
	DateTime  int64
	Expires   int64
	Price     int64
}

// Q4Select is q4's projection of auctions and bids.
func Q4Select(e Event, out stream.Collector[Q4Side]) {
	switch e.Kind {
	case AuctionKind:
		a := &e.Auction
		out.Collect(Q4Side{IsAuction: true, Auction: a.ID, Category: a.Category, DateTime: a.DateTime, Expires: a.Expires})
	case BidKind:
		out.Collect(Q4Side{Auction: e.Bid.Auction, DateTime: e.Bid.DateTime, Price: e.Bid.Price})
	}
}

// Q4Auction is q4's join key.
func Q4Auction(s Q4Side) int64 { return s.Auction }

// Q4Category is the key of q4's average.
func Q4Category(w WinningBid) int64 { return w.Category }

// Q4 is the average winning price per category, as an updating stream: a
// Q4Row each time a category's average may have changed; the last row of
// each category is the result (FinalQ4). It needs no windows or event-time
// timers: q4 is a regular (unwindowed) join and aggregation in Nexmark, and
// a bid's validity depends only on its auction's DateTime and Expires. Bids
// that arrive before their auction wait in state for it.
func Q4(events *stream.DataStream[Event]) *stream.DataStream[Q4Row] {
	sides := stream.FlatMap(events, Q4Select).Name("Q4 Select")
	winning := stream.Process(stream.KeyBy(sides, Q4Auction), NewQ4Winning).Name("Q4 WinningBids").UID("nexmark-q4-winning")
	return stream.Process(stream.KeyBy(winning, Q4Category), NewQ4Average).Name("Q4 Average").UID("nexmark-q4-average")
}

// Q4Open is what q4 keeps of an auction.
type Q4Open struct{ Category, DateTime, Expires int64 }

// Q4Bid is a bid waiting for its auction.
type Q4Bid struct{ Price, DateTime int64 }

// Q4Winning keeps, per auction, the auction and its best valid bid, and
// emits a WinningBid whenever the best bid changes.
type Q4Winning struct {
	auction stream.ValueState[Q4Open]
	best    stream.ValueState[int64]
	pending stream.ListState[Q4Bid]
}

// NewQ4Winning returns a Q4Winning.
func NewQ4Winning() stream.KeyedProcessFunction[int64, Q4Side, WinningBid] { return &Q4Winning{} }

func (w *Q4Winning) Open(ctx *stream.OpenContext[int64]) (err error) {
	if w.auction, err = stream.NewValueState[Q4Open](ctx, "auction"); err != nil {
		return err
	}
	if w.best, err = stream.NewValueState[int64](ctx, "best"); err != nil {
		return err
	}
	w.pending, err = stream.NewListState[Q4Bid](ctx, "pending-bids")
	return err
}

func (w *Q4Winning) ProcessElement(ctx *stream.Context[int64], in Q4Side, out stream.Collector[WinningBid]) error {
	if in.IsAuction {
		a := Q4Open{in.Category, in.DateTime, in.Expires}
		w.auction.Set(a)
		best, found := int64(0), false
		for _, b := range w.pending.Get() {
			if b.DateTime >= a.DateTime && b.DateTime <= a.Expires && (!found || b.Price > best) {
				best, found = b.Price, true
			}
		}
		w.pending.Clear()
		if found {
			w.best.Set(best)
			out.Collect(WinningBid{Auction: in.Auction, Category: a.Category, Price: best, First: true})
		}
		return nil
	}
	a, ok := w.auction.Get()
	if !ok {
		w.pending.Add(Q4Bid{in.Price, in.DateTime})
		return nil
	}
	if in.DateTime < a.DateTime || in.DateTime > a.Expires {
		return nil
	}
	best, had := w.best.Get()
	if had && in.Price <= best {
		return nil
	}
	w.best.Set(in.Price)
	out.Collect(WinningBid{Auction: in.Auction, Category: a.Category, Price: in.Price, Previous: best, First: !had})
	return nil
}

// Q4Sum is q4's running sum and count of winning prices of a category.
type Q4Sum struct{ Sum, Count int64 }

// Add applies a winning-bid change.
func (s Q4Sum) Add(w WinningBid) Q4Sum {
	if w.First {
		return Q4Sum{s.Sum + w.Price, s.Count + 1}
	}
	return Q4Sum{s.Sum + w.Price - w.Previous, s.Count}
}

// Q4Average keeps each category's Q4Sum and emits its average after every
// change.
type Q4Average struct{ sum stream.ValueState[Q4Sum] }

// NewQ4Average returns a Q4Average.
func NewQ4Average() stream.KeyedProcessFunction[int64, WinningBid, Q4Row] { return &Q4Average{} }

func (a *Q4Average) Open(ctx *stream.OpenContext[int64]) (err error) {
	a.sum, err = stream.NewValueState[Q4Sum](ctx, "sum")
	return err
}

func (a *Q4Average) ProcessElement(ctx *stream.Context[int64], in WinningBid, out stream.Collector[Q4Row]) error {
	s, _ := a.sum.Get()
	s = s.Add(in)
	a.sum.Set(s)
	out.Collect(Q4Row{Category: in.Category, Avg: s.Sum / s.Count})
	return nil
}
