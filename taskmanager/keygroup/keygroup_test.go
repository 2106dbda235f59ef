package keygroup

import (
	"math"
	"testing"
)

func TestRangeCoversEveryGroupOnce(t *testing.T) {
	for _, maxP := range []int{1, 7, 128, 1000} {
		for p := 1; p <= maxP && p <= 17; p++ {
			next := 0
			for i := range p {
				start, end := Range(maxP, p, i)
				if start != next {
					t.Fatalf("maxP=%d p=%d subtask %d starts at %d, want %d", maxP, p, i, start, next)
				}
				for kg := start; kg < end; kg++ {
					if got := Subtask(kg, maxP, p); got != i {
						t.Fatalf("maxP=%d p=%d: key group %d in range of %d but Subtask says %d", maxP, p, kg, i, got)
					}
				}
				next = end
			}
			if next != maxP {
				t.Fatalf("maxP=%d p=%d: ranges end at %d", maxP, p, next)
			}
		}
	}
}

func TestOfIsInRangeAndSpreads(t *testing.T) {
	h, err := NewHasher[string]()
	if err != nil {
		t.Fatal(err)
	}
	const maxP = 128
	counts := make([]int, maxP)
	for i := range 128_000 {
		kg := Of(h(string(rune('a'+i%26))+string(rune(i))), maxP)
		if kg < 0 || kg >= maxP {
			t.Fatalf("key group %d out of range", kg)
		}
		counts[kg]++
	}
	for kg, c := range counts {
		if c < 500 || c > 1500 {
			t.Fatalf("key group %d got %d of 128000 keys; hash spreads badly", kg, c)
		}
	}
}

type point struct{ X, Y int32 }

func TestHashersAreStable(t *testing.T) {
	// Fixed values: a change here breaks routing between versions and restores
	// of savepoints, so it must be deliberate.
	hs, _ := NewHasher[string]()
	hi, _ := NewHasher[int64]()
	hp, err := NewHasher[point]()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := hs("sluice"), hs("sluice"); a != b {
		t.Fatal("string hash not deterministic")
	}
	if hi(42) != hashUint(42) {
		t.Fatal("int64 hash differs from its definition")
	}
	if hp(point{1, 2}) != hp(point{1, 2}) || hp(point{1, 2}) == hp(point{2, 1}) {
		t.Fatal("struct hash not deterministic or ignores fields")
	}
	hint, _ := NewHasher[int]()
	if hint(7) != hi(7) {
		t.Fatal("int and int64 keys of the same value must hash alike")
	}
}

func TestNegativeZeroKeyHashesLikeZero(t *testing.T) {
	h, _ := NewHasher[float64]()
	if negZero := math.Copysign(0, -1); h(negZero) != h(0) {
		t.Fatal("-0.0 and +0.0 are equal keys but hash apart")
	}
}

func TestHasherRejectsUnencodableKeys(t *testing.T) {
	if _, err := NewHasher[func()](); err == nil {
		t.Fatal("want an error for a func key type")
	}
}

func BenchmarkOfString(b *testing.B) {
	h, _ := NewHasher[string]()
	for i := 0; b.Loop(); i++ {
		_ = Of(h("some-word"), 128)
	}
}
