package codec_test

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream/codec"
)

// roundTrip returns a test that encodes v, decodes the result and checks
// that it gives v back.
func roundTrip[T any](v T) func(*testing.T) {
	return roundTripWant(v, v)
}

// roundTripWant is roundTrip for values that decode to a different but
// equivalent value (an empty slice or map decodes as nil).
func roundTripWant[T any](v, want T) func(*testing.T) {
	return func(t *testing.T) {
		c := codec.MustFor[T]()
		enc := encode(t, c, v)
		var got T
		n, err := c.Decode(enc, &got)
		if err != nil {
			t.Fatalf("Decode(% x): %v", enc, err)
		}
		if n != len(enc) {
			t.Fatalf("Decode consumed %d bytes, want %d", n, len(enc))
		}
		if !equal(got, want) {
			t.Fatalf("round trip of %s gave %s", brief(want), brief(got))
		}
		// Trailing input is left alone.
		n, err = c.Decode(append(enc, 0xff, 0x00), &got)
		if err != nil || n != len(enc) || !equal(got, want) {
			t.Fatalf("Decode with trailing bytes: n=%d err=%v got %s", n, err, brief(got))
		}
	}
}

// brief formats v for a test failure, cut short if long.
func brief(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// encode appends v after a prefix, checks that Append kept the prefix, and
// returns the encoding alone.
func encode[T any](t *testing.T, c codec.Codec[T], v T) []byte {
	t.Helper()
	prefix := []byte("prefix")
	buf := c.Append(bytes.Clone(prefix), v)
	if !bytes.HasPrefix(buf, prefix) {
		t.Fatalf("Append overwrote the buffer: % x", buf)
	}
	return buf[len(prefix):]
}

// equal is reflect.DeepEqual, except that top-level floats and complex
// numbers are compared by bits, so that NaN equals NaN.
func equal(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	switch va.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(va.Float()) == math.Float64bits(vb.Float())
	case reflect.Complex64, reflect.Complex128:
		ca, cb := va.Complex(), vb.Complex()
		return math.Float64bits(real(ca)) == math.Float64bits(real(cb)) &&
			math.Float64bits(imag(ca)) == math.Float64bits(imag(cb))
	}
	return reflect.DeepEqual(a, b)
}

func TestRoundTripPrimitives(t *testing.T) {
	nan32 := float32(math.NaN())
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"bool false", roundTrip(false)},
		{"bool true", roundTrip(true)},
		{"int zero", roundTrip(0)},
		{"int min", roundTrip(math.MinInt)},
		{"int max", roundTrip(math.MaxInt)},
		{"int8 min", roundTrip(int8(math.MinInt8))},
		{"int8 max", roundTrip(int8(math.MaxInt8))},
		{"int8 -1", roundTrip(int8(-1))},
		{"int16 min", roundTrip(int16(math.MinInt16))},
		{"int16 max", roundTrip(int16(math.MaxInt16))},
		{"int32 min", roundTrip(int32(math.MinInt32))},
		{"int32 max", roundTrip(int32(math.MaxInt32))},
		{"int64 min", roundTrip(int64(math.MinInt64))},
		{"int64 max", roundTrip(int64(math.MaxInt64))},
		{"int64 -64", roundTrip(int64(-64))},
		{"int64 64", roundTrip(int64(64))},
		{"uint zero", roundTrip(uint(0))},
		{"uint max", roundTrip(uint(math.MaxUint))},
		{"uint8 zero", roundTrip(uint8(0))},
		{"uint8 max", roundTrip(uint8(math.MaxUint8))},
		{"uint16 max", roundTrip(uint16(math.MaxUint16))},
		{"uint32 max", roundTrip(uint32(math.MaxUint32))},
		{"uint64 127", roundTrip(uint64(127))},
		{"uint64 128", roundTrip(uint64(128))},
		{"uint64 max", roundTrip(uint64(math.MaxUint64))},
		{"uintptr max", roundTrip(^uintptr(0))},
		{"float32 zero", roundTrip(float32(0))},
		{"float32 negative zero", roundTrip(float32(math.Copysign(0, -1)))},
		{"float32 max", roundTrip(float32(math.MaxFloat32))},
		{"float32 smallest", roundTrip(float32(math.SmallestNonzeroFloat32))},
		{"float32 +Inf", roundTrip(float32(math.Inf(1)))},
		{"float32 -Inf", roundTrip(float32(math.Inf(-1)))},
		{"float32 NaN", roundTrip(nan32)},
		{"float64 pi", roundTrip(math.Pi)},
		{"float64 negative zero", roundTrip(math.Copysign(0, -1))},
		{"float64 max", roundTrip(math.MaxFloat64)},
		{"float64 smallest", roundTrip(math.SmallestNonzeroFloat64)},
		{"float64 +Inf", roundTrip(math.Inf(1))},
		{"float64 -Inf", roundTrip(math.Inf(-1))},
		{"float64 NaN", roundTrip(math.NaN())},
		{"float64 NaN payload", roundTrip(math.Float64frombits(0x7ff8_dead_beef_0001))},
		{"complex64", roundTrip(complex64(complex(1.5, -2.25)))},
		{"complex64 NaN", roundTrip(complex(nan32, float32(math.Inf(1))))},
		{"complex128", roundTrip(complex(math.MaxFloat64, -math.SmallestNonzeroFloat64))},
		{"string empty", roundTrip("")},
		{"string ascii", roundTrip("hello")},
		{"string non-ASCII", roundTrip("héllo, 世界 🌍")},
		{"string invalid UTF-8", roundTrip("\xff\xfe\x00")},
		{"string long", roundTrip(strings.Repeat("abc", 1000))},
		{"bytes nil", roundTrip([]byte(nil))},
		{"bytes empty", roundTripWant([]byte{}, nil)},
		{"bytes", roundTrip([]byte{0, 1, 2, 0xff})},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestRoundTripNamed(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"float64", roundTrip(Celsius(-40))},
		{"float64 NaN", roundTrip(Celsius(math.NaN()))},
		{"string", roundTrip(Name("Ada Lovelace"))},
		{"int8", roundTrip(Level(math.MinInt8))},
		{"bool", roundTrip(Flag(true))},
		{"bytes", roundTrip(Blob("raw\x00bytes"))},
		{"slice", roundTrip(IDs{1, 1 << 20, math.MaxUint32})},
		{"array", roundTrip(Grid{{1, -2, 3}, {math.MinInt16, 0, math.MaxInt16}})},
		{"map", roundTrip(Tags{"a": 1, "b": -1, "": 0})},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestRoundTripComposite(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"struct with unexported fields", roundTrip(inner{a: -5, B: "b", c: []uint16{7}, flags: [4]bool{true}})},
		{"nested struct", roundTrip(sampleOuter())},
		{"zero struct", roundTrip(outer{})},
		{"empty struct", roundTrip(struct{}{})},
		{"slice of strings", roundTrip([]string{"a", "", "ü"})},
		{"slice nil", roundTrip([]int(nil))},
		{"slice empty", roundTripWant([]int{}, nil)},
		{"slice of slices", roundTrip([][]int64{{1}, nil, {math.MinInt64, math.MaxInt64}})},
		{"slice of empty structs", roundTrip(make([]struct{}, 1000))},
		{"slice of structs", roundTrip([]small{{1, "x", 2}, {}, {-1, "y", math.Inf(1)}})},
		{"array", roundTrip([3]string{"x", "", "z"})},
		{"array of bytes", roundTrip([5]byte{1, 2, 3, 4, 5})},
		{"array empty", roundTrip([0]int{})},
		{"array of arrays", roundTrip([2][2]bool{{true, false}, {false, true}})},
		{"map", roundTrip(map[string]int{"one": 1, "two": 2, "minus": -1})},
		{"map nil", roundTrip(map[string]int(nil))},
		{"map empty", roundTripWant(map[string]int{}, nil)},
		{"map struct keys", roundTrip(map[[2]int]small{{1, 2}: {A: 1}, {3, 4}: {B: "b"}})},
		{"map of maps", roundTrip(map[int8]map[string]bool{1: {"t": true}, 2: nil})},
		{"map zero-size key", roundTrip(map[struct{}]int{{}: 7})},
		{"map set", roundTrip(map[string]struct{}{"a": {}, "b": {}})},
		{"pointer nil", roundTrip((*int)(nil))},
		{"pointer", roundTrip(ptr(int64(-99)))},
		{"pointer to pointer", roundTrip(ptr(ptr("deep")))},
		{"pointer to nil pointer", roundTrip(ptr((*string)(nil)))},
		{"pointer to struct", roundTrip(&small{A: 1, B: "p", C: 0.5})},
		{"pointer to empty struct", roundTrip(&struct{}{})},
		{"linked list nil", roundTrip((*node)(nil))},
		{"linked list", roundTrip(list(100))},
		{"long linked list", roundTrip(list(5000))},
		{"linked list value", roundTrip(*list(3))},
		{"tree", roundTrip(tree{
			Name: "root",
			Kids: []tree{{Name: "a"}, {Name: "b", Kids: []tree{{Name: "b1"}}}},
			ByName: map[string]*tree{
				"x": {Name: "x", ByName: map[string]*tree{"nil": nil}},
			},
		})},
		{"mutual recursion", roundTrip(left{N: 1, R: []right{{L: &left{N: 2}}, {}}})},
		{"time.Time", roundTrip(time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC))},
		{"time.Time field", roundTrip(struct{ At time.Time }{time.Unix(1e9, 5).UTC()})},
		{"time.Time pointer", roundTrip(ptr(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)))},
		{"BinaryAppender", roundTrip(version{3, 14})},
		{"BinaryAppender slice", roundTrip([]version{{1, 0}, {2, 1}})},
		{"BinaryAppender long", roundTrip(banner(strings.Repeat("x", 300)))},
		{"large slice", roundTrip(seq(100_000, func(i int) int64 { return int64(i) * -7919 }))},
		{"large nested slices", roundTrip(seq(50, func(i int) []string { return seq(1+i*100, strconv.Itoa) }))},
		{"large map", roundTrip(maps.Collect(func(yield func(int, string) bool) {
			for i := range 20_000 {
				yield(i, strconv.Itoa(i))
			}
		}))},
		{"BinaryAppender map key", roundTrip(map[banner]version{"a": {1, 2}, banner(strings.Repeat("y", 200)): {3, 4}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func ptr[T any](v T) *T { return &v }

// seq returns f(0), ..., f(n-1).
func seq[T any](n int, f func(int) T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = f(i)
	}
	return s
}

func TestTimeLocation(t *testing.T) {
	// A time in a fixed zone keeps its instant and offset.
	c := codec.MustFor[time.Time]()
	want := time.Date(2020, 6, 1, 12, 0, 0, 0, time.FixedZone("X", 2*3600))
	var got time.Time
	if _, err := c.Decode(c.Append(nil, want), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, off := got.Zone(); off != 2*3600 {
		t.Fatalf("offset %d, want 7200", off)
	}
}

func TestEncoding(t *testing.T) {
	// Spot checks of the wire format documented in doc.go.
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"bool", codec.MustFor[bool]().Append(nil, true), []byte{1}},
		{"int -1", codec.MustFor[int]().Append(nil, -1), []byte{1}},
		{"int 1", codec.MustFor[int]().Append(nil, 1), []byte{2}},
		{"int64 -65", codec.MustFor[int64]().Append(nil, -65), []byte{0x81, 0x01}},
		{"uint16 300", codec.MustFor[uint16]().Append(nil, 300), []byte{0xac, 0x02}},
		{"uint8 255", codec.MustFor[uint8]().Append(nil, 255), []byte{0xff}},
		{"uint64 max", codec.MustFor[uint64]().Append(nil, math.MaxUint64),
			[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"float32 1", codec.MustFor[float32]().Append(nil, 1), []byte{0, 0, 0x80, 0x3f}},
		{"float64 1", codec.MustFor[float64]().Append(nil, 1), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{"string", codec.MustFor[string]().Append(nil, "hé"), []byte{3, 'h', 0xc3, 0xa9}},
		{"named string", codec.MustFor[Name]().Append(nil, "hé"), []byte{3, 'h', 0xc3, 0xa9}},
		{"bytes", codec.MustFor[[]byte]().Append(nil, []byte{9, 8}), []byte{2, 9, 8}},
		{"slice", codec.MustFor[[]int16]().Append(nil, []int16{-1, 1}), []byte{2, 1, 2}},
		{"array", codec.MustFor[[2]int16]().Append(nil, [2]int16{-1, 1}), []byte{1, 2}},
		{"map", codec.MustFor[map[string]bool]().Append(nil, map[string]bool{"k": true}), []byte{1, 1, 'k', 1}},
		{"pointer nil", codec.MustFor[*int]().Append(nil, nil), []byte{0}},
		{"pointer", codec.MustFor[*int]().Append(nil, ptr(-1)), []byte{1, 1}},
		{"struct", codec.MustFor[small]().Append(nil, small{A: 1, B: "x", C: 0}),
			[]byte{2, 1, 'x', 0, 0, 0, 0, 0, 0, 0, 0}},
		{"BinaryAppender", codec.MustFor[version]().Append(nil, version{1, 2}), []byte("\x04v1.2")},
		{"BinaryAppender field", codec.MustFor[struct{ V version }]().Append(nil, struct{ V version }{version{1, 2}}),
			[]byte("\x04v1.2")},
		{"BinaryAppender 300 bytes", codec.MustFor[banner]().Append(nil, banner(strings.Repeat("x", 298)))[:3],
			[]byte{0xac, 0x02, '<'}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s: got % x, want % x", tt.name, tt.got, tt.want)
		}
	}
}

func TestDecodeOverwrites(t *testing.T) {
	c := codec.MustFor[outer]()
	enc := c.Append(nil, outer{})
	got := sampleOuter()
	if _, err := c.Decode(enc, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, outer{}) {
		t.Fatalf("decoding the zero value into %v left %#v", "sampleOuter()", got)
	}

	// Decoding does not reuse the memory of the old value.
	old := []string{"a", "b"}
	s := old
	sc := codec.MustFor[[]string]()
	if _, err := sc.Decode(sc.Append(nil, []string{"x", "y"}), &s); err != nil {
		t.Fatal(err)
	}
	if old[0] != "a" || s[0] != "x" {
		t.Fatalf("decoding wrote into the old slice: old=%q new=%q", old, s)
	}
}

func TestConcatenated(t *testing.T) {
	var buf []byte
	buf = codec.MustFor[int64]().Append(buf, math.MinInt64)
	buf = codec.MustFor[string]().Append(buf, "two")
	buf = codec.MustFor[outer]().Append(buf, sampleOuter())
	buf = codec.MustFor[[]byte]().Append(buf, nil)
	buf = codec.MustFor[*node]().Append(buf, list(3))
	buf = codec.MustFor[version]().Append(buf, version{4, 5})
	buf = codec.MustFor[time.Time]().Append(buf, time.Unix(0, 0).UTC())
	buf = codec.MustFor[float64]().Append(buf, math.Inf(-1))
	buf = codec.MustFor[outer]().Append(buf, outer{ID: 2})

	off := 0
	next := func() []byte { return buf[off:] }
	advance := func(n int, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("at offset %d: %v", off, err)
		}
		off += n
	}
	var i int64
	advance(codec.MustFor[int64]().Decode(next(), &i))
	var s string
	advance(codec.MustFor[string]().Decode(next(), &s))
	var o1 outer
	advance(codec.MustFor[outer]().Decode(next(), &o1))
	var b []byte
	advance(codec.MustFor[[]byte]().Decode(next(), &b))
	var l *node
	advance(codec.MustFor[*node]().Decode(next(), &l))
	var v version
	advance(codec.MustFor[version]().Decode(next(), &v))
	var tm time.Time
	advance(codec.MustFor[time.Time]().Decode(next(), &tm))
	var f float64
	advance(codec.MustFor[float64]().Decode(next(), &f))
	var o2 outer
	advance(codec.MustFor[outer]().Decode(next(), &o2))

	if off != len(buf) {
		t.Fatalf("decoded %d of %d bytes", off, len(buf))
	}
	if i != math.MinInt64 || s != "two" || !reflect.DeepEqual(o1, sampleOuter()) || b != nil ||
		!reflect.DeepEqual(l, list(3)) || v != (version{4, 5}) || !tm.Equal(time.Unix(0, 0)) ||
		!math.IsInf(f, -1) || !reflect.DeepEqual(o2, outer{ID: 2}) {
		t.Fatalf("wrong values: %v %q %v %v %v %v %v %v %v", i, s, o1, b, l, v, tm, f, o2)
	}
}

func TestForIsCached(t *testing.T) {
	c1, err1 := codec.For[outer]()
	c2, err2 := codec.For[outer]()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if c1 != c2 {
		t.Fatal("For returned different codecs for the same type")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := codec.For[outer](); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("For allocates %v times on repeated calls", allocs)
	}
}

func TestConcurrentUse(t *testing.T) {
	want := sampleOuter()
	done := make(chan error)
	for range 8 {
		go func() {
			c := codec.MustFor[outer]()
			var buf []byte
			for range 200 {
				buf = c.Append(buf[:0], want)
				var got outer
				if _, err := c.Decode(buf, &got); err != nil {
					done <- err
					return
				}
				if !reflect.DeepEqual(got, want) {
					done <- errMismatch
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
