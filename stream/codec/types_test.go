package codec_test

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Types shared by the tests.

type (
	Celsius float64
	Name    string
	Level   int8
	Blob    []byte
	IDs     []uint32
	Grid    [2][3]int16
	Tags    map[Name]Level
	Flag    bool
)

type inner struct {
	a     int32
	B     string
	c     []uint16
	flags [4]bool
}

type outer struct {
	ID      uint64
	in      inner
	Ptr     *inner
	Arr     [3]int8
	M       map[string][]int
	private bool
	When    time.Time
	_       int32
	Empty   struct{}
	Temp    Celsius
	Raw     [4]byte
	C       complex64
	Tags    Tags
}

func sampleOuter() outer {
	return outer{
		ID:      42,
		in:      inner{a: -7, B: "héllo, 世界", c: []uint16{1, 300, 65535}, flags: [4]bool{true, false, true, true}},
		Ptr:     &inner{a: 1, B: "", c: nil},
		Arr:     [3]int8{-128, 0, 127},
		M:       map[string][]int{"a": {1, 2, 3}, "": {-1}, "z": nil},
		private: true,
		When:    time.Date(2024, 2, 29, 13, 14, 15, 16, time.UTC),
		Temp:    -273.15,
		Raw:     [4]byte{0, 1, 0xfe, 0xff},
		C:       complex(1.5, -2),
		Tags:    Tags{"env": 3, "tier": -1},
	}
}

// node is a recursive linked list.
type node struct {
	Val  int
	Next *node
}

func list(n int) *node {
	var head *node
	for i := n; i > 0; i-- {
		head = &node{Val: i, Next: head}
	}
	return head
}

// tree recurses through a slice and a map.
type tree struct {
	Name   string
	Kids   []tree
	ByName map[string]*tree
}

// left and right are mutually recursive.
type left struct {
	R []right
	N int16
}

type right struct {
	L *left
}

// version encodes itself as text, with BinaryAppender/BinaryUnmarshaler.
type version struct{ Major, Minor int }

func (v version) AppendBinary(b []byte) ([]byte, error) {
	return fmt.Appendf(b, "v%d.%d", v.Major, v.Minor), nil
}

func (v *version) UnmarshalBinary(b []byte) error {
	if _, err := fmt.Sscanf(string(b), "v%d.%d", &v.Major, &v.Minor); err != nil {
		return fmt.Errorf("bad version %q: %w", b, err)
	}
	return nil
}

// banner encodes itself between angle brackets; long banners need a
// multi-byte length prefix.
type banner string

func (s banner) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, '<')
	b = append(b, s...)
	return append(b, '>'), nil
}

func (s *banner) UnmarshalBinary(b []byte) error {
	t, ok := strings.CutPrefix(string(b), "<")
	if t, ok2 := strings.CutSuffix(t, ">"); ok && ok2 {
		*s = banner(t)
		return nil
	}
	return errors.New("missing brackets")
}

// broken fails to encode.
type broken struct{}

func (broken) AppendBinary(b []byte) ([]byte, error) { return b, errors.New("broken on purpose") }

func (*broken) UnmarshalBinary([]byte) error { return nil }

// small is the struct of the allocation tests and benchmarks.
type small struct {
	A int64
	B string
	C float64
}

// record is a richer struct for benchmarks.
type record struct {
	Key     string
	Seq     uint64
	At      time.Time
	Score   float64
	Tags    []string
	Attrs   map[string]int32
	Payload []byte
	Parent  *small
}

func sampleRecord() record {
	return record{
		Key:     "user-123456",
		Seq:     987654321,
		At:      time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Score:   0.75,
		Tags:    []string{"alpha", "beta", "gamma"},
		Attrs:   map[string]int32{"clicks": 12, "views": 340},
		Payload: []byte("some opaque payload bytes"),
		Parent:  &small{A: 1, B: "parent", C: 2.5},
	}
}

var errMismatch = errors.New("decoded value differs")
