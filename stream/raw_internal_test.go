package stream

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/stream/codec"
	"github.com/sluicehq/sluice/taskmanager/task"
)

type rawRec [12]byte

func TestRawRecordsCopyInBulk(t *testing.T) {
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
	w := &frameWriter[rawRec]{raw: size}
	w.addRaw(recs[:7])
	if string(w.buf) != string(perRecord[:7*size]) || w.n != 7 {
		t.Fatalf("bulk encoding differs from the codec's")
	}
	got := decodeRaw[rawRec](perRecord, nil, size, "op")
	if len(got) != len(recs) || got[42] != recs[42] || got[99] != recs[99] {
		t.Fatalf("decoded %d records, differing from the sent ones", len(got))
	}
}

func TestRawFrameOfTheWrongLengthFails(t *testing.T) {
	defer func() {
		f, ok := recover().(task.Failure)
		if !ok || !strings.Contains(f.Err.Error(), "not a whole number of 12-byte records") {
			t.Fatalf("recovered %v", f)
		}
	}()
	decodeRaw[rawRec](make([]byte, 13), nil, 12, "op")
}
