package codec

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// Codec encodes and decodes values of type T.
//
// Implementations must be safe for concurrent use. The codecs returned by
// [For] are.
type Codec[T any] interface {
	// Append appends the encoding of v to buf and returns the extended slice.
	Append(buf []byte, v T) []byte
	// Decode decodes one value from the front of buf into *v and returns the
	// number of bytes consumed. It never panics on malformed input: it returns
	// an error wrapping ErrTruncated or ErrCorrupt.
	Decode(buf []byte, v *T) (int, error)
}

var (
	// ErrUnsupported reports that a type cannot be encoded.
	ErrUnsupported = errors.New("codec: unsupported type")
	// ErrTruncated reports that the input ended inside a value.
	ErrTruncated = errors.New("codec: truncated input")
	// ErrCorrupt reports that the input is not a valid encoding: a bad
	// varint, a length larger than the remaining input, an invalid bool
	// byte, and so on.
	ErrCorrupt = errors.New("codec: corrupt input")
)

// cacheEntry is the result of For for one type.
type cacheEntry struct {
	codec any // a Codec[T] for the type it is cached under
	err   error
}

var (
	// cache maps reflect.Type to *cacheEntry. It is read without locking.
	cache sync.Map

	// mu serializes building codecs and registering them, and guards
	// registry and plans.
	mu       sync.Mutex
	registry = map[reflect.Type]*registration{}
	plans    = map[reflect.Type]*plan{} // compiled plans of complete types
)

// For returns the codec for T: a codec registered with [Register]; else, if T
// implements [encoding.BinaryAppender] and *T implements
// [encoding.BinaryUnmarshaler], one that uses them (length-prefixed); else a
// built-in. Results are cached per type, so repeated calls are cheap.
//
// For returns an error wrapping [ErrUnsupported] if T is, or contains, a
// func, chan, interface or unsafe.Pointer that no registered codec or
// BinaryAppender covers.
func For[T any]() (Codec[T], error) {
	t := reflect.TypeFor[T]()
	if e, ok := cache.Load(t); ok {
		return fromEntry[T](e.(*cacheEntry))
	}
	return build[T](t)
}

// MustFor is like [For] but panics if T is unsupported. It is meant for
// package-level variables and tests.
func MustFor[T any]() Codec[T] {
	c, err := For[T]()
	if err != nil {
		panic(err)
	}
	return c
}

// Register installs c as the codec of T. It takes precedence over built-ins
// and over BinaryAppender/BinaryUnmarshaler methods, both when T is encoded
// on its own and when it appears inside another type (a struct field, slice
// element, map key or value, pointee). Registering T again replaces the
// earlier codec; registering nil removes it.
//
// Call Register from init or before the job is built: codecs obtained
// from [For] before the call keep using what they were built with.
//
// Slices and maps reject element counts larger than the remaining input, so
// a registered codec should encode every value in at least one byte.
func Register[T any](c Codec[T]) {
	t := reflect.TypeFor[T]()
	mu.Lock()
	defer mu.Unlock()
	if c == nil {
		delete(registry, t)
	} else {
		registry[t] = newRegistration(c)
	}
	// Built codecs may have inlined the old choice for T.
	clear(plans)
	cache.Clear()
}

func fromEntry[T any](e *cacheEntry) (Codec[T], error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.codec.(Codec[T]), nil
}

// build is the slow path of For: it builds the codec of T and caches it.
func build[T any](t reflect.Type) (Codec[T], error) {
	mu.Lock()
	defer mu.Unlock()
	if e, ok := cache.Load(t); ok {
		return fromEntry[T](e.(*cacheEntry))
	}
	c, err := newCodec[T](t)
	e := &cacheEntry{err: err}
	if err == nil {
		e.codec = c
	}
	cache.Store(t, e)
	return c, err
}

// newCodec chooses the codec of T. mu must be held.
func newCodec[T any](t reflect.Type) (Codec[T], error) {
	if r, ok := registry[t]; ok {
		return r.codec.(Codec[T]), nil
	}
	if isBinaryPair(t) {
		return binaryCodec[T]{}, nil
	}
	if c := primitiveCodec[T](); c != nil {
		return c, nil
	}
	p, err := compile(t)
	if err != nil {
		return nil, err
	}
	return planCodec[T]{p}, nil
}

// registration is a codec installed with Register, with adapters that let
// compiled plans call it for values inside other types.
type registration struct {
	codec any // Codec[T]
	enc   encodeFunc
	dec   decodeFunc
}

func newRegistration[T any](c Codec[T]) *registration {
	return &registration{
		codec: c,
		enc: func(buf []byte, p unsafe.Pointer, _ int) []byte {
			return c.Append(buf, *(*T)(p))
		},
		dec: func(buf []byte, p unsafe.Pointer, _ int) (int, error) {
			n, err := c.Decode(buf, (*T)(p))
			switch {
			case err != nil:
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
					err = fmt.Errorf("%w: %w", ErrCorrupt, err)
				}
				return 0, err
			case n < 0 || n > len(buf):
				return 0, fmt.Errorf("%w: registered codec for %v consumed %d bytes of %d",
					ErrCorrupt, reflect.TypeFor[T](), n, len(buf))
			}
			return n, nil
		},
	}
}

// RawSize reports whether values of T encode as exactly their memory image
// with T's codec (byte arrays, and arrays of them, with the built-in codec),
// and the size of one value. Such values can be encoded and decoded in
// bulk: a run of them is a plain copy of memory.
func RawSize[T any]() (int, bool) {
	c, err := For[T]()
	if err != nil {
		return 0, false
	}
	pc, ok := c.(planCodec[T])
	if !ok || !pc.p.raw {
		return 0, false
	}
	return int(pc.p.typ.Size()), true
}
