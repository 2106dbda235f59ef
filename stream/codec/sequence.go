package codec

import (
	"reflect"
	"unsafe"
)

// isRawByte reports whether elements of plan p are single raw bytes, so
// that a run of them can be copied as is.
func isRawByte(p *plan) bool {
	return p.origin == builtin && p.typ.Kind() == reflect.Uint8
}

// arrayPlan encodes the elements one after another, without a length.
func (c *compiler) arrayPlan(p *plan) error {
	t := p.typ
	ep, err := c.child(t.Elem(), pathStep{kind: stepElem})
	if err != nil {
		return err
	}
	// An array cannot contain itself, so ep is complete.
	n := t.Len()
	if n == 0 || ep.empty {
		setEmpty(p)
		return nil
	}
	p.minSize = mulSize(n, ep.minSize)
	if isRawByte(ep) || ep.raw {
		p.raw = uintptr(n)*t.Elem().Size() == t.Size()
		size := int(t.Size())
		p.enc = func(buf []byte, ptr unsafe.Pointer, _ int) []byte {
			return append(buf, unsafe.Slice((*byte)(ptr), size)...)
		}
		p.dec = func(buf []byte, ptr unsafe.Pointer, _ int) (int, error) {
			if len(buf) < size {
				return 0, ErrTruncated
			}
			copy(unsafe.Slice((*byte)(ptr), size), buf)
			return size, nil
		}
		return nil
	}
	size := t.Elem().Size()
	p.enc = func(buf []byte, ptr unsafe.Pointer, depth int) []byte {
		for i := range n {
			buf = ep.enc(buf, unsafe.Add(ptr, uintptr(i)*size), depth)
		}
		return buf
	}
	p.dec = func(buf []byte, ptr unsafe.Pointer, depth int) (int, error) {
		off := 0
		for i := range n {
			m, err := ep.dec(buf[off:], unsafe.Add(ptr, uintptr(i)*size), depth)
			if err != nil {
				return 0, atIndex(err, i)
			}
			off += m
		}
		return off, nil
	}
	return nil
}

// slicePlan encodes a uvarint length, then the elements. Nil and empty
// slices encode the same, and decode as nil.
func (c *compiler) slicePlan(p *plan) error {
	t := p.typ
	ep, err := c.child(t.Elem(), pathStep{kind: stepElem})
	if err != nil {
		return err
	}
	p.minSize = 1
	if isRawByte(ep) {
		// []byte and named types like it.
		p.enc, p.dec = encBytes, decBytes
		return nil
	}
	// ep may be incomplete if t is recursive (type T []T): read its
	// fields only when encoding or decoding.
	size := t.Elem().Size()
	p.enc = func(buf []byte, ptr unsafe.Pointer, depth int) []byte {
		h := (*sliceHeader)(ptr)
		n := h.len
		buf = appendUvarint(buf, uint64(n))
		if n == 0 || ep.empty {
			return buf
		}
		checkEncodeDepth(t, depth)
		for i := range n {
			buf = ep.enc(buf, unsafe.Add(h.data, uintptr(i)*size), depth+1)
		}
		return buf
	}
	p.dec = func(buf []byte, ptr unsafe.Pointer, depth int) (int, error) {
		n, off, err := readCount(buf, ep.minSize)
		if err != nil {
			return 0, err
		}
		h := (*sliceHeader)(ptr)
		*h = sliceHeader{}
		if n == 0 {
			return off, nil
		}
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		// Let reflect allocate the backing array: it knows the element
		// type's pointer layout.
		v := reflect.NewAt(t, ptr).Elem()
		if ep.empty {
			v.Grow(n) // allocates nothing
			h.len = n
			return off, nil
		}
		v.Grow(prealloc(n, int(size), depth))
		for i := range n {
			if i == h.cap {
				v.Grow(1) // grows the capacity geometrically
			}
			h.len = i + 1
			m, err := ep.dec(buf[off:], unsafe.Add(h.data, uintptr(i)*size), depth+1)
			if err != nil {
				return 0, atIndex(err, i)
			}
			off += m
		}
		return off, nil
	}
	return nil
}

// maxPrealloc bounds the memory allocated for a slice or map at depth 0
// before its elements are decoded. The bound halves at each level of
// nesting.
//
// readCount bounds a count by the remaining input, but the input left for
// nested values of a recursive type is counted again at each level: a tree
// whose every first child claims as many children as the input could hold
// would otherwise allocate memory quadratic in the input size. With the
// bound halving, all levels together preallocate at most 2*maxPrealloc;
// past that, slices grow as their elements are actually decoded.
const maxPrealloc = 64 << 10

// prealloc returns how many of n elements of the given size to allocate
// before decoding them, at the given depth.
func prealloc(n, size, depth int) int {
	budget := maxPrealloc >> min(depth, 31)
	if size > 0 && n > budget/size {
		return max(1, budget/size)
	}
	return n
}
