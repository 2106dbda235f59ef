package nexmark

import (
	"slices"
	"testing"

	"github.com/sluicehq/sluice/stream"
)

func TestQ8JoinsPersonsAndSellersPerWindow(t *testing.T) {
	// In event-time order but for a millisecond (within the default bound
	// of 5 ms), so that no event is late whenever a watermark comes.
	events := []Event{
		person(1, "Ann", "OR", 1000),
		person(2, "Bob", "OR", 2000),
		auction(10, 1, 10, 5000, 6000),
		auction(11, 1, 10, 6000, 7000), // Ann again: one row
		person(3, "Cid", "OR", 9000),
		auction(13, 3, 10, 9998, 10500),
		auction(12, 2, 10, 10000, 11000), // Bob, the next window: none
		auction(15, 3, 10, 9999, 10500),  // Cid, once more, a millisecond late
		auction(14, 4, 10, 11000, 12000), // before Dee registers, same window
		person(4, "Dee", "OR", 12000),
		bid(14, 4, 100, 12500),
		person(5, "Eve", "OR", 13000), // no auction
		auction(16, 5, 10, 20000, 21000),
	}
	want := ReferenceQ8(slices.Values(events))
	checkRows(t, want, []Q8Row{{1, "Ann", base}, {3, "Cid", base}, {4, "Dee", base + 10000}})
	for _, p := range []int{1, 2} {
		got := runOnSlice(t, events, p, func(ds *stream.DataStream[Event]) *stream.DataStream[Q8Row] { return Q8(ds, Config{}) })
		slices.SortFunc(got, compareQ8)
		checkRows(t, got, want)
	}
}
