package nexmark

import (
	"fmt"
	"iter"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Constants of the Nexmark reference generator (Flink's nexmark project,
// GeneratorConfig and NexmarkConfiguration defaults).
const (
	FirstPersonID   = 1000 // id of the first person
	FirstAuctionID  = 1000 // id of the first auction
	FirstCategoryID = 10   // categories are FirstCategoryID .. FirstCategoryID+NumCategories-1
	NumCategories   = 5

	// Of every TotalProportion consecutive events, PersonProportion are
	// persons, then AuctionProportion auctions, then BidProportion bids.
	PersonProportion  = 1
	AuctionProportion = 3
	BidProportion     = 46
	TotalProportion   = PersonProportion + AuctionProportion + BidProportion

	// A bid is for a hot auction with probability 1-1/HotAuctionRatio, by
	// a hot bidder with probability 1-1/HotBidderRatio; an auction is by a
	// hot seller with probability 1-1/HotSellerRatio.
	HotAuctionRatio = 2
	HotBidderRatio  = 4
	HotSellerRatio  = 4

	// NumActivePeople is how many of the latest persons a random bidder or
	// seller is drawn from; NumInFlightAuctions how many of the latest
	// auctions a random (not hot) bid is for.
	NumActivePeople     = 1000
	NumInFlightAuctions = 100

	// DefaultEventTimeRate is the event-time rate (events per second of
	// event time) of a run that is not rate-limited: the reference's
	// default firstEventRate.
	DefaultEventTimeRate = 10_000
	// DefaultOutOfOrderGroupSize is the size of the groups within which
	// event times are shuffled (see Config.OutOfOrderGroupSize).
	DefaultOutOfOrderGroupSize = TotalProportion
	// DefaultBaseTime is the event time of event 0: 2020-09-13T12:26:40Z,
	// a multiple of 10 s.
	DefaultBaseTime = 1_600_000_000_000
)

// Config configures the generator and the source. The zero Config is a
// valid unbounded, unthrottled source with seed 0.
type Config struct {
	// Seed selects the event sequence: event n is a pure function of
	// (Seed, n) and the time settings below.
	Seed uint64
	// Events is how many events the source emits; 0 or negative means
	// unbounded.
	Events int64
	// Rate caps the source at this many events per second over all its
	// subtasks; 0 is as fast as possible.
	Rate int64
	// EventTimeRate is how many events there are per second of event time:
	// event n's time is BaseTime + n*1000/EventTimeRate ms, before the
	// out-of-order shuffle. 0 means Rate, or DefaultEventTimeRate when
	// Rate is 0. So event times do not depend on how fast the events are
	// actually produced.
	EventTimeRate int64
	// BaseTime is the event time of event 0, in ms since the Unix epoch;
	// 0 means DefaultBaseTime.
	BaseTime int64
	// OutOfOrderGroupSize: events n come in groups of this size (aligned
	// at multiples of it) within which their event times are permuted, as
	// the reference's outOfOrderGroupSize does. 0 means
	// DefaultOutOfOrderGroupSize; 1 keeps event times in order. See
	// MaxOutOfOrderness for the bound this gives.
	OutOfOrderGroupSize int64
	// OutputDir, if set, makes the stream queries' sinks also write their
	// rows, one per line formatted with %+v, to OutputDir/part-N (N the
	// sink subtask, from 1): how a run on a cluster is checked. It does
	// not change the events.
	OutputDir string
}

func (c Config) eventTimeRate() int64 {
	switch {
	case c.EventTimeRate > 0:
		return c.EventTimeRate
	case c.Rate > 0:
		return c.Rate
	}
	return DefaultEventTimeRate
}

func (c Config) baseTime() int64 {
	if c.BaseTime == 0 {
		return DefaultBaseTime
	}
	return c.BaseTime
}

func (c Config) groupSize() int64 {
	if c.OutOfOrderGroupSize <= 0 {
		return DefaultOutOfOrderGroupSize
	}
	return c.OutOfOrderGroupSize
}

// MaxOutOfOrderness is the bound, in ms of event time, of how far an event
// can be behind the latest event time seen before it, in the order of the
// event numbers n (and so in any one source subtask): for every n,
// max(DateTime of events 0..n) - DateTime(n) <= MaxOutOfOrderness. A
// bounded-out-of-orderness watermark with this bound never makes an event
// late. It is ceil((group size - 1) * 1000 / event-time rate).
func (c Config) MaxOutOfOrderness() int64 {
	g, r := c.groupSize(), c.eventTimeRate()
	return ((g-1)*1000 + r - 1) / r
}

// Generator makes the events of a Config. Event(n) is a pure function of
// the configuration and n, safe for concurrent use, and allocates nothing.
type Generator struct {
	seed        uint64
	base        int64
	rate        int64 // event-time events per second
	group, mult int64 // out-of-order group size and its permutation
	auctionSpan int64 // auction lengths are 1 .. auctionSpan ms
}

// NewGenerator returns the generator of cfg (cfg.Events and cfg.Rate do not
// matter to it, except that Rate sets the default EventTimeRate).
func NewGenerator(cfg Config) *Generator {
	g := &Generator{seed: cfg.Seed, base: cfg.baseTime(), rate: cfg.eventTimeRate(), group: cfg.groupSize(), mult: 953}
	if g.group%g.mult == 0 {
		g.mult = 967 // any multiplier coprime to the group size permutes it
	}
	// As the reference: an auction's expected length is the event time
	// until NumInFlightAuctions more auctions have been created, and its
	// length is uniform in [1, 2*that] ms.
	horizon := NumInFlightAuctions * TotalProportion / AuctionProportion * 1000 / g.rate
	g.auctionSpan = max(2*horizon, 1)
	return g
}

// Timestamp returns the event time of event n.
func (g *Generator) Timestamp(n int64) int64 {
	adjusted := n
	if g.group > 1 {
		start := n / g.group * g.group
		adjusted = start + (n-start)*g.mult%g.group
	}
	return g.base + adjusted*1000/g.rate
}

// Kind returns the kind of event n.
func Kind(n int64) EventKind {
	switch off := n % TotalProportion; {
	case off < PersonProportion:
		return PersonKind
	case off < PersonProportion+AuctionProportion:
		return AuctionKind
	}
	return BidKind
}

// Event returns event n (n >= 0).
func (g *Generator) Event(n int64) Event {
	var r rng
	r.Seed(g.seed, splitmix(uint64(n)))
	ts := g.Timestamp(n)
	switch Kind(n) {
	case PersonKind:
		return Event{Kind: PersonKind, Person: g.person(n, &r, ts)}
	case AuctionKind:
		return Event{Kind: AuctionKind, Auction: g.auction(n, &r, ts)}
	}
	return Event{Kind: BidKind, Bid: g.bid(n, &r, ts)}
}

// Events returns events 0, 1, ... cfg.Events-1 of cfg (endless when
// cfg.Events <= 0): the sequence the source's subtasks emit together.
func Events(cfg Config) iter.Seq[Event] {
	g := NewGenerator(cfg)
	return func(yield func(Event) bool) {
		for n := int64(0); cfg.Events <= 0 || n < cfg.Events; n++ {
			if !yield(g.Event(n)) {
				return
			}
		}
	}
}

// Generate returns cfg's events in a slice; cfg.Events must be positive.
func Generate(cfg Config) []Event {
	if cfg.Events <= 0 {
		panic(fmt.Sprintf("nexmark.Generate: %d events; it needs a bounded Config", cfg.Events))
	}
	out := make([]Event, 0, cfg.Events)
	for e := range Events(cfg) {
		out = append(out, e)
	}
	return out
}

// LastPersonID returns the id of the latest person created at or before
// event n (as the reference's lastBase0PersonId, plus FirstPersonID).
func LastPersonID(n int64) int64 { return lastBase0Person(n) + FirstPersonID }

// LastAuctionID returns the id of the latest auction created at or before
// event n; FirstAuctionID-1 before the first auction.
func LastAuctionID(n int64) int64 { return lastBase0Auction(n) + FirstAuctionID }

func lastBase0Person(n int64) int64 {
	epoch, off := n/TotalProportion, n%TotalProportion
	if off >= PersonProportion {
		off = PersonProportion - 1
	}
	return epoch*PersonProportion + off
}

func lastBase0Auction(n int64) int64 {
	epoch, off := n/TotalProportion, n%TotalProportion
	switch {
	case off < PersonProportion: // a person: the last auction of the previous epoch
		epoch--
		off = AuctionProportion - 1
	case off >= PersonProportion+AuctionProportion: // a bid: the last auction of this epoch
		off = AuctionProportion - 1
	default:
		off -= PersonProportion
	}
	return epoch*AuctionProportion + off
}

// randomPerson draws one of the NumActivePeople latest persons (the
// reference adds PERSON_ID_LEAD=10 persons not created yet; see the package
// comment).
func randomPerson(n int64, r *rng) int64 {
	people := lastBase0Person(n) + 1
	active := min(people, NumActivePeople)
	return people - active + r.intn(active)
}

// randomAuction draws one of the NumInFlightAuctions+1 latest auctions (no
// AUCTION_ID_LEAD either).
func randomAuction(n int64, r *rng) int64 {
	last := lastBase0Auction(n)
	first := max(last-NumInFlightAuctions, 0)
	return first + r.intn(last-first+1)
}

// price is the reference's nextPrice, round(100 * 10^(6u)) cents for a
// uniform u in [0, 1): $1 to $1M, log-uniform. It is computed in integer
// arithmetic, as 100 * 2^y with y = 6u*log2(10): 2^floor(y) by a shift,
// 2^frac(y) from a table of 2^(i/4096) with linear interpolation (relative
// error below 4e-9), so that it is exact on every platform (floating-point
// math functions may differ in the last bit between architectures) and
// faster than math.Pow.
func price(r *rng) int64 {
	y, _ := bits.Mul64(r.Uint64(), priceScale) // y = 6u*log2(10), 58 fraction bits
	k := y >> 58
	i := y >> (58 - pow2Bits) & (1<<pow2Bits - 1)
	f := y >> (58 - pow2Bits - 20) & (1<<20 - 1)
	v := pow2[i] + (pow2[i+1]-pow2[i])*f>>20 // 2^frac(y), 52 fraction bits
	s := 52 - k
	return int64((v*100 + 1<<(s-1)) >> s)
}

const pow2Bits = 12

var (
	// priceScale is 6*log2(10) with 58 fraction bits.
	priceScale uint64
	// pow2[i] is 2^(i/4096) with 52 fraction bits, i = 0..4096.
	pow2 [1<<pow2Bits + 1]uint64
)

// initPrices computes priceScale and pow2 with math/big, exactly the same
// on every platform.
func initPrices() {
	const prec = 160
	log2of10, _, err := big.ParseFloat("3.3219280948873623478703194294893901758648313930245806120547563958", 10, prec, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	scale := new(big.Float).SetPrec(prec).Mul(log2of10, big.NewFloat(6))
	priceScale, _ = scale.SetMantExp(scale, 58).Uint64()
	root := new(big.Float).SetPrec(prec).SetInt64(2)
	for range pow2Bits {
		root.Sqrt(root)
	}
	x := new(big.Float).SetPrec(prec).SetInt64(1)
	fixed := new(big.Float).SetPrec(prec)
	for i := range pow2 {
		pow2[i], _ = fixed.SetMantExp(x, 52).Uint64()
		x.Mul(x, root)
	}
}

func (g *Generator) person(n int64, r *rng, ts int64) Person {
	return Person{
		ID:           lastBase0Person(n) + FirstPersonID,
		Name:         personNames[r.intn(int64(len(personNames)))],
		EmailAddress: emails[r.intn(int64(len(emails)))],
		CreditCard:   creditCards[r.intn(int64(len(creditCards)))],
		City:         usCities[r.intn(int64(len(usCities)))],
		State:        usStates[r.intn(int64(len(usStates)))],
		DateTime:     ts,
	}
}

func (g *Generator) auction(n int64, r *rng, ts int64) Auction {
	var seller int64
	if r.intn(HotSellerRatio) > 0 {
		// The first person of the latest batch of HotSellerRatio.
		seller = lastBase0Person(n) / HotSellerRatio * HotSellerRatio
	} else {
		seller = randomPerson(n, r)
	}
	category := FirstCategoryID + r.intn(NumCategories)
	initial := price(r)
	expires := ts + 1 + r.intn(g.auctionSpan)
	return Auction{
		ID:          lastBase0Auction(n) + FirstAuctionID,
		ItemName:    itemNames[r.intn(int64(len(itemNames)))],
		Description: descriptions[r.intn(int64(len(descriptions)))],
		InitialBid:  initial,
		Reserve:     initial + price(r),
		DateTime:    ts,
		Expires:     expires,
		Seller:      seller + FirstPersonID,
		Category:    category,
	}
}

func (g *Generator) bid(n int64, r *rng, ts int64) Bid {
	var auction, bidder int64
	if r.intn(HotAuctionRatio) > 0 {
		// The first auction of the latest batch of HotAuctionRatio.
		auction = lastBase0Auction(n) / HotAuctionRatio * HotAuctionRatio
	} else {
		auction = randomAuction(n, r)
	}
	if r.intn(HotBidderRatio) > 0 {
		// The second person of the latest batch of HotBidderRatio, so that
		// hot bidders are not hot sellers; the reference can name a person
		// not created yet here, we take the latest one then.
		last := lastBase0Person(n)
		bidder = min(last/HotBidderRatio*HotBidderRatio+1, last)
	} else {
		bidder = randomPerson(n, r)
	}
	p := price(r)
	var channel, url string
	if r.intn(2) > 0 {
		i := r.intn(int64(len(hotChannels)))
		channel, url = hotChannels[i], hotURLs[i]
	} else {
		i := r.intn(numChannels)
		channel, url = channels[i], channelURLs[i]
	}
	return Bid{
		Auction:  auction + FirstAuctionID,
		Bidder:   bidder + FirstPersonID,
		Price:    p,
		Channel:  channel,
		URL:      url,
		DateTime: ts,
	}
}

// rng is the per-event random source: a PCG seeded with (seed, mixed n).
// It lives on the stack of Event.
type rng struct{ rand.PCG }

// intn returns a number in [0, n) (n > 0), by Lemire's multiply-shift
// without rejection: the bias, at most n/2^64, does not matter here.
func (r *rng) intn(n int64) int64 {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int64(hi)
}

// splitmix scrambles n so that consecutive event numbers seed unrelated
// PCG streams.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// The string tables. The reference builds most strings per event (random
// e-mail addresses, item names and descriptions, padding in Extra); here
// they are drawn from tables built once, so that generating an event
// allocates nothing.
var (
	usStates   = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}

	hotChannels = []string{"Google", "Facebook", "Baidu", "Apple"}

	personNames  []string // every first name with every last name
	emails       []string
	creditCards  []string
	itemNames    []string
	descriptions []string
	hotURLs      []string
	channels     []string // "channel-i"
	channelURLs  []string
)

const (
	tableSize   = 1024
	numChannels = 10_000 // the reference's CHANNELS_NUMBER
)

func init() {
	initPrices()
	var r rng
	r.Seed(0x6e65786d61726b, 1) // "nexmark": fixed, so the tables never change
	for _, f := range firstNames {
		for _, l := range lastNames {
			personNames = append(personNames, f+" "+l)
		}
	}
	for range tableSize {
		emails = append(emails, randomString(&r, 7)+"@"+randomString(&r, 5)+".com")
		creditCards = append(creditCards, fmt.Sprintf("%04d %04d %04d %04d", r.intn(10000), r.intn(10000), r.intn(10000), r.intn(10000)))
		itemNames = append(itemNames, randomString(&r, 20))
		descriptions = append(descriptions, randomString(&r, 100))
	}
	baseURL := func() string {
		return "https://www.nexmark.com/" + randomString(&r, 5) + "/" + randomString(&r, 5) + "/" + randomString(&r, 5) + "/item.htm?query=1"
	}
	for range hotChannels {
		hotURLs = append(hotURLs, baseURL())
	}
	channels = make([]string, numChannels)
	channelURLs = make([]string, numChannels)
	for i := range numChannels {
		channels[i] = "channel-" + strconv.Itoa(i)
		url := baseURL()
		if r.intn(10) > 0 { // as the reference: most channel URLs carry the channel id
			url += "&channel_id=" + reverse(strconv.FormatInt(int64(i), 2))
		}
		channelURLs[i] = url
	}
}

// randomString is the reference's nextString: 3 to maxLen-1 characters,
// lower-case letters and now and then a space.
func randomString(r *rng, maxLen int64) string {
	n := 3 + r.intn(maxLen-3)
	var b strings.Builder
	for range n {
		if r.intn(13) == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(byte('a' + r.intn(26)))
		}
	}
	return b.String()
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}
