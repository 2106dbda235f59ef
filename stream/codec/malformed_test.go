package codec_test

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream/codec"
)

// isDecodeError reports whether err is one Decode may return for bad input.
func isDecodeError(err error) bool {
	return errors.Is(err, codec.ErrTruncated) || errors.Is(err, codec.ErrCorrupt)
}

// checkPrefixes returns a test that decodes every strict prefix of the
// encoding of v and expects an error.
func checkPrefixes[T any](v T) func(*testing.T) {
	return func(t *testing.T) {
		c := codec.MustFor[T]()
		enc := c.Append(nil, v)
		for i := range len(enc) {
			var got T
			n, err := c.Decode(enc[:i:i], &got)
			if !isDecodeError(err) {
				t.Fatalf("Decode of %d-byte prefix of % x: n=%d err=%v, want ErrTruncated or ErrCorrupt", i, enc, n, err)
			}
		}
	}
}

func TestTruncatedPrefixes(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"int64", checkPrefixes(int64(math.MinInt64))},
		{"uint64", checkPrefixes(uint64(math.MaxUint64))},
		{"float32", checkPrefixes(float32(1.5))},
		{"float64", checkPrefixes(math.Pi)},
		{"complex128", checkPrefixes(complex(1, 2))},
		{"string", checkPrefixes("héllo")},
		{"bytes", checkPrefixes([]byte("abc"))},
		{"bool", checkPrefixes(true)},
		{"named", checkPrefixes(Celsius(1))},
		{"struct", checkPrefixes(sampleOuter())},
		{"record", checkPrefixes(sampleRecord())},
		{"list", checkPrefixes(list(5))},
		{"tree", checkPrefixes(tree{Name: "r", Kids: []tree{{Name: "k"}}, ByName: map[string]*tree{"x": {}}})},
		{"map", checkPrefixes(map[string][]int{"a": {1, 2}, "b": nil})},
		{"array", checkPrefixes([3]uint16{1, 1000, 65535})},
		{"byte array", checkPrefixes([4]byte{1, 2, 3, 4})},
		{"time.Time", checkPrefixes(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"BinaryAppender", checkPrefixes(version{10, 20})},
		{"long BinaryAppender", checkPrefixes(banner(strings.Repeat("z", 200)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// corrupt returns a test that decodes in as a T and expects an error that
// wraps want and contains msg.
func corrupt[T any](in []byte, want error, msg string) func(*testing.T) {
	return func(t *testing.T) {
		var v T
		n, err := codec.MustFor[T]().Decode(in, &v)
		if !errors.Is(err, want) {
			t.Fatalf("Decode(% x): n=%d err=%v, want %v", in, n, err, want)
		}
		if !strings.Contains(err.Error(), msg) {
			t.Fatalf("error %q does not contain %q", err, msg)
		}
		if n != 0 {
			t.Fatalf("Decode returned n=%d with an error", n)
		}
	}
}

// uvarint encodes x.
func uvarint(x uint64) []byte {
	return codec.MustFor[uint64]().Append(nil, x)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestCorrupt(t *testing.T) {
	huge := uvarint(1 << 40)
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"empty input", corrupt[int64](nil, codec.ErrTruncated, "truncated")},
		{"unfinished varint", corrupt[uint64]([]byte{0x80, 0x80}, codec.ErrTruncated, "truncated")},
		{"11-byte varint", corrupt[uint64](bytes.Repeat([]byte{0x80}, 11), codec.ErrCorrupt, "varint overflows")},
		{"10-byte varint, continued", corrupt[uint64](bytes.Repeat([]byte{0x80}, 10), codec.ErrCorrupt, "varint overflows")},
		{"10-byte varint, overflowing", corrupt[uint64](append(bytes.Repeat([]byte{0xff}, 9), 0x02), codec.ErrCorrupt, "varint overflows")},
		{"int8 out of range", corrupt[int8](uvarint(2*200), codec.ErrCorrupt, "200 overflows int8")},
		{"int32 out of range", corrupt[int32](uvarint(1<<33), codec.ErrCorrupt, "overflows int32")},
		{"uint16 out of range", corrupt[uint16](uvarint(70000), codec.ErrCorrupt, "70000 overflows uint16")},
		{"bool 2", corrupt[bool]([]byte{2}, codec.ErrCorrupt, "invalid bool byte 0x02")},
		{"bool field", corrupt[struct{ A, B bool }]([]byte{1, 7}, codec.ErrCorrupt, "at .B")},
		{"pointer tag", corrupt[*int]([]byte{2, 0}, codec.ErrCorrupt, "invalid pointer tag")},
		{"pointer truncated", corrupt[*int64]([]byte{1}, codec.ErrTruncated, "truncated")},
		{"string length", corrupt[string](cat(huge, []byte("abc")), codec.ErrCorrupt, "length 1099511627776 exceeds the 3 remaining bytes")},
		{"named string length", corrupt[Name](cat(uvarint(4), []byte("abc")), codec.ErrCorrupt, "exceeds")},
		{"bytes length", corrupt[[]byte](cat(huge, []byte("abc")), codec.ErrCorrupt, "exceeds")},
		{"slice count", corrupt[[]int64](cat(huge, []byte{1, 2, 3}), codec.ErrCorrupt, "count 1099511627776")},
		{"slice count vs element size", corrupt[[][8]float64](cat(uvarint(2), make([]byte, 100)), codec.ErrCorrupt, "at least 64 bytes")},
		{"map count", corrupt[map[string]int](cat(huge, []byte{1, 2, 3}), codec.ErrCorrupt, "count 1099511627776")},
		{"map duplicate key", corrupt[map[string]int](cat(uvarint(2), []byte{1, 'k', 2, 1, 'k', 4}), codec.ErrCorrupt, "duplicate map key")},
		{"map zero-size keys", corrupt[map[struct{}]struct{}](uvarint(2), codec.ErrCorrupt, "zero-size key")},
		{"map value", corrupt[map[string]bool](cat(uvarint(1), []byte{1, 'k', 9}), codec.ErrCorrupt, "at [value 0]")},
		{"nested location", corrupt[outer]([]byte{1, 1, 2, 'x'}, codec.ErrCorrupt, "(decoding codec_test.outer at .in.B)")},
		{"slice element location", corrupt[[]bool]([]byte{3, 1, 0, 5}, codec.ErrCorrupt, "at [2]")},
		{"byte array", corrupt[[4]byte]([]byte{1, 2, 3}, codec.ErrTruncated, "truncated")},
		{"BinaryUnmarshaler error", corrupt[version]([]byte("\x03abc"), codec.ErrCorrupt, "bad version")},
		{"BinaryUnmarshaler length", corrupt[version](cat(huge, []byte("v1.2")), codec.ErrCorrupt, "exceeds")},
		{"time.Time", corrupt[time.Time]([]byte{2, 0xff, 0xff}, codec.ErrCorrupt, "corrupt")},
		{"time.Time field", corrupt[struct{ T time.Time }]([]byte{1, 99}, codec.ErrCorrupt, "at .T")},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestCorruptLengthDoesNotAllocate(t *testing.T) {
	huge := uvarint(1 << 40)
	rest := bytes.Repeat([]byte{1}, 64)
	tests := []struct {
		name   string
		decode func() error
	}{
		{"string", decodeErr[string](cat(huge, rest))},
		{"bytes", decodeErr[[]byte](cat(huge, rest))},
		{"named bytes", decodeErr[Blob](cat(huge, rest))},
		{"slice", decodeErr[[]int64](cat(huge, rest))},
		{"slice of strings", decodeErr[[]string](cat(huge, rest))},
		{"nested slice", decodeErr[[][]uint32](cat(uvarint(1), huge, rest))},
		{"map", decodeErr[map[int64]int64](cat(huge, rest))},
		{"pointer to big array", decodeErr[*[1 << 20]uint64](cat([]byte{1}, rest))},
		{"slice of big arrays", decodeErr[[][1 << 16]byte](cat(uvarint(1<<10), rest))},
		{"BinaryAppender", decodeErr[version](cat(huge, rest))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tt.decode()
			runtime.ReadMemStats(&after)
			if !isDecodeError(err) {
				t.Fatalf("got error %v, want ErrCorrupt or ErrTruncated", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Fatalf("decoding allocated %d bytes", n)
			}
		})
	}
}

func decodeErr[T any](in []byte) func() error {
	c := codec.MustFor[T]()
	return func() error {
		var v T
		_, err := c.Decode(in, &v)
		return err
	}
}

func TestDepthLimit(t *testing.T) {
	// 10000 nested nodes decode; one more is rejected.
	const maxDepth = 10000
	deep := func(levels int) []byte {
		// Each node is its Val (0) and a present Next, except the last.
		return append(bytes.Repeat([]byte{0, 1}, levels), 0, 0)
	}
	c := codec.MustFor[node]()
	var n node
	if _, err := c.Decode(deep(maxDepth), &n); err != nil {
		t.Fatalf("decoding %d levels: %v", maxDepth, err)
	}
	_, err := c.Decode(deep(maxDepth+1), &n)
	if !errors.Is(err, codec.ErrCorrupt) || !strings.Contains(err.Error(), "nests more than 10000") {
		t.Fatalf("decoding %d levels: %v, want ErrCorrupt", maxDepth+1, err)
	}
	// Slices count too.
	type nest []nest
	_, err = codec.MustFor[nest]().Decode(bytes.Repeat([]byte{1}, maxDepth+10), new(nest))
	if !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("decoding deeply nested slices: %v, want ErrCorrupt", err)
	}
	// A list that long round-trips.
	roundTrip(list(maxDepth))(t)
}

func TestEncodeCyclePanics(t *testing.T) {
	cycle := &node{Val: 1}
	cycle.Next = cycle
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "cycle") {
			t.Fatalf("got panic %q, want one about a cycle", msg)
		}
	}()
	codec.MustFor[*node]().Append(nil, cycle)
}

func TestAppendBinaryErrorPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"top level": func() { codec.MustFor[broken]().Append(nil, broken{}) },
		"field":     func() { codec.MustFor[struct{ B broken }]().Append(nil, struct{ B broken }{}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				if err == nil || !strings.Contains(err.Error(), "broken on purpose") {
					t.Fatalf("got panic %v, want the AppendBinary error", err)
				}
			}()
			f()
		})
	}
}

func TestNestedCountsDoNotAmplify(t *testing.T) {
	// Every level of a tree claims as many children as the rest of the
	// input could hold, then descends into its first child. Allocating
	// all claimed children up front at every level would take memory
	// quadratic in the input size.
	const levels = 5000
	var in []byte // built backwards, from the innermost level
	for range levels {
		minSize := 3 // of a tree: Name, Kids and ByName, all empty
		level := append([]byte{0}, uvarint(uint64(len(in)/minSize))...)
		in = append(level, in...)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var tr tree
	_, err := codec.MustFor[tree]().Decode(in, &tr)
	runtime.ReadMemStats(&after)
	if !isDecodeError(err) {
		t.Fatalf("got error %v, want ErrTruncated or ErrCorrupt", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Fatalf("decoding %d bytes allocated %d MiB", len(in), n>>20)
	}
	t.Logf("decoding %d bytes allocated %d KiB", len(in), (after.TotalAlloc-before.TotalAlloc)>>10)
}
