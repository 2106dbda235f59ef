package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/stream/codec"
)

// point has a registered codec in the tests below.
type point struct{ X, Y int32 }

// fixedPoint encodes a point as two big-endian int32s.
type fixedPoint struct{}

func (fixedPoint) Append(buf []byte, p point) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(p.X))
	return binary.BigEndian.AppendUint32(buf, uint32(p.Y))
}

func (fixedPoint) Decode(buf []byte, p *point) (int, error) {
	if len(buf) < 8 {
		return 0, codec.ErrTruncated
	}
	p.X = int32(binary.BigEndian.Uint32(buf))
	p.Y = int32(binary.BigEndian.Uint32(buf[4:]))
	return 8, nil
}

// textPoint encodes a point as text such as "(1,2)".
type textPoint struct{}

func (textPoint) Append(buf []byte, p point) []byte {
	s := fmt.Sprintf("(%d,%d)", p.X, p.Y)
	return append(append(buf, byte(len(s))), s...)
}

func (textPoint) Decode(buf []byte, p *point) (int, error) {
	if len(buf) == 0 || len(buf) < 1+int(buf[0]) {
		return 0, codec.ErrTruncated
	}
	n := 1 + int(buf[0])
	if _, err := fmt.Sscanf(string(buf[1:n]), "(%d,%d)", &p.X, &p.Y); err != nil {
		return 0, err // not wrapped: the adapter must wrap it in ErrCorrupt
	}
	return n, nil
}

type withPoints struct {
	Name string
	P    point
	Ps   []point
	ByID map[point]*point
}

func TestRegister(t *testing.T) {
	t.Cleanup(func() { codec.Register[point](nil) })
	v := withPoints{Name: "w", P: point{1, -2}, Ps: []point{{3, 4}}, ByID: map[point]*point{{5, 6}: {7, 8}}}

	// Built-in: zigzag varints.
	if got := codec.MustFor[point]().Append(nil, point{1, -2}); !bytes.Equal(got, []byte{2, 3}) {
		t.Fatalf("built-in encoding % x", got)
	}

	codec.Register[point](fixedPoint{})
	c := codec.MustFor[point]()
	if _, ok := c.(fixedPoint); !ok {
		t.Fatalf("For returned %T, want the registered fixedPoint", c)
	}
	if got := c.Append(nil, point{1, -2}); !bytes.Equal(got, []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe}) {
		t.Fatalf("registered encoding % x", got)
	}
	// Inside other types too.
	wc := codec.MustFor[withPoints]()
	enc := wc.Append(nil, v)
	if want := 2 + 8 + 1 + 8 + 1 + 8 + 1 + 8; len(enc) != want {
		t.Fatalf("encoding of withPoints is %d bytes, want %d", len(enc), want)
	}
	roundTrip(v)(t)

	// Registering again replaces.
	codec.Register[point](textPoint{})
	if got := codec.MustFor[point]().Append(nil, point{1, -2}); string(got) != "\x06(1,-2)" {
		t.Fatalf("re-registered encoding %q", got)
	}
	if enc := codec.MustFor[withPoints]().Append(nil, v); !bytes.Contains(enc, []byte("(5,6)")) {
		t.Fatalf("struct does not use the re-registered codec: %q", enc)
	}
	roundTrip(v)(t)

	// Errors of a registered codec are reported as corrupt input.
	var w withPoints
	_, err := codec.MustFor[withPoints]().Decode([]byte("\x01w\x06(x,y)\x00\x00"), &w)
	if !errors.Is(err, codec.ErrCorrupt) || !strings.Contains(err.Error(), "at .P") {
		t.Fatalf("got error %v, want ErrCorrupt at .P", err)
	}

	// Registering nil restores the built-in.
	codec.Register[point](nil)
	if got := codec.MustFor[point]().Append(nil, point{1, -2}); !bytes.Equal(got, []byte{2, 3}) {
		t.Fatalf("encoding after unregistering % x", got)
	}
}

// stamp has BinaryAppender methods, which a registered codec overrides.
type stamp struct{ N uint8 }

func (s stamp) AppendBinary(b []byte) ([]byte, error) { return append(b, 'S', s.N), nil }

func (s *stamp) UnmarshalBinary(b []byte) error {
	if len(b) != 2 || b[0] != 'S' {
		return errors.New("not a stamp")
	}
	s.N = b[1]
	return nil
}

type rawStamp struct{}

func (rawStamp) Append(buf []byte, s stamp) []byte { return append(buf, s.N) }

func (rawStamp) Decode(buf []byte, s *stamp) (int, error) {
	if len(buf) == 0 {
		return 0, codec.ErrTruncated
	}
	s.N = buf[0]
	return 1, nil
}

func TestRegisterOverridesBinaryAppender(t *testing.T) {
	t.Cleanup(func() { codec.Register[stamp](nil) })
	if got := codec.MustFor[[]stamp]().Append(nil, []stamp{{7}}); string(got) != "\x01\x02S\x07" {
		t.Fatalf("BinaryAppender encoding %q", got)
	}
	codec.Register[stamp](rawStamp{})
	if got := codec.MustFor[[]stamp]().Append(nil, []stamp{{7}}); string(got) != "\x01\x07" {
		t.Fatalf("registered encoding %q", got)
	}
	roundTrip([]stamp{{1}, {2}})(t)
}

// hook is a func type, which only a registered codec can encode.
type hook func() string

// hookByName encodes a hook as the name of one of a fixed set of hooks.
type hookByName struct{}

var hooks = map[string]hook{"hello": func() string { return "hello" }}

func (hookByName) Append(buf []byte, h hook) []byte {
	if h == nil {
		return append(buf, 0)
	}
	return codec.MustFor[string]().Append(buf, h())
}

func (hookByName) Decode(buf []byte, h *hook) (int, error) {
	var name string
	n, err := codec.MustFor[string]().Decode(buf, &name)
	if err != nil {
		return 0, err
	}
	*h = hooks[name]
	return n, nil
}

type withHook struct {
	ID   int
	Hook hook
}

func TestRegisterMakesUnsupportedTypeWork(t *testing.T) {
	t.Cleanup(func() { codec.Register[hook](nil) })
	if _, err := codec.For[withHook](); !errors.Is(err, codec.ErrUnsupported) {
		t.Fatalf("For[withHook] before Register: %v", err)
	}
	codec.Register[hook](hookByName{})
	c, err := codec.For[withHook]()
	if err != nil {
		t.Fatal(err)
	}
	var got withHook
	if _, err := c.Decode(c.Append(nil, withHook{ID: 1, Hook: hooks["hello"]}), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != 1 || got.Hook == nil || got.Hook() != "hello" {
		t.Fatalf("got %+v", got)
	}
}
