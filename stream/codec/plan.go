package codec

import (
	"fmt"
	"reflect"
	"unsafe"
)

// encodeFunc appends the encoding of the value at p to buf. depth counts the
// pointers, slices and maps entered so far.
type encodeFunc func(buf []byte, p unsafe.Pointer, depth int) []byte

// decodeFunc decodes one value from the front of buf into the value at p and
// returns the number of bytes consumed. It must not retain buf.
type decodeFunc func(buf []byte, p unsafe.Pointer, depth int) (int, error)

// maxDepth bounds how many pointers, slices and maps deep a value may nest.
// Recursive types are encoded recursively, so without a bound a cyclic value
// would overflow the stack when encoded and a malicious input could make the
// decoder do so. encoding/json uses the same limit.
const maxDepth = 10000

var errTooDeep = fmt.Errorf("%w: value nests more than %d pointers, slices or maps deep", ErrCorrupt, maxDepth)

// checkEncodeDepth panics if an encoder is about to enter a level past
// maxDepth, which in practice means the value has a pointer cycle.
func checkEncodeDepth(t reflect.Type, depth int) {
	if depth >= maxDepth {
		panic(fmt.Sprintf("codec: cannot encode %v: value nests more than %d pointers, slices or maps deep (does it contain a cycle?)", t, maxDepth))
	}
}

// origin tells where a plan's functions come from.
type origin uint8

const (
	builtin    origin = iota // compiled by this package
	registered               // a codec installed with Register
	binaryPair               // the type's BinaryAppender/BinaryUnmarshaler methods
)

// plan is the compiled codec of one type.
type plan struct {
	typ reflect.Type
	enc encodeFunc
	dec decodeFunc

	// minSize is the fewest bytes a value of typ encodes to. Decoders use
	// it to bound allocations by the size of the input.
	minSize int
	// empty is set for built-in plans of zero-size types, which encode to
	// nothing: decoders may skip them.
	empty  bool
	origin origin
	// raw is set when a value's encoding is exactly its memory image
	// (built-in byte arrays), so runs of values can be copied in bulk.
	raw bool
}

// planCodec is the Codec of a type that has a compiled plan.
type planCodec[T any] struct{ p *plan }

func (c planCodec[T]) Append(buf []byte, v T) []byte {
	// The encoder only reads through the pointer during the call, so v
	// can stay on the stack.
	return c.p.enc(buf, noescape(unsafe.Pointer(&v)), 0)
}

func (c planCodec[T]) Decode(buf []byte, v *T) (int, error) {
	n, err := c.p.dec(buf, unsafe.Pointer(v), 0)
	if err != nil {
		return 0, decodeFailed(err, c.p.typ)
	}
	return n, nil
}

// compile returns the plan of t, compiling it and the types it contains as
// needed. mu must be held.
func compile(t reflect.Type) (*plan, error) {
	c := compiler{root: t, pending: map[reflect.Type]*plan{}}
	p, err := c.plan(t)
	if err != nil {
		return nil, err
	}
	// Only now are all the plans reachable from t complete.
	for t, q := range c.pending {
		plans[t] = q
	}
	return p, nil
}

// compiler compiles the plan of root.
type compiler struct {
	root reflect.Type
	// pending holds the plans compiled for root so far, complete or not.
	// A recursive type finds its own, still incomplete, plan here; the
	// functions that refer to it read its fields only when they run.
	pending map[reflect.Type]*plan
	// path leads from root to the type being compiled, for error messages.
	path []pathStep
}

func (c *compiler) plan(t reflect.Type) (*plan, error) {
	if p, ok := plans[t]; ok {
		return p, nil
	}
	if p, ok := c.pending[t]; ok {
		return p, nil
	}
	p := &plan{typ: t}
	c.pending[t] = p
	if err := c.fill(p); err != nil {
		return nil, err
	}
	return p, nil
}

// child compiles the plan of a type inside the one being compiled, reached
// through step.
func (c *compiler) child(t reflect.Type, step pathStep) (*plan, error) {
	c.path = append(c.path, step)
	p, err := c.plan(t)
	c.path = c.path[:len(c.path)-1]
	return p, err
}

func (c *compiler) fill(p *plan) error {
	t := p.typ
	if r, ok := registry[t]; ok {
		p.enc, p.dec, p.minSize, p.origin = r.enc, r.dec, 1, registered
		return nil
	}
	if isBinaryPair(t) {
		binaryPlan(p)
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return c.structPlan(p)
	case reflect.Array:
		return c.arrayPlan(p)
	case reflect.Slice:
		return c.slicePlan(p)
	case reflect.Map:
		return c.mapPlan(p)
	case reflect.Pointer:
		return c.pointerPlan(p)
	}
	if kindPlan(p) {
		return nil
	}
	return c.unsupported(t)
}

// sizeLimit caps computed minimum sizes so that they cannot overflow.
const sizeLimit = 1 << 48

func addSize(a, b int) int { return min(a+b, sizeLimit) }

func mulSize(n, size int) int {
	if size != 0 && n > sizeLimit/size {
		return sizeLimit
	}
	return n * size
}

// noescape hides p from escape analysis, so that taking the address of a
// value passed to Append does not move it to the heap. This is sound because
// encoders only read through the pointer while Append runs and never keep
// it, and nothing between the two conversions can move the stack.
func noescape(p unsafe.Pointer) unsafe.Pointer {
	x := uintptr(p)
	return *(*unsafe.Pointer)(unsafe.Pointer(&x))
}

// sliceHeader is the memory layout of a slice.
type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}
