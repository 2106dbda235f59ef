// Package nexmark is the Nexmark benchmark for Sluice: the event model and
// generator, the queries on the stream API, a plain-Go reference
// implementation and a plain single-goroutine loop of every query, and a
// benchmark harness. The command in cmd/nexmark runs a query (`nexmark run
// --query q1`) or benchmarks them (`nexmark bench`).
//
// # Events
//
// An auction site's users (Person) open auctions (Auction) and bid on them
// (Bid). Event wraps one of the three with a kind tag; all three are plain
// value structs, so package stream/codec encodes an Event with no
// registration. Prices are integer cents; times are event times in ms since
// the Unix epoch.
//
// # Generator
//
// The generator follows the reference generator of Flink's Nexmark project
// (NexmarkGenerator, GeneratorConfig and its Person, Auction and Bid
// generators):
//
//   - Of every 50 events n, n%50 == 0 is a person, 1..3 are auctions, the
//     46 others bids. Person and auction ids count up from 1000
//     (FirstPersonID, FirstAuctionID), so event n's kind and the id it
//     creates follow from n alone (LastPersonID, LastAuctionID).
//   - A bid is for the hot auction (the latest auction id rounded down to a
//     multiple of HotAuctionRatio=2) with probability 1/2, else for a random
//     one of the NumInFlightAuctions=100 latest; its bidder is the hot bidder
//     (the latest person id rounded down to a multiple of HotBidderRatio=4,
//     plus 1) with probability 3/4, else a random one of the
//     NumActivePeople=1000 latest. An auction's seller is the hot seller
//     (latest person rounded down to a multiple of HotSellerRatio=4) with
//     probability 3/4, else a random active person.
//   - Prices are the reference's nextPrice, round(100 * 10^(6u)) cents for a
//     uniform u: log-uniform from $1 to $1M; an auction's reserve is its
//     initial bid plus another such price. The category is
//     FirstCategoryID(10) + a uniform draw of NumCategories(5), so 10..14.
//   - Event time: event n is at BaseTime + n*1000/EventTimeRate ms, with
//     EventTimeRate the --rate when there is one and otherwise a nominal
//     DefaultEventTimeRate of 10,000 events/s (the reference's
//     firstEventRate), so event times do not depend on how fast a run is.
//     As the reference's outOfOrderGroupSize, the events are in groups of
//     OutOfOrderGroupSize (default 50), aligned at multiples of it, within
//     which n's time is that of event start+((n-start)*953 mod size): the
//     times of a group are a permutation of its in-order times. So an event
//     is never more than Config.MaxOutOfOrderness ms, ceil((size-1) *
//     1000/EventTimeRate) (5 ms by default), behind the latest event time
//     before it, in the sequence as in any source subtask.
//   - An auction expires 1 + uniform[0, 2h) ms after it opens, h being the
//     event time until NumInFlightAuctions more auctions have opened (1,666
//     events; 166 ms at 10,000 events/s), as the reference's
//     nextAuctionLengthMs. So bids for the 100 latest auctions often come
//     after the auction closed, which makes q4's filter matter.
//
// Event n is a pure function of (Config, n): its random draws come from a
// PCG (math/rand/v2) seeded with Config.Seed and a scramble of n, kept on
// the stack. So a source subtask can generate any subset of the events; the
// source's subtask i of P generates events i, i+P, i+2P, ... (which keeps
// event time advancing alike in all subtasks), and any parallelism gives
// exactly the sequence Events(cfg) that the references and plain loops use.
// Generating an event allocates nothing.
//
// Deviations from the reference generator:
//
//   - Randomness: one PCG per event seeded from (seed, n) instead of
//     java.util.Random seeded with the event id, so the events are not the
//     reference's events, only distributed like them.
//   - Strings: the reference builds random e-mail addresses, credit card
//     numbers, item names and descriptions per event and pads Extra to an
//     average event size (200 bytes for persons, 500 for auctions, 100 for
//     bids). Here names, cities and states come from the reference's tables,
//     e-mail addresses, credit cards, item names and descriptions from tables
//     of 1,024 strings built once with the reference's rules, channels and
//     URLs from a table of 10,000 like the reference's channel cache, and
//     Extra is empty. Per-event string building would otherwise dominate
//     the cost of generating an event, and of the simple queries.
//   - Out-of-orderness: only event times are permuted within a group; the
//     kind, ids and references of event n stay those of n. The reference
//     permutes whole events, so its ids are out of order too. Here a bid
//     never names an auction or person created after it in the sequence.
//   - No id leads: the reference draws random bidders, sellers and auctions
//     among the active ones plus PERSON_ID_LEAD or AUCTION_ID_LEAD (10) ids
//     not created yet, and its hot bidder can be one not created yet; here
//     every id a bid or auction names exists already (the hot bidder is
//     capped at the latest person).
//   - The default out-of-order group is 50 events, where the reference's
//     default is 1 (in order); OutOfOrderGroupSize 1 gives in-order times.
//   - Prices are computed in integer arithmetic from a table of powers of
//     two (within 4e-9 of the formula), so that they are the same on every
//     platform, and fast.
//   - Base time: a fixed DefaultBaseTime, not the wall clock at start, so
//     that runs are reproducible.
//
// # Queries
//
// The queries are Flink's Nexmark SQL (q6 is left out, as Flink's Nexmark
// does). Each has a reference (ReferenceQ0 ... ReferenceQ8): plain Go over an
// iter.Seq[Event], sorted results, no watermarks (a bounded run fires every
// window at the end, so a windowed reference just groups by window).
//
//   - q0 pass-through: every bid (Q0).
//   - q1 currency conversion: every bid with price*908/1000, truncated, in
//     integer cents for SQL's 0.908*price (Q1, DollarsToEuros).
//   - q2 selection: (auction, price) of bids with auction % 123 == 0 (Q2).
//   - q3 local item suggestion: (name, city, state, auction id) of auctions
//     of category 10 whose seller lives in OR, ID or CA (Q3): a filter and
//     projection of persons and auctions into one Q3Side type (the stream
//     API unions only streams of one type), keyed by person id = seller, and
//     an incremental join (Q3Join) that keeps the seller and the auctions
//     that came before it, and emits each match once.
//   - q4 average price per category: the winning bid of an auction is its
//     highest bid with auction.DateTime <= DateTime <= auction.Expires;
//     per category, the average (sum/count, truncated, as AVG of a BIGINT)
//     of the winning bids of the auctions that have one (Q4). In Nexmark
//     this is an unwindowed join and aggregation, an updating result, so it
//     needs no event-time timers: Q4Winning keeps per auction the auction
//     and its best valid bid (and bids that came before their auction) and
//     emits a WinningBid when the best changes; Q4Average keeps per
//     category the sum and count and emits the new average. The last row of
//     each category is the result (FinalQ4), at any parallelism.
//   - q5 hot items: for each sliding window of 10 s every 2 s, the
//     auction(s) with the most bids.
//   - q7 highest bid: per tumbling 10 s window, the bids with the highest
//     price. Windows are [start, start+10 s); Flink's SQL joins with BETWEEN
//     window_end - 10 s AND window_end, which would also match a bid at
//     exactly the next window's start.
//   - q8 monitor new users: per tumbling 10 s window, the persons who
//     registered in it and created an auction in it.
//
// q5 and q7 run on event-time windows (stream.Window with sliding and
// tumbling assigners), q8 on a window co-group (stream.CoGroupWindow); all
// three give the events their timestamps, Event.DateTime (ms), and a
// watermark of bounded out-of-orderness Config.MaxOutOfOrderness(), with
// windows aligned to the epoch as the references' (Q5WindowSize,
// Q5WindowSlide, Q7WindowSize, Q8WindowSize).
//
// # Registry, plain loops and benchmark
//
// Queries maps a name to a Query: Build (the stream query and a sink), Reference and Plain, all giving Results with
// the same canonical form, so tests compare them. The plain loops
// (PlainQ0 ...) compute each query in one goroutine with maps and call the
// same user functions as the stream queries; Bench and BenchmarkNexmark run
// a stream query at parallelism 1 on the embedded mini-cluster and its plain
// loop alternately and keep the best of each, as the stream package's
// benchmarks do.
package nexmark
