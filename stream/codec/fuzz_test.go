package codec_test

import (
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/stream/codec"
)

// fuzzRecord exercises strings, slices, maps, pointers, recursion and
// unexported fields. It has no floats, whose NaNs reflect.DeepEqual would
// not find equal to themselves.
type fuzzRecord struct {
	ID     int64
	Name   string
	Tags   []string
	Attrs  map[string]int32
	Blob   []byte
	Next   *fuzzRecord
	Kids   []fuzzRecord
	Flag   bool
	Small  uint8
	Pair   [2]int16
	Opt    *uint32
	Nested map[int8][]*string
	hidden struct {
		n uint16
		s string
	}
}

func FuzzDecode(f *testing.F) {
	c := codec.MustFor[fuzzRecord]()
	// More seeds are in testdata/fuzz/FuzzDecode.
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var v fuzzRecord
		n, err := c.Decode(data, &v)
		if err != nil {
			if !isDecodeError(err) {
				t.Fatalf("Decode returned %v, which wraps neither ErrTruncated nor ErrCorrupt", err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("Decode consumed %d bytes of %d", n, len(data))
		}
		enc := c.Append(nil, v)
		var w fuzzRecord
		m, err := c.Decode(enc, &w)
		if err != nil {
			t.Fatalf("re-decoding % x: %v", enc, err)
		}
		if m != len(enc) {
			t.Fatalf("re-decoding consumed %d bytes of %d", m, len(enc))
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("re-encoding changed the value:\n first: %#v\nsecond: %#v", v, w)
		}
	})
}
