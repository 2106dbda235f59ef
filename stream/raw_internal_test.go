package stream

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/network"
	"github.com/sluicehq/sluice/taskmanager/task"
)

type rawRec [12]byte

func TestRawRecordsEncodeInBulkAndDecodeInPlace(t *testing.T) {
	size, ok := codec.RawSize[rawRec]()
	if !ok || size != 12 {
		t.Fatalf("RawSize = %d, %v", size, ok)
	}
	recs := make([]rawRec, 100)
	for i := range recs {
		recs[i][0], recs[i][11] = byte(i), byte(255-i)
	}
	// The bulk image is what the codec would write record by record.
	c := codec.MustFor[rawRec]()
	var perRecord []byte
	for _, r := range recs {
		perRecord = c.Append(perRecord, r)
	}
	w := newFrameWriter[rawRec](nil, nil)
	w.addRaw(recs[:7])
	if string(w.buf[network.FrameHeaderLen:]) != string(perRecord[:7*size]) || w.n != 7 {
		t.Fatalf("bulk encoding differs from the codec's")
	}
	got := viewRaw[rawRec](perRecord, size, "op")
	if len(got) != len(recs) || got[42] != recs[42] || got[99] != recs[99] {
		t.Fatalf("decoded %d records, differing from the sent ones", len(got))
	}
	if len(viewRaw[rawRec](nil, size, "op")) != 0 {
		t.Fatal("an empty frame has records")
	}
}

func TestRawFrameOfTheWrongLengthFails(t *testing.T) {
	defer func() {
		f, ok := recover().(task.Failure)
		if !ok || !strings.Contains(f.Err.Error(), "not a whole number of 12-byte records") {
			t.Fatalf("recovered %v", f)
		}
	}()
	viewRaw[rawRec](make([]byte, 13), 12, "op")
}

func TestFramesGrowWhileTheyFillFast(t *testing.T) {
	limit := minFrame
	for range 10 { // a busy channel: frames fill in 100µs
		limit = nextFrameLimit(limit, true, 100*time.Microsecond)
	}
	if limit != maxFrame {
		t.Fatalf("a busy channel's frames grew to %d bytes, want %d", limit, maxFrame)
	}
	if l := nextFrameLimit(limit, true, 1500*time.Microsecond); l != maxFrame {
		t.Fatalf("a frame that filled in 1.5ms changed the limit to %d; between 1 and 2 ms it holds", l)
	}
	if l := nextFrameLimit(limit, true, 5*time.Millisecond); l != maxFrame/2 {
		t.Fatalf("a frame that took 5ms to fill (or to send, under backpressure): limit %d, want %d", l, maxFrame/2)
	}
	for range 10 { // the buffer timeout flushes partial frames
		limit = nextFrameLimit(limit, false, 10*time.Millisecond)
	}
	if limit != minFrame {
		t.Fatalf("a slow channel's frames shrank to %d bytes, want %d", limit, minFrame)
	}
}
