package codec_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/stream/codec"
)

// allocs asserts that f does not allocate.
func noAllocs(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(200, f); n != 0 {
		t.Errorf("%s: %v allocations per run, want 0", name, n)
	}
}

func TestEncodeDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 1024)

	sc := codec.MustFor[small]()
	sv := small{A: -123456789, B: "a string field", C: 3.25}
	noAllocs(t, "struct{A int64; B string; C float64}", func() { buf = sc.Append(buf[:0], sv) })

	oc := codec.MustFor[outer]()
	ov := sampleOuter()
	ov.M = nil // map iteration is covered below
	ov.Tags = nil
	noAllocs(t, "nested struct", func() { buf = oc.Append(buf[:0], ov) })

	strc := codec.MustFor[string]()
	noAllocs(t, "string", func() { buf = strc.Append(buf[:0], "hello") })

	tc := codec.MustFor[time.Time]()
	now := time.Now()
	noAllocs(t, "time.Time", func() { buf = tc.Append(buf[:0], now) })

	lc := codec.MustFor[*node]()
	l := list(10)
	noAllocs(t, "linked list", func() { buf = lc.Append(buf[:0], l) })

	if !raceEnabled {
		mc := codec.MustFor[map[string]int64]()
		m := map[string]int64{"a": 1, "b": 2, "c": 3}
		noAllocs(t, "map", func() { buf = mc.Append(buf[:0], m) })
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	var i64 int64
	ic := codec.MustFor[int64]()
	ienc := ic.Append(nil, -1234567890123)
	noAllocs(t, "int64", func() {
		if _, err := ic.Decode(ienc, &i64); err != nil {
			t.Fatal(err)
		}
	})

	var f64 float64
	fc := codec.MustFor[float64]()
	fenc := fc.Append(nil, 2.5)
	noAllocs(t, "float64", func() {
		if _, err := fc.Decode(fenc, &f64); err != nil {
			t.Fatal(err)
		}
	})

	type fixed struct {
		A int64
		B [3]uint16
		C float64
		D bool
		E *int // nil
	}
	var fx fixed
	xc := codec.MustFor[fixed]()
	xenc := xc.Append(nil, fixed{A: 1, B: [3]uint16{2, 3, 4}, C: 5, D: true})
	noAllocs(t, "struct without pointers", func() {
		if _, err := xc.Decode(xenc, &fx); err != nil {
			t.Fatal(err)
		}
	})

	var tm time.Time
	tc := codec.MustFor[time.Time]()
	tenc := tc.Append(nil, time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC))
	noAllocs(t, "time.Time", func() {
		if _, err := tc.Decode(tenc, &tm); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDecodeAllocatesOnlyTheValue(t *testing.T) {
	// A string allocates its bytes; a slice of ints its backing array.
	var s string
	sc := codec.MustFor[string]()
	senc := sc.Append(nil, "a string")
	if n := testing.AllocsPerRun(100, func() { sc.Decode(senc, &s) }); n != 1 {
		t.Errorf("string: %v allocations, want 1", n)
	}
	var xs []int32
	xc := codec.MustFor[[]int32]()
	xenc := xc.Append(nil, []int32{1, 2, 3, 4})
	if n := testing.AllocsPerRun(100, func() { xc.Decode(xenc, &xs) }); n != 1 {
		t.Errorf("[]int32: %v allocations, want 1", n)
	}
	var p *small
	pc := codec.MustFor[*small]()
	penc := pc.Append(nil, &small{A: 1, C: 2})
	if n := testing.AllocsPerRun(100, func() { pc.Decode(penc, &p) }); n != 1 {
		t.Errorf("*small: %v allocations, want 1", n)
	}
}
