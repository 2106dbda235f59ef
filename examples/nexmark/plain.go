package nexmark

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// The plain loops: each query as one single-goroutine Go loop that
// generates cfg's events (cfg.Events of them, which must be positive) with
// the Generator and computes the query with maps, calling emit for every
// row. The stateless and keyed queries call the same user functions as the
// stream queries. The windowed ones (q5, q7, q8) work as a streaming engine
// would: they keep the open windows, follow a bounded-out-of-orderness
// watermark (the latest event time minus cfg.MaxOutOfOrderness(), minus 1
// ms, as Flink's), fire a window once the watermark reaches its end, and
// fire the rest when the input ends. They are the baselines of the
// benchmark ratios.

func plainEvents(cfg Config) (*Generator, int64) {
	if cfg.Events <= 0 {
		panic(fmt.Sprintf("nexmark plain loop: %d events; it needs a bounded Config", cfg.Events))
	}
	return NewGenerator(cfg), cfg.Events
}

// collectorFunc is a stream.Collector made of a function.
type collectorFunc[T any] func(T)

func (f collectorFunc[T]) Collect(v T) { f(v) }

// PlainQ0 is q0 as a plain loop.
func PlainQ0(cfg Config, emit func(Bid)) {
	g, n := plainEvents(cfg)
	for i := range n {
		if e := g.Event(i); IsBid(e) {
			emit(BidOf(e))
		}
	}
}

// PlainQ1 is q1 as a plain loop.
func PlainQ1(cfg Config, emit func(Bid)) {
	g, n := plainEvents(cfg)
	for i := range n {
		if e := g.Event(i); IsBid(e) {
			emit(ToEuros(e))
		}
	}
}

// PlainQ2 is q2 as a plain loop.
func PlainQ2(cfg Config, emit func(Q2Row)) {
	g, n := plainEvents(cfg)
	for i := range n {
		if e := g.Event(i); IsQ2Bid(e) {
			emit(Q2Project(e))
		}
	}
}

// PlainQ3 is q3 as a plain loop: the same selection and the same
// incremental join as Q3Join, with maps for its state.
func PlainQ3(cfg Config, emit func(Q3Row)) {
	g, n := plainEvents(cfg)
	sellers := map[int64]Q3Seller{}
	pending := map[int64][]int64{}
	join := collectorFunc[Q3Side](func(in Q3Side) {
		if in.Person {
			sellers[in.Key] = Q3Seller{in.Name, in.City, in.State}
			for _, a := range pending[in.Key] {
				emit(Q3Row{in.Name, in.City, in.State, a})
			}
			delete(pending, in.Key)
			return
		}
		if s, ok := sellers[in.Key]; ok {
			emit(Q3Row{s.Name, s.City, s.State, in.Auction})
		} else {
			pending[in.Key] = append(pending[in.Key], in.Auction)
		}
	})
	for i := range n {
		Q3Select(g.Event(i), join)
	}
}

// PlainQ4 is q4 as a plain loop: the same two stages as Q4Winning and
// Q4Average, with maps for their state; it emits the same updates.
func PlainQ4(cfg Config, emit func(Q4Row)) {
	g, n := plainEvents(cfg)
	auctions := map[int64]Q4Open{}
	best := map[int64]int64{}
	pending := map[int64][]Q4Bid{}
	sums := map[int64]Q4Sum{}
	average := func(w WinningBid) {
		s := sums[w.Category].Add(w)
		sums[w.Category] = s
		emit(Q4Row{Category: w.Category, Avg: s.Sum / s.Count})
	}
	winning := collectorFunc[Q4Side](func(in Q4Side) {
		if in.IsAuction {
			a := Q4Open{in.Category, in.DateTime, in.Expires}
			auctions[in.Auction] = a
			top, found := int64(0), false
			for _, b := range pending[in.Auction] {
				if b.DateTime >= a.DateTime && b.DateTime <= a.Expires && (!found || b.Price > top) {
					top, found = b.Price, true
				}
			}
			delete(pending, in.Auction)
			if found {
				best[in.Auction] = top
				average(WinningBid{Auction: in.Auction, Category: a.Category, Price: top, First: true})
			}
			return
		}
		a, ok := auctions[in.Auction]
		if !ok {
			pending[in.Auction] = append(pending[in.Auction], Q4Bid{in.Price, in.DateTime})
			return
		}
		if in.DateTime < a.DateTime || in.DateTime > a.Expires {
			return
		}
		top, had := best[in.Auction]
		if had && in.Price <= top {
			return
		}
		best[in.Auction] = in.Price
		average(WinningBid{Auction: in.Auction, Category: a.Category, Price: in.Price, Previous: top, First: !had})
	})
	for i := range n {
		Q4Select(g.Event(i), winning)
	}
}

// watermark follows the latest event time minus the out-of-orderness bound.
type watermark struct {
	latest, bound int64
}

func newWatermark(cfg Config) watermark {
	return watermark{latest: math.MinInt64 / 2, bound: cfg.MaxOutOfOrderness()}
}

// observe takes an event time and returns the watermark and whether it
// advanced.
func (w *watermark) observe(t int64) (int64, bool) {
	if t <= w.latest {
		return w.latest - w.bound - 1, false
	}
	w.latest = t
	return t - w.bound - 1, true
}

// windows holds the open windows of one size, each with a state S, by
// start.
type windows[S any] struct {
	size   int64
	open   map[int64]*S
	lowest int64 // the lowest open start; meaningless when none is open
	fresh  func() *S
	starts []int64
}

func newWindows[S any](size int64, fresh func() *S) *windows[S] {
	return &windows[S]{size: size, open: map[int64]*S{}, fresh: fresh}
}

// get returns the state of the window starting at start, opening it; a
// window the watermark wm has passed is late, which the out-of-orderness
// bound rules out.
func (w *windows[S]) get(start, wm int64) *S {
	if s, ok := w.open[start]; ok {
		return s
	}
	if start+w.size-1 <= wm {
		panic(fmt.Sprintf("nexmark: an event for the window at %d came after watermark %d passed it: the out-of-orderness bound does not hold", start, wm))
	}
	s := w.fresh()
	if len(w.open) == 0 || start < w.lowest {
		w.lowest = start
	}
	w.open[start] = s
	return s
}

// fire calls f for every window whose end the watermark wm has reached
// (end-1 <= wm), in start order, and drops them.
func (w *windows[S]) fire(wm int64, f func(start int64, s *S)) {
	if len(w.open) == 0 || w.lowest+w.size-1 > wm {
		return
	}
	w.starts = w.starts[:0]
	for start := range w.open {
		if start+w.size-1 <= wm {
			w.starts = append(w.starts, start)
		}
	}
	slices.Sort(w.starts)
	for _, start := range w.starts {
		f(start, w.open[start])
		delete(w.open, start)
	}
	w.lowest = math.MaxInt64
	for start := range w.open {
		w.lowest = min(w.lowest, start)
	}
}

// PlainQ5 is q5 as a plain loop: per open sliding window, a count per
// auction; a firing window emits its auctions with the highest count, in
// auction order.
func PlainQ5(cfg Config, emit func(Q5Row)) {
	g, n := plainEvents(cfg)
	wm := newWatermark(cfg)
	open := newWindows(Q5WindowSize, func() *map[int64]int64 { m := map[int64]int64{}; return &m })
	var top []int64
	fire := func(start int64, counts *map[int64]int64) {
		most := int64(0)
		top = top[:0]
		for a, c := range *counts {
			if c > most {
				most, top = c, append(top[:0], a)
			} else if c == most {
				top = append(top, a)
			}
		}
		slices.Sort(top)
		for _, a := range top {
			emit(Q5Row{start, start + Q5WindowSize, a, most})
		}
	}
	for i := range n {
		e := g.Event(i)
		w, advanced := wm.observe(e.DateTime())
		if advanced {
			open.fire(w, fire)
		}
		if e.Kind != BidKind {
			continue
		}
		for start := range slidingWindows(e.Bid.DateTime, Q5WindowSize, Q5WindowSlide) {
			(*open.get(start, w))[e.Bid.Auction]++
		}
	}
	open.fire(math.MaxInt64, fire)
}

// PlainQ7 is q7 as a plain loop: per open tumbling window, the highest
// price and the bids at that price so far.
func PlainQ7(cfg Config, emit func(Q7Row)) {
	g, n := plainEvents(cfg)
	type highest struct {
		price int64
		bids  []Q7Row
	}
	wm := newWatermark(cfg)
	open := newWindows(Q7WindowSize, func() *highest { return &highest{price: math.MinInt64} })
	fire := func(_ int64, h *highest) {
		for _, r := range h.bids {
			emit(r)
		}
	}
	for i := range n {
		e := g.Event(i)
		w, advanced := wm.observe(e.DateTime())
		if advanced {
			open.fire(w, fire)
		}
		if e.Kind != BidKind {
			continue
		}
		b := &e.Bid
		h := open.get(windowStart(b.DateTime, Q7WindowSize), w)
		if b.Price > h.price {
			h.price, h.bids = b.Price, h.bids[:0]
		}
		if b.Price == h.price {
			h.bids = append(h.bids, Q7Row{b.Auction, b.Price, b.Bidder, b.DateTime, b.Extra})
		}
	}
	open.fire(math.MaxInt64, fire)
}

// PlainQ8 is q8 as a plain loop: per open tumbling window, the persons who
// registered in it and the sellers of its auctions; a firing window emits
// the persons who are also sellers, in id order.
func PlainQ8(cfg Config, emit func(Q8Row)) {
	g, n := plainEvents(cfg)
	type window struct {
		persons map[int64]string
		sellers map[int64]bool
	}
	wm := newWatermark(cfg)
	open := newWindows(Q8WindowSize, func() *window { return &window{map[int64]string{}, map[int64]bool{}} })
	fire := func(start int64, win *window) {
		for _, id := range slices.Sorted(maps.Keys(win.persons)) {
			if win.sellers[id] {
				emit(Q8Row{id, win.persons[id], start})
			}
		}
	}
	for i := range n {
		e := g.Event(i)
		w, advanced := wm.observe(e.DateTime())
		if advanced {
			open.fire(w, fire)
		}
		switch e.Kind {
		case PersonKind:
			open.get(windowStart(e.Person.DateTime, Q8WindowSize), w).persons[e.Person.ID] = e.Person.Name
		case AuctionKind:
			open.get(windowStart(e.Auction.DateTime, Q8WindowSize), w).sellers[e.Auction.Seller] = true
		}
	}
	open.fire(math.MaxInt64, fire)
}
