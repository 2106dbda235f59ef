package codec

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"reflect"
	"unsafe"
)

var (
	appenderType    = reflect.TypeFor[encoding.BinaryAppender]()
	unmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// isBinaryPair reports whether t encodes itself: t implements
// encoding.BinaryAppender and *t implements encoding.BinaryUnmarshaler.
func isBinaryPair(t reflect.Type) bool {
	return t.Implements(appenderType) && reflect.PointerTo(t).Implements(unmarshalerType)
}

// binaryCodec is the codec of a type T that implements
// encoding.BinaryAppender, with *T implementing encoding.BinaryUnmarshaler.
// A value is encoded as a uvarint length and then what AppendBinary appends.
type binaryCodec[T any] struct{}

// Append panics if AppendBinary returns an error, as Append cannot report it.
func (binaryCodec[T]) Append(buf []byte, v T) []byte {
	// AppendBinary has a value receiver (T implements it), so calling it
	// through a pointer copies v and the pointer does not outlive the call.
	a := any((*T)(noescape(unsafe.Pointer(&v)))).(encoding.BinaryAppender)
	buf, err := appendBinary(buf, a)
	if err != nil {
		panic(encodeFailed(reflect.TypeFor[T](), err))
	}
	return buf
}

func (binaryCodec[T]) Decode(buf []byte, v *T) (int, error) {
	var zero T
	*v = zero
	n, err := decodeBinary(buf, any(v).(encoding.BinaryUnmarshaler))
	if err != nil {
		return 0, decodeFailed(err, reflect.TypeFor[T]())
	}
	return n, nil
}

// binaryPlan fills p for a type that encodes itself, when it appears inside
// another type.
func binaryPlan(p *plan) {
	t := p.typ
	p.origin = binaryPair
	p.minSize = 1
	p.enc = func(buf []byte, ptr unsafe.Pointer, _ int) []byte {
		buf, err := appendBinary(buf, reflect.NewAt(t, ptr).Interface().(encoding.BinaryAppender))
		if err != nil {
			panic(encodeFailed(t, err))
		}
		return buf
	}
	p.dec = func(buf []byte, ptr unsafe.Pointer, _ int) (int, error) {
		v := reflect.NewAt(t, ptr)
		v.Elem().SetZero()
		return decodeBinary(buf, v.Interface().(encoding.BinaryUnmarshaler))
	}
}

func encodeFailed(t reflect.Type, err error) error {
	return fmt.Errorf("codec: cannot encode %v: %w", t, err)
}

// appendBinary appends the length-prefixed output of a.AppendBinary to buf
// without copying it through a temporary buffer.
func appendBinary(buf []byte, a encoding.BinaryAppender) ([]byte, error) {
	start := len(buf)
	// Reserve one byte for the length, which is enough below 128 bytes.
	buf, err := a.AppendBinary(append(buf, 0))
	if err != nil {
		return nil, err
	}
	n := len(buf) - start - 1
	if n < 0x80 {
		buf[start] = byte(n)
		return buf, nil
	}
	// Make room for a longer length and move the data after it.
	var tmp [maxVarintLen]byte
	lenBytes := binary.PutUvarint(tmp[:], uint64(n))
	buf = append(buf, tmp[1:lenBytes]...)
	copy(buf[start+lenBytes:], buf[start+1:start+1+n])
	copy(buf[start:], tmp[:lenBytes])
	return buf, nil
}

// decodeBinary decodes a length-prefixed encoding with u.UnmarshalBinary.
func decodeBinary(buf []byte, u encoding.BinaryUnmarshaler) (int, error) {
	n, k, err := readLen(buf)
	if err != nil {
		return 0, err
	}
	// Cap the slice so UnmarshalBinary cannot append into the input.
	if err := u.UnmarshalBinary(buf[k : k+n : k+n]); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return k + n, nil
}
