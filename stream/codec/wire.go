package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// maxVarintLen is the longest valid varint encoding of a 64-bit value.
const maxVarintLen = 10

var errVarintOverflow = fmt.Errorf("%w: varint overflows 64 bits", ErrCorrupt)

// appendUvarint appends x as an unsigned LEB128 varint.
func appendUvarint(buf []byte, x uint64) []byte {
	for x >= 0x80 {
		buf = append(buf, byte(x)|0x80)
		x >>= 7
	}
	return append(buf, byte(x))
}

// appendVarint appends x zigzag-encoded as a varint, so that values of
// small magnitude take few bytes whatever their sign.
func appendVarint(buf []byte, x int64) []byte {
	return appendUvarint(buf, uint64(x<<1)^uint64(x>>63))
}

// readUvarint decodes a uvarint from the front of buf and returns it with
// the number of bytes it took.
func readUvarint(buf []byte) (uint64, int, error) {
	if len(buf) > 0 && buf[0] < 0x80 {
		return uint64(buf[0]), 1, nil
	}
	return readUvarintSlow(buf)
}

func readUvarintSlow(buf []byte) (uint64, int, error) {
	var x uint64
	for i := 0; i < len(buf); i++ {
		b := buf[i]
		if i == maxVarintLen-1 && b > 1 {
			// The tenth byte may only supply the 64th bit.
			return 0, 0, errVarintOverflow
		}
		if b < 0x80 {
			return x | uint64(b)<<(7*i), i + 1, nil
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, 0, ErrTruncated
}

// readVarint decodes a zigzag varint from the front of buf.
func readVarint(buf []byte) (int64, int, error) {
	u, n, err := readUvarint(buf)
	return int64(u>>1) ^ -int64(u&1), n, err
}

// readIntBits decodes a zigzag varint that must fit in a signed integer of
// the given width.
func readIntBits(buf []byte, bits uint) (int64, int, error) {
	x, n, err := readVarint(buf)
	if err != nil {
		return 0, 0, err
	}
	if bits < 64 && (x < -1<<(bits-1) || x >= 1<<(bits-1)) {
		return 0, 0, fmt.Errorf("%w: %d overflows int%d", ErrCorrupt, x, bits)
	}
	return x, n, nil
}

// readUintBits decodes a uvarint that must fit in an unsigned integer of the
// given width.
func readUintBits(buf []byte, bits uint) (uint64, int, error) {
	x, n, err := readUvarint(buf)
	if err != nil {
		return 0, 0, err
	}
	if bits < 64 && x >= 1<<bits {
		return 0, 0, fmt.Errorf("%w: %d overflows uint%d", ErrCorrupt, x, bits)
	}
	return x, n, nil
}

// readLen decodes a uvarint byte length and checks it against the input
// that follows it. It returns the length and the size of the prefix.
func readLen(buf []byte) (int, int, error) {
	u, k, err := readUvarint(buf)
	if err != nil {
		return 0, 0, err
	}
	if rem := len(buf) - k; u > uint64(rem) {
		return 0, 0, fmt.Errorf("%w: length %d exceeds the %d remaining bytes", ErrCorrupt, u, rem)
	}
	return int(u), k, nil
}

// readCount decodes a uvarint element count whose elements take at least
// minSize bytes each, and checks that they can fit in the remaining input,
// so that a corrupt count cannot cause a huge allocation. A minSize of 0
// means the elements take no space at all.
func readCount(buf []byte, minSize int) (int, int, error) {
	u, k, err := readUvarint(buf)
	if err != nil {
		return 0, 0, err
	}
	rem := len(buf) - k
	if minSize == 0 {
		if u > math.MaxInt {
			return 0, 0, fmt.Errorf("%w: count %d overflows int", ErrCorrupt, u)
		}
	} else if u > uint64(rem/minSize) {
		return 0, 0, fmt.Errorf("%w: count %d of elements of at least %d bytes exceeds the %d remaining bytes",
			ErrCorrupt, u, minSize, rem)
	}
	return int(u), k, nil
}

func appendBool(buf []byte, v bool) []byte {
	if v {
		return append(buf, 1)
	}
	return append(buf, 0)
}

func readBool(buf []byte) (bool, error) {
	if len(buf) == 0 {
		return false, ErrTruncated
	}
	switch buf[0] {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("%w: invalid bool byte %#02x", ErrCorrupt, buf[0])
}

func appendFloat32(buf []byte, f float32) []byte {
	return binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
}

func appendFloat64(buf []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
}

func readFloat32(buf []byte) (float32, error) {
	if len(buf) < 4 {
		return 0, ErrTruncated
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(buf)), nil
}

func readFloat64(buf []byte) (float64, error) {
	if len(buf) < 8 {
		return 0, ErrTruncated
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(buf)), nil
}

func appendString(buf []byte, s string) []byte {
	return append(appendUvarint(buf, uint64(len(s))), s...)
}

func readString(buf []byte) (string, int, error) {
	n, k, err := readLen(buf)
	if err != nil {
		return "", 0, err
	}
	return string(buf[k : k+n]), k + n, nil
}

func appendBytes(buf, b []byte) []byte {
	return append(appendUvarint(buf, uint64(len(b))), b...)
}

// readBytes decodes a length-prefixed byte slice into fresh memory. An empty
// slice decodes as nil.
func readBytes(buf []byte) ([]byte, int, error) {
	n, k, err := readLen(buf)
	if err != nil || n == 0 {
		return nil, k, err
	}
	src := buf[k : k+n]
	b := make([]byte, len(src))
	copy(b, src)
	return b, k + n, nil
}
