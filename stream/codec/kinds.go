package codec

import (
	"reflect"
	"strconv"
	"unsafe"
)

// This file holds the encoders and decoders of the primitive kinds, working
// on a pointer to the value. Compiled plans use them for fields, elements
// and named types; the dedicated codecs in primitive.go wrap them.

const uintptrBits = uint(8 * unsafe.Sizeof(uintptr(0)))

// kindPlan fills p for a type of primitive kind and reports whether the
// kind is one.
func kindPlan(p *plan) bool {
	type funcs struct {
		enc     encodeFunc
		dec     decodeFunc
		minSize int
	}
	var f funcs
	switch p.typ.Kind() {
	case reflect.Bool:
		f = funcs{encBool, decBool, 1}
	case reflect.Int:
		f = funcs{encInt, decInt, 1}
	case reflect.Int8:
		f = funcs{encInt8, decInt8, 1}
	case reflect.Int16:
		f = funcs{encInt16, decInt16, 1}
	case reflect.Int32:
		f = funcs{encInt32, decInt32, 1}
	case reflect.Int64:
		f = funcs{encInt64, decInt64, 1}
	case reflect.Uint:
		f = funcs{encUint, decUint, 1}
	case reflect.Uint8:
		f = funcs{encUint8, decUint8, 1}
	case reflect.Uint16:
		f = funcs{encUint16, decUint16, 1}
	case reflect.Uint32:
		f = funcs{encUint32, decUint32, 1}
	case reflect.Uint64:
		f = funcs{encUint64, decUint64, 1}
	case reflect.Uintptr:
		f = funcs{encUintptr, decUintptr, 1}
	case reflect.Float32:
		f = funcs{encFloat32, decFloat32, 4}
	case reflect.Float64:
		f = funcs{encFloat64, decFloat64, 8}
	case reflect.Complex64:
		f = funcs{encComplex64, decComplex64, 8}
	case reflect.Complex128:
		f = funcs{encComplex128, decComplex128, 16}
	case reflect.String:
		f = funcs{encString, decString, 1}
	default:
		return false
	}
	p.enc, p.dec, p.minSize = f.enc, f.dec, f.minSize
	return true
}

func encBool(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendBool(buf, *(*bool)(p))
}

func decBool(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, err := readBool(buf)
	if err != nil {
		return 0, err
	}
	*(*bool)(p) = v
	return 1, nil
}

func encInt(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendVarint(buf, int64(*(*int)(p)))
}

func decInt(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readIntBits(buf, strconv.IntSize)
	if err != nil {
		return 0, err
	}
	*(*int)(p) = int(v)
	return n, nil
}

func encInt8(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendVarint(buf, int64(*(*int8)(p)))
}

func decInt8(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readIntBits(buf, 8)
	if err != nil {
		return 0, err
	}
	*(*int8)(p) = int8(v)
	return n, nil
}

func encInt16(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendVarint(buf, int64(*(*int16)(p)))
}

func decInt16(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readIntBits(buf, 16)
	if err != nil {
		return 0, err
	}
	*(*int16)(p) = int16(v)
	return n, nil
}

func encInt32(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendVarint(buf, int64(*(*int32)(p)))
}

func decInt32(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readIntBits(buf, 32)
	if err != nil {
		return 0, err
	}
	*(*int32)(p) = int32(v)
	return n, nil
}

func encInt64(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendVarint(buf, *(*int64)(p))
}

func decInt64(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readVarint(buf)
	if err != nil {
		return 0, err
	}
	*(*int64)(p) = v
	return n, nil
}

func encUint(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendUvarint(buf, uint64(*(*uint)(p)))
}

func decUint(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readUintBits(buf, strconv.IntSize)
	if err != nil {
		return 0, err
	}
	*(*uint)(p) = uint(v)
	return n, nil
}

// uint8 is written as one raw byte, so []byte and [N]byte are their bytes.

func encUint8(buf []byte, p unsafe.Pointer, _ int) []byte {
	return append(buf, *(*uint8)(p))
}

func decUint8(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	if len(buf) == 0 {
		return 0, ErrTruncated
	}
	*(*uint8)(p) = buf[0]
	return 1, nil
}

func encUint16(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendUvarint(buf, uint64(*(*uint16)(p)))
}

func decUint16(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readUintBits(buf, 16)
	if err != nil {
		return 0, err
	}
	*(*uint16)(p) = uint16(v)
	return n, nil
}

func encUint32(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendUvarint(buf, uint64(*(*uint32)(p)))
}

func decUint32(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readUintBits(buf, 32)
	if err != nil {
		return 0, err
	}
	*(*uint32)(p) = uint32(v)
	return n, nil
}

func encUint64(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendUvarint(buf, *(*uint64)(p))
}

func decUint64(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readUvarint(buf)
	if err != nil {
		return 0, err
	}
	*(*uint64)(p) = v
	return n, nil
}

func encUintptr(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendUvarint(buf, uint64(*(*uintptr)(p)))
}

func decUintptr(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, n, err := readUintBits(buf, uintptrBits)
	if err != nil {
		return 0, err
	}
	*(*uintptr)(p) = uintptr(v)
	return n, nil
}

func encFloat32(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendFloat32(buf, *(*float32)(p))
}

func decFloat32(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, err := readFloat32(buf)
	if err != nil {
		return 0, err
	}
	*(*float32)(p) = v
	return 4, nil
}

func encFloat64(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendFloat64(buf, *(*float64)(p))
}

func decFloat64(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	v, err := readFloat64(buf)
	if err != nil {
		return 0, err
	}
	*(*float64)(p) = v
	return 8, nil
}

func encComplex64(buf []byte, p unsafe.Pointer, _ int) []byte {
	c := *(*complex64)(p)
	return appendFloat32(appendFloat32(buf, real(c)), imag(c))
}

func decComplex64(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	if len(buf) < 8 {
		return 0, ErrTruncated
	}
	re, _ := readFloat32(buf)
	im, _ := readFloat32(buf[4:])
	*(*complex64)(p) = complex(re, im)
	return 8, nil
}

func encComplex128(buf []byte, p unsafe.Pointer, _ int) []byte {
	c := *(*complex128)(p)
	return appendFloat64(appendFloat64(buf, real(c)), imag(c))
}

func decComplex128(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	if len(buf) < 16 {
		return 0, ErrTruncated
	}
	re, _ := readFloat64(buf)
	im, _ := readFloat64(buf[8:])
	*(*complex128)(p) = complex(re, im)
	return 16, nil
}

func encString(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendString(buf, *(*string)(p))
}

func decString(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	s, n, err := readString(buf)
	if err != nil {
		return 0, err
	}
	*(*string)(p) = s
	return n, nil
}

// encBytes and decBytes handle any slice type whose elements are built-in
// uint8s ([]byte and named types like it).

func encBytes(buf []byte, p unsafe.Pointer, _ int) []byte {
	return appendBytes(buf, *(*[]byte)(p))
}

func decBytes(buf []byte, p unsafe.Pointer, _ int) (int, error) {
	b, n, err := readBytes(buf)
	if err != nil {
		return 0, err
	}
	*(*[]byte)(p) = b
	return n, nil
}
