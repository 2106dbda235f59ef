package codec

import "unsafe"

// primitiveCodec returns the dedicated codec of T if T is exactly one of the
// predeclared primitive types or []byte, and nil otherwise. Named types with
// a primitive underlying type go through the compiled path instead.
func primitiveCodec[T any]() Codec[T] {
	var c any
	switch any(*new(T)).(type) {
	case bool:
		c = boolCodec{}
	case int:
		c = intCodec{}
	case int8:
		c = int8Codec{}
	case int16:
		c = int16Codec{}
	case int32:
		c = int32Codec{}
	case int64:
		c = int64Codec{}
	case uint:
		c = uintCodec{}
	case uint8:
		c = uint8Codec{}
	case uint16:
		c = uint16Codec{}
	case uint32:
		c = uint32Codec{}
	case uint64:
		c = uint64Codec{}
	case uintptr:
		c = uintptrCodec{}
	case float32:
		c = float32Codec{}
	case float64:
		c = float64Codec{}
	case complex64:
		c = complex64Codec{}
	case complex128:
		c = complex128Codec{}
	case string:
		c = stringCodec{}
	case []byte:
		c = bytesCodec{}
	default:
		return nil
	}
	return c.(Codec[T])
}

// The dedicated codecs below call the kind functions directly, so the
// compiler sees that &v does not escape and they do not allocate.

type boolCodec struct{}

func (boolCodec) Append(buf []byte, v bool) []byte {
	return encBool(buf, unsafe.Pointer(&v), 0)
}

func (boolCodec) Decode(buf []byte, v *bool) (int, error) {
	return decBool(buf, unsafe.Pointer(v), 0)
}

type intCodec struct{}

func (intCodec) Append(buf []byte, v int) []byte {
	return encInt(buf, unsafe.Pointer(&v), 0)
}

func (intCodec) Decode(buf []byte, v *int) (int, error) {
	return decInt(buf, unsafe.Pointer(v), 0)
}

type int8Codec struct{}

func (int8Codec) Append(buf []byte, v int8) []byte {
	return encInt8(buf, unsafe.Pointer(&v), 0)
}

func (int8Codec) Decode(buf []byte, v *int8) (int, error) {
	return decInt8(buf, unsafe.Pointer(v), 0)
}

type int16Codec struct{}

func (int16Codec) Append(buf []byte, v int16) []byte {
	return encInt16(buf, unsafe.Pointer(&v), 0)
}

func (int16Codec) Decode(buf []byte, v *int16) (int, error) {
	return decInt16(buf, unsafe.Pointer(v), 0)
}

type int32Codec struct{}

func (int32Codec) Append(buf []byte, v int32) []byte {
	return encInt32(buf, unsafe.Pointer(&v), 0)
}

func (int32Codec) Decode(buf []byte, v *int32) (int, error) {
	return decInt32(buf, unsafe.Pointer(v), 0)
}

type int64Codec struct{}

func (int64Codec) Append(buf []byte, v int64) []byte {
	return encInt64(buf, unsafe.Pointer(&v), 0)
}

func (int64Codec) Decode(buf []byte, v *int64) (int, error) {
	return decInt64(buf, unsafe.Pointer(v), 0)
}

type uintCodec struct{}

func (uintCodec) Append(buf []byte, v uint) []byte {
	return encUint(buf, unsafe.Pointer(&v), 0)
}

func (uintCodec) Decode(buf []byte, v *uint) (int, error) {
	return decUint(buf, unsafe.Pointer(v), 0)
}

type uint8Codec struct{}

func (uint8Codec) Append(buf []byte, v uint8) []byte {
	return encUint8(buf, unsafe.Pointer(&v), 0)
}

func (uint8Codec) Decode(buf []byte, v *uint8) (int, error) {
	return decUint8(buf, unsafe.Pointer(v), 0)
}

type uint16Codec struct{}

func (uint16Codec) Append(buf []byte, v uint16) []byte {
	return encUint16(buf, unsafe.Pointer(&v), 0)
}

func (uint16Codec) Decode(buf []byte, v *uint16) (int, error) {
	return decUint16(buf, unsafe.Pointer(v), 0)
}

type uint32Codec struct{}

func (uint32Codec) Append(buf []byte, v uint32) []byte {
	return encUint32(buf, unsafe.Pointer(&v), 0)
}

func (uint32Codec) Decode(buf []byte, v *uint32) (int, error) {
	return decUint32(buf, unsafe.Pointer(v), 0)
}

type uint64Codec struct{}

func (uint64Codec) Append(buf []byte, v uint64) []byte {
	return encUint64(buf, unsafe.Pointer(&v), 0)
}

func (uint64Codec) Decode(buf []byte, v *uint64) (int, error) {
	return decUint64(buf, unsafe.Pointer(v), 0)
}

type uintptrCodec struct{}

func (uintptrCodec) Append(buf []byte, v uintptr) []byte {
	return encUintptr(buf, unsafe.Pointer(&v), 0)
}

func (uintptrCodec) Decode(buf []byte, v *uintptr) (int, error) {
	return decUintptr(buf, unsafe.Pointer(v), 0)
}

type float32Codec struct{}

func (float32Codec) Append(buf []byte, v float32) []byte {
	return encFloat32(buf, unsafe.Pointer(&v), 0)
}

func (float32Codec) Decode(buf []byte, v *float32) (int, error) {
	return decFloat32(buf, unsafe.Pointer(v), 0)
}

type float64Codec struct{}

func (float64Codec) Append(buf []byte, v float64) []byte {
	return encFloat64(buf, unsafe.Pointer(&v), 0)
}

func (float64Codec) Decode(buf []byte, v *float64) (int, error) {
	return decFloat64(buf, unsafe.Pointer(v), 0)
}

type complex64Codec struct{}

func (complex64Codec) Append(buf []byte, v complex64) []byte {
	return encComplex64(buf, unsafe.Pointer(&v), 0)
}

func (complex64Codec) Decode(buf []byte, v *complex64) (int, error) {
	return decComplex64(buf, unsafe.Pointer(v), 0)
}

type complex128Codec struct{}

func (complex128Codec) Append(buf []byte, v complex128) []byte {
	return encComplex128(buf, unsafe.Pointer(&v), 0)
}

func (complex128Codec) Decode(buf []byte, v *complex128) (int, error) {
	return decComplex128(buf, unsafe.Pointer(v), 0)
}

type stringCodec struct{}

func (stringCodec) Append(buf []byte, v string) []byte {
	return encString(buf, unsafe.Pointer(&v), 0)
}

func (stringCodec) Decode(buf []byte, v *string) (int, error) {
	return decString(buf, unsafe.Pointer(v), 0)
}

type bytesCodec struct{}

func (bytesCodec) Append(buf []byte, v []byte) []byte {
	return encBytes(buf, unsafe.Pointer(&v), 0)
}

func (bytesCodec) Decode(buf []byte, v *[]byte) (int, error) {
	return decBytes(buf, unsafe.Pointer(v), 0)
}
