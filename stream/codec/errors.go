package codec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// pathStep is one step from a type to a type inside it.
type pathStep struct {
	kind stepKind
	name string // field name, for stepField
}

type stepKind uint8

const (
	stepField   stepKind = iota // a struct field
	stepElem                    // an array or slice element
	stepKey                     // a map key
	stepValue                   // a map value
	stepPointee                 // the target of a pointer
)

// unsupported returns the error for a type t that cannot be encoded, found at
// c.path inside c.root.
func (c *compiler) unsupported(t reflect.Type) error {
	var what string
	if where := describePath(c.path); where != "" {
		what = fmt.Sprintf("%s has %s type %v", where, kindName(t), t)
	} else if t == c.root {
		what = fmt.Sprintf("%s types are not supported", kindName(t))
	} else {
		what = fmt.Sprintf("pointee has %s type %v", kindName(t), t)
	}
	return &unsupportedError{fmt.Sprintf(
		"codec: cannot encode %v: %s; register a codec with codec.Register[%v] or implement encoding.BinaryAppender and encoding.BinaryUnmarshaler",
		c.root, what, c.root)}
}

// unsupportedError is returned by For for types it cannot encode.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

func (e *unsupportedError) Unwrap() error { return ErrUnsupported }

func kindName(t reflect.Type) string {
	if t.Kind() == reflect.UnsafePointer {
		return "unsafe.Pointer"
	}
	return t.Kind().String()
}

// describePath renders a path like "field Inner.Handlers[i]",
// "field Index (map key)" or "element [k].Fn". Pointers are dereferenced
// implicitly, as in Go selectors. It returns "" for a path of pointers only.
func describePath(path []pathStep) string {
	var b strings.Builder
	first := stepPointee
	for _, s := range path {
		if s.kind == stepPointee {
			continue
		}
		if b.Len() == 0 {
			first = s.kind
		}
		switch s.kind {
		case stepField:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.name)
		case stepElem:
			b.WriteString("[i]")
		case stepKey:
			b.WriteString(" (map key)")
		case stepValue:
			b.WriteString("[k]")
		}
	}
	switch {
	case b.Len() == 0:
		return ""
	case first == stepField:
		return "field " + b.String()
	case first == stepKey:
		return "map key" + strings.TrimPrefix(b.String(), " (map key)")
	default:
		return "element " + b.String()
	}
}

// decodeError locates a decoding error inside the value being decoded.
type decodeError struct {
	typ   reflect.Type // the type being decoded; set at the top level
	steps []string     // the path to the failure, innermost first
	err   error
}

func (e *decodeError) Error() string {
	var b strings.Builder
	b.WriteString(e.err.Error())
	if e.typ != nil {
		b.WriteString(" (decoding ")
		b.WriteString(e.typ.String())
		if len(e.steps) > 0 {
			b.WriteString(" at ")
			for i := len(e.steps) - 1; i >= 0; i-- {
				b.WriteString(e.steps[i])
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (e *decodeError) Unwrap() error { return e.err }

// atStep records that err happened at step, inside the value whose decoder
// returns it.
func atStep(err error, step string) error {
	if e, ok := err.(*decodeError); ok && e.typ == nil {
		e.steps = append(e.steps, step)
		return e
	}
	return &decodeError{steps: []string{step}, err: err}
}

func atField(err error, name string) error { return atStep(err, "."+name) }

func atIndex(err error, i int) error { return atStep(err, "["+strconv.Itoa(i)+"]") }

func atMapKey(err error, i int) error { return atStep(err, "[key "+strconv.Itoa(i)+"]") }

func atMapValue(err error, i int) error { return atStep(err, "[value "+strconv.Itoa(i)+"]") }

// decodeFailed completes an error from the decoder of t for returning from
// Decode.
func decodeFailed(err error, t reflect.Type) error {
	if e, ok := err.(*decodeError); ok && e.typ == nil {
		e.typ = t
		return e
	}
	return &decodeError{typ: t, err: err}
}
