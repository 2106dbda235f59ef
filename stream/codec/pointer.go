package codec

import (
	"fmt"
	"reflect"
	"unsafe"
)

// pointerPlan encodes a nil pointer as the byte 0, and any other as the
// byte 1 followed by the pointee. Decoding allocates a new pointee.
func (c *compiler) pointerPlan(p *plan) error {
	t := p.typ
	et := t.Elem()
	ep, err := c.child(et, pathStep{kind: stepPointee})
	if err != nil {
		return err
	}
	// ep may be incomplete if t is recursive: read its fields only when
	// encoding or decoding.
	p.minSize = 1
	p.enc = func(buf []byte, ptr unsafe.Pointer, depth int) []byte {
		q := *(*unsafe.Pointer)(ptr)
		if q == nil {
			return append(buf, 0)
		}
		checkEncodeDepth(t, depth)
		return ep.enc(append(buf, 1), q, depth+1)
	}
	p.dec = func(buf []byte, ptr unsafe.Pointer, depth int) (int, error) {
		if len(buf) == 0 {
			return 0, ErrTruncated
		}
		switch buf[0] {
		case 0:
			*(*unsafe.Pointer)(ptr) = nil
			return 1, nil
		case 1:
		default:
			return 0, fmt.Errorf("%w: invalid pointer tag %#02x", ErrCorrupt, buf[0])
		}
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		if len(buf)-1 < ep.minSize {
			// Do not allocate a pointee the input cannot fill.
			return 0, ErrTruncated
		}
		q := reflect.New(et).UnsafePointer()
		n, err := ep.dec(buf[1:], q, depth+1)
		if err != nil {
			return 0, err
		}
		*(*unsafe.Pointer)(ptr) = q
		return 1 + n, nil
	}
	return nil
}
