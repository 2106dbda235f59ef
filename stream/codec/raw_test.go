package codec

import (
	"bytes"
	"testing"
)

type rawID [16]byte

type customID [4]byte

type customIDCodec struct{}

func (customIDCodec) Append(buf []byte, v customID) []byte { return append(buf, 'c', v[0]) }
func (customIDCodec) Decode(buf []byte, v *customID) (int, error) {
	if len(buf) < 2 {
		return 0, ErrTruncated
	}
	*v = customID{buf[1]}
	return 2, nil
}

func TestRawSize(t *testing.T) {
	Register[customID](customIDCodec{})
	defer Register[customID](nil)
	check := func(name string, size int, raw bool, want int, wantRaw bool) {
		t.Helper()
		if size != want || raw != wantRaw {
			t.Errorf("%s: RawSize = %d, %v; want %d, %v", name, size, raw, want, wantRaw)
		}
	}
	s, r := RawSize[[100]byte]()
	check("[100]byte", s, r, 100, true)
	s, r = RawSize[rawID]()
	check("rawID", s, r, 16, true)
	s, r = RawSize[[3][8]byte]()
	check("[3][8]byte", s, r, 24, true)
	s, r = RawSize[customID]()
	check("registered codec", s, r, 0, false)
	s, r = RawSize[[2]customID]()
	check("array of a registered codec", s, r, 0, false)
	s, r = RawSize[string]()
	check("string", s, r, 0, false)
	s, r = RawSize[struct{ A [4]byte }]()
	check("struct", s, r, 0, false)

	// A raw value's encoding is its memory image.
	v := [3][8]byte{{1, 2}, {3}, {4, 5, 6}}
	enc := MustFor[[3][8]byte]().Append(nil, v)
	want := append(append(append([]byte{}, v[0][:]...), v[1][:]...), v[2][:]...)
	if !bytes.Equal(enc, want) {
		t.Fatalf("encoding %v, want the memory image %v", enc, want)
	}
}
