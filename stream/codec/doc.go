// Package codec provides the binary codecs Sluice uses for records that
// cross a process boundary: between task managers, into state backends and
// onto the network. It plays the role of Flink's TypeSerializer.
//
// A [Codec] appends the encoding of a value to a byte slice and decodes a
// value from the front of one. [For] returns the codec of a type:
//
//	var eventCodec = codec.MustFor[Event]()
//
//	buf = eventCodec.Append(buf[:0], ev)
//	n, err := eventCodec.Decode(buf, &ev)
//
// Codecs sit on the per-record hot path. They are compiled once per type,
// using reflection and field offsets, and cached; encoding and decoding then
// use no reflection per value and allocate only the memory the decoded value
// itself needs (strings, slices, maps, pointees).
//
// # Wire format
//
// The format is compact and not self-describing: there are no field names,
// tags or type information, so both sides must use the same type
// definitions. Varints are unsigned LEB128 (as in encoding/binary), at most
// 10 bytes long; signed integers are zigzag-encoded first.
//
//	Type                              Encoding
//	bool                              1 byte, 0 or 1
//	int, int8, int16, int32, int64    zigzag varint
//	uint, uint16, uint32, uint64,     varint
//	uintptr
//	uint8 (byte)                      1 raw byte
//	float32, float64                  IEEE 754 bits, 4 or 8 bytes little-endian
//	complex64, complex128             real part, then imaginary part
//	string                            varint byte length, then the bytes
//	[N]T                              the N elements
//	[]T                               varint length, then the elements
//	map[K]V                           varint length, then key, value, key, ...
//	*T                                0 for nil; 1, then the pointee
//	struct                            every field in declaration order,
//	                                  unexported ones included
//	BinaryAppender types              varint byte length, then the bytes
//
// So []byte is a varint length followed by the bytes. Named types are
// encoded as their underlying type. Nil and empty slices encode the same,
// as do nil and empty maps; both decode as nil. Map entries are written in
// iteration order, so equal maps may have different encodings.
//
// Funcs, channels, interfaces and unsafe.Pointer cannot be encoded, nor can
// any type containing one unless that part has a codec of its own (see
// below): [For] returns an error wrapping [ErrUnsupported] that names the
// offending field.
//
// # Decoding untrusted input
//
// Decode never panics on malformed input. It returns an error wrapping
// [ErrTruncated] if the input ends inside a value, and [ErrCorrupt] if the
// input cannot be an encoding: an overlong varint, an integer out of range
// for its type, a length or element count larger than the remaining input,
// a bool or pointer byte other than 0 or 1, a duplicate map key, or values
// nested more than 10000 pointers, slices or maps deep. Lengths and counts
// are checked against the remaining input before anything is allocated.
// Decode overwrites all of *v when it succeeds; when it fails, *v may be
// partly overwritten.
//
// # Custom codecs
//
// A type can take over its own encoding in two ways, which also apply
// wherever the type appears inside another (as a field, element, key,
// value or pointee):
//
//   - Implement [encoding.BinaryAppender] on T and
//     [encoding.BinaryUnmarshaler] on *T. The bytes appended by
//     AppendBinary are written with a varint length prefix and handed back
//     to UnmarshalBinary. time.Time works this way. Append panics if
//     AppendBinary returns an error.
//   - Call [Register] with a [Codec] for T, from init or before the job is
//     built. A registered codec takes precedence over the methods above and
//     over the built-in encoding, and is how types that are otherwise
//     unsupported, or from other packages, get a codec.
package codec
