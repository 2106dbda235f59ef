package codec

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// mapScratch is the working space of a map encoder or decoder, reused
// through a sync.Pool so that neither allocates.
type mapScratch struct {
	m          reflect.Value // settable map variable at mp, for encoding
	key, val   reflect.Value // settable key and value variables
	mp         unsafe.Pointer
	keyp, valp unsafe.Pointer
}

func newMapScratch(t reflect.Type) *mapScratch {
	m, k, v := reflect.New(t), reflect.New(t.Key()), reflect.New(t.Elem())
	return &mapScratch{
		m: m.Elem(), key: k.Elem(), val: v.Elem(),
		mp: m.UnsafePointer(), keyp: k.UnsafePointer(), valp: v.UnsafePointer(),
	}
}

// release zeroes s, so that it keeps nothing alive, and returns it to pool.
func (s *mapScratch) release(pool *sync.Pool) {
	*(*unsafe.Pointer)(s.mp) = nil
	s.key.SetZero()
	s.val.SetZero()
	pool.Put(s)
}

// mapPlan encodes a uvarint length, then each key followed by its value, in
// iteration order. Nil and empty maps encode the same, and decode as nil.
func (c *compiler) mapPlan(p *plan) error {
	t := p.typ
	kp, err := c.child(t.Key(), pathStep{kind: stepKey})
	if err != nil {
		return err
	}
	vp, err := c.child(t.Elem(), pathStep{kind: stepValue})
	if err != nil {
		return err
	}
	// kp and vp may be incomplete if t is recursive: read their fields
	// only when encoding or decoding.
	p.minSize = 1
	pool := &sync.Pool{New: func() any { return newMapScratch(t) }}
	entrySize := int(t.Key().Size() + t.Elem().Size())
	p.enc = func(buf []byte, ptr unsafe.Pointer, depth int) []byte {
		mp := *(*unsafe.Pointer)(ptr) // a map is a pointer
		if mp == nil {
			return append(buf, 0)
		}
		s := pool.Get().(*mapScratch)
		// Point s.m at the map rather than using reflect.NewAt(t, ptr),
		// which looks up the type *t on every call.
		*(*unsafe.Pointer)(s.mp) = mp
		n := s.m.Len()
		buf = appendUvarint(buf, uint64(n))
		if n > 0 {
			checkEncodeDepth(t, depth)
			var it reflect.MapIter
			it.Reset(s.m)
			for it.Next() {
				s.key.SetIterKey(&it)
				s.val.SetIterValue(&it)
				buf = kp.enc(buf, s.keyp, depth+1)
				buf = vp.enc(buf, s.valp, depth+1)
			}
		}
		s.release(pool)
		return buf
	}
	p.dec = func(buf []byte, ptr unsafe.Pointer, depth int) (int, error) {
		entryMin := kp.minSize + vp.minSize
		n, off, err := readCount(buf, entryMin)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			*(*unsafe.Pointer)(ptr) = nil
			return off, nil
		}
		if depth >= maxDepth {
			return 0, errTooDeep
		}
		if entryMin == 0 && n > 1 {
			// Keys of a zero-size type are all equal.
			return 0, fmt.Errorf("%w: %d entries in a map with a zero-size key type", ErrCorrupt, n)
		}
		m := reflect.MakeMapWithSize(t, prealloc(n, entrySize, depth))
		s := pool.Get().(*mapScratch)
		defer s.release(pool)
		for i := range n {
			used, err := kp.dec(buf[off:], s.keyp, depth+1)
			if err != nil {
				return 0, atMapKey(err, i)
			}
			off += used
			used, err = vp.dec(buf[off:], s.valp, depth+1)
			if err != nil {
				return 0, atMapValue(err, i)
			}
			off += used
			m.SetMapIndex(s.key, s.val)
			if m.Len() != i+1 {
				return 0, atMapKey(fmt.Errorf("%w: duplicate map key", ErrCorrupt), i)
			}
		}
		*(*unsafe.Pointer)(ptr) = m.UnsafePointer()
		return off, nil
	}
	return nil
}
