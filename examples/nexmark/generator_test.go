package nexmark

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

const testEvents = 100_000

func TestGeneratorIsDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Events: testEvents}
	a, b := NewGenerator(cfg), NewGenerator(cfg)
	other := NewGenerator(Config{Seed: 43})
	differ := 0
	// In reverse too: event n depends on n only, not on what came before.
	for n := int64(testEvents - 1); n >= 0; n-- {
		if ea, eb := a.Event(n), b.Event(n); ea != eb {
			t.Fatalf("event %d differs between two generators of the same seed:\n%v\n%v", n, ea, eb)
		}
		if a.Event(n) != other.Event(n) {
			differ++
		}
	}
	if differ < testEvents*9/10 {
		t.Fatalf("seeds 42 and 43 give %d different events of %d; want nearly all", differ, testEvents)
	}
	if got, want := slices.Collect(Events(cfg)), Generate(cfg); !slices.Equal(got, want) {
		t.Fatal("Events and Generate differ")
	}
}

func TestGeneratorProportions(t *testing.T) {
	g := NewGenerator(Config{Seed: 1})
	for block := int64(0); block < testEvents/TotalProportion; block++ {
		var counts [4]int
		for off := range int64(TotalProportion) {
			n := block*TotalProportion + off
			e := g.Event(n)
			if e.Kind != Kind(n) {
				t.Fatalf("event %d is a %v, Kind says %v", n, e.Kind, Kind(n))
			}
			counts[e.Kind]++
		}
		if counts[PersonKind] != 1 || counts[AuctionKind] != 3 || counts[BidKind] != 46 {
			t.Fatalf("events %d..%d: %d persons, %d auctions, %d bids; want 1:3:46", block*TotalProportion, (block+1)*TotalProportion-1,
				counts[PersonKind], counts[AuctionKind], counts[BidKind])
		}
	}
}

func TestGeneratorIDsAndFields(t *testing.T) {
	nextPerson, nextAuction := int64(FirstPersonID), int64(FirstAuctionID)
	categories := map[int64]int{}
	for e := range Events(Config{Seed: 2, Events: testEvents}) {
		switch e.Kind {
		case PersonKind:
			p := e.Person
			if p.ID != nextPerson {
				t.Fatalf("person id %d, want %d (consecutive from %d)", p.ID, nextPerson, FirstPersonID)
			}
			nextPerson++
			if !slices.Contains(usStates, p.State) || !slices.Contains(usCities, p.City) || p.Name == "" || p.EmailAddress == "" || len(p.CreditCard) != 19 {
				t.Fatalf("person %+v", p)
			}
		case AuctionKind:
			a := e.Auction
			if a.ID != nextAuction {
				t.Fatalf("auction id %d, want %d (consecutive from %d)", a.ID, nextAuction, FirstAuctionID)
			}
			nextAuction++
			categories[a.Category]++
			if a.InitialBid < 100 || a.Reserve <= a.InitialBid || a.ItemName == "" || a.Description == "" {
				t.Fatalf("auction %+v", a)
			}
		case BidKind:
			b := e.Bid
			if b.Price < 100 || b.Price > 100_000_000 || b.Channel == "" || b.URL == "" {
				t.Fatalf("bid %+v", b)
			}
		default:
			t.Fatalf("event of kind %v", e.Kind)
		}
	}
	for c := range categories {
		if c < FirstCategoryID || c >= FirstCategoryID+NumCategories {
			t.Fatalf("category %d out of [%d, %d)", c, FirstCategoryID, FirstCategoryID+NumCategories)
		}
	}
	if len(categories) != NumCategories {
		t.Fatalf("%d categories used, want %d", len(categories), NumCategories)
	}
}

func TestGeneratorAuctionsExpireAfterTheyOpen(t *testing.T) {
	for _, rate := range []int64{0, 1000, 10_000_000} {
		for e := range Events(Config{Events: testEvents, EventTimeRate: rate}) {
			if a := e.Auction; e.Kind == AuctionKind && a.Expires <= a.DateTime {
				t.Fatalf("event-time rate %d: auction %d expires at %d, not after it opens at %d", rate, a.ID, a.Expires, a.DateTime)
			}
		}
	}
}

func TestGeneratorReferencesExistingAuctionsAndPersons(t *testing.T) {
	latestPerson, latestAuction := int64(-1), int64(-1)
	var hotAuction, hotBidder, bids int
	for e := range Events(Config{Seed: 3, Events: testEvents}) {
		switch e.Kind {
		case PersonKind:
			latestPerson = e.Person.ID
		case AuctionKind:
			latestAuction = e.Auction.ID
			if s := e.Auction.Seller; s < FirstPersonID || s > latestPerson {
				t.Fatalf("auction %d's seller %d is not a person yet (latest %d)", e.Auction.ID, s, latestPerson)
			}
		case BidKind:
			b := e.Bid
			if b.Auction < FirstAuctionID || b.Auction > latestAuction {
				t.Fatalf("bid for auction %d, which does not exist yet (latest %d)", b.Auction, latestAuction)
			}
			if b.Auction < latestAuction-NumInFlightAuctions {
				t.Fatalf("bid for auction %d, not one of the %d latest (latest %d)", b.Auction, NumInFlightAuctions, latestAuction)
			}
			if b.Bidder < FirstPersonID || b.Bidder > latestPerson {
				t.Fatalf("bid by person %d, who does not exist yet (latest %d)", b.Bidder, latestPerson)
			}
			bids++
			if b.Auction == (latestAuction-FirstAuctionID)/HotAuctionRatio*HotAuctionRatio+FirstAuctionID {
				hotAuction++
			}
			if last := latestPerson - FirstPersonID; b.Bidder == min(last/HotBidderRatio*HotBidderRatio+1, last)+FirstPersonID {
				hotBidder++
			}
		}
	}
	// Hot with probability 1-1/ratio, plus the random draws that hit it.
	if f := float64(hotAuction) / float64(bids); f < 0.49 || f > 0.53 {
		t.Errorf("%.3f of bids are for the hot auction, want about %.2f", f, 1-1.0/HotAuctionRatio)
	}
	if f := float64(hotBidder) / float64(bids); f < 0.74 || f > 0.77 {
		t.Errorf("%.3f of bids are by the hot bidder, want about %.2f", f, 1-1.0/HotBidderRatio)
	}
}

func TestGeneratorOutOfOrdernessIsBounded(t *testing.T) {
	for _, cfg := range []Config{
		{Events: testEvents},
		{Events: testEvents, EventTimeRate: 1000},
		{Events: testEvents, OutOfOrderGroupSize: 1000},
		{Events: testEvents, OutOfOrderGroupSize: 953 * 2}, // a multiple of the usual multiplier
		{Events: testEvents, OutOfOrderGroupSize: 1},
	} {
		bound := cfg.MaxOutOfOrderness()
		latest, worst := int64(math.MinInt64), int64(0)
		for e := range Events(cfg) {
			ts := e.DateTime()
			latest = max(latest, ts)
			worst = max(worst, latest-ts)
		}
		if worst > bound {
			t.Errorf("%+v: an event is %d ms behind the latest, bound %d", cfg, worst, bound)
		}
		if cfg.OutOfOrderGroupSize == 1 && worst != 0 {
			t.Errorf("group size 1: events out of order by %d ms", worst)
		}
		if cfg.OutOfOrderGroupSize != 1 && worst < bound/2 {
			t.Errorf("%+v: events at most %d ms out of order; bound %d, so the shuffle hardly works", cfg, worst, bound)
		}
		wantSpan := (testEvents - 1) * 1000 / cfg.eventTimeRate()
		if last := NewGenerator(cfg).Timestamp(testEvents - 1); math.Abs(float64(last-DefaultBaseTime-wantSpan)) > float64(bound) {
			t.Errorf("%+v: the last event is at base+%d ms, want about %d", cfg, last-DefaultBaseTime, wantSpan)
		}
	}
}

func TestGeneratorPricesAreLogUniform(t *testing.T) {
	var r rng
	r.Seed(7, 7)
	var decades [6]int
	const n = 600_000
	for range n {
		p := price(&r)
		if p < 100 || p > 100_000_000 {
			t.Fatalf("price %d out of [$1, $1M]", p)
		}
		decades[min(int(math.Log10(float64(p)/100)), 5)]++
	}
	for d, c := range decades {
		if f := float64(c) / n; math.Abs(f-1.0/6) > 0.005 {
			t.Errorf("%.4f of prices in [$%v, $%v), want 1/6", f, math.Pow10(d), math.Pow10(d+1))
		}
	}
	// The table-based price is within a cent (and a few 1e-9) of the float formula.
	for range 100_000 {
		a, b := r, r
		u := float64(b.Uint64()) / (1 << 64)
		want := math.Round(math.Pow(10, u*6) * 100)
		if got := float64(price(&a)); math.Abs(got-want) > 1+want*5e-9 {
			t.Fatalf("price %v, the formula gives %v", got, want)
		}
		r.Uint64()
	}
}

func TestGeneratorAllocatesNothing(t *testing.T) {
	g := NewGenerator(Config{})
	var n int64
	var e Event
	if a := testing.AllocsPerRun(10_000, func() { e = g.Event(n); n++ }); a != 0 {
		t.Fatalf("Event allocates %v times per call", a)
	}
	_ = e
}

func TestSourceSubtasksTogetherEmitTheSequence(t *testing.T) {
	cfg := Config{Seed: 9, Events: 30_001}
	want := Canonical(Generate(cfg))
	for _, p := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			out := stream.Collect(Source(env, cfg))
			if _, err := env.Execute(testContext(t), "nexmark-source"); err != nil {
				t.Fatal(err)
			}
			equalRows(t, Canonical(out.Results()), want)
		})
	}
}

type sliceCollector []Event

func (s *sliceCollector) Collect(e Event) { *s = append(*s, e) }

func readAll(t *testing.T, r *reader, out *sliceCollector, reads int) {
	t.Helper()
	for i := 0; reads < 0 || i < reads; i++ {
		n, err := r.Read(out)
		if err != nil {
			return
		}
		if n == 0 {
			t.Fatal("an unthrottled reader read nothing")
		}
	}
}

func TestSourceResumesFromItsPosition(t *testing.T) {
	cfg := Config{Seed: 5, Events: 5_000}
	whole := newReader(cfg, 1, 3)
	var all sliceCollector
	readAll(t, whole, &all, -1)
	if len(all) != (5_000-1+2)/3 {
		t.Fatalf("subtask 1 of 3 read %d events", len(all))
	}
	for i, e := range all {
		if want := NewGenerator(cfg).Event(int64(1 + 3*i)); e != want {
			t.Fatalf("event %d of subtask 1 is not event %d", i, 1+3*i)
		}
	}
	first := newReader(cfg, 1, 3)
	var got sliceCollector
	readAll(t, first, &got, 2)
	pos, err := first.Position()
	if err != nil {
		t.Fatal(err)
	}
	resumed := newReader(cfg, 1, 3)
	if err := resumed.Seek(pos); err != nil {
		t.Fatal(err)
	}
	readAll(t, resumed, &got, -1)
	if !slices.Equal(got, all) {
		t.Fatalf("read %d events across a resume, want the same %d as without", len(got), len(all))
	}
	if err := resumed.Seek([]byte{1}); err == nil {
		t.Fatal("Seek took a malformed position")
	}
}

func TestSourceRateLimit(t *testing.T) {
	cfg := Config{Events: 600, Rate: 2000}
	env := stream.NewEnvironment().SetParallelism(2)
	out := stream.Collect(Source(env, cfg))
	start := time.Now()
	if _, err := env.Execute(testContext(t), "nexmark-rate"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("600 events at 2000/s took %v, want about 300ms", d)
	}
	if out.Len() != 600 {
		t.Fatalf("got %d events", out.Len())
	}
}

// equalRows fails the test when two canonical results differ, showing
// where.
func equalRows(t *testing.T, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%d rows, want %d; first difference at row %d:\n got %s\nwant %s", len(got), len(want), i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		t.Fatalf("%d rows, want %d; extra: %s", len(got), len(want), got[len(want)])
	}
	t.Fatalf("%d rows, want %d; missing: %s", len(got), len(want), want[len(got)])
}
