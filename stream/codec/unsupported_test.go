package codec_test

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/sluicehq/sluice/stream/codec"
)

type Event struct {
	Name    string
	Handler func()
}

type eventInner struct {
	Hooks []func(int) error
}

type nestedEvent struct {
	ID    int
	Inner *eventInner
}

type routes struct {
	ByName map[string]struct{ Fn func() }
}

type keyed struct {
	Index map[[1]chan int]bool
}

type badNode struct {
	Next *badNode
	Ch   chan int
}

type hidden struct {
	v any
}

// unsupported asserts that For[T] fails with ErrUnsupported and a message
// containing want.
func unsupported[T any](want string) func(*testing.T) {
	return func(t *testing.T) {
		_, err := codec.For[T]()
		if !errors.Is(err, codec.ErrUnsupported) {
			t.Fatalf("For: got error %v, want ErrUnsupported", err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
		// The error is cached, and reported again.
		if _, err2 := codec.For[T](); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("second For: %v", err2)
		}
	}
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"struct field", unsupported[Event]("codec: cannot encode codec_test.Event: field Handler has func type func(); " +
			"register a codec with codec.Register[codec_test.Event] or implement encoding.BinaryAppender and encoding.BinaryUnmarshaler")},
		{"func", unsupported[func()]("cannot encode func(): func types are not supported; register a codec with codec.Register[func()]")},
		{"chan", unsupported[chan int]("chan types are not supported")},
		{"any", unsupported[any]("interface types are not supported")},
		{"error", unsupported[error]("cannot encode error: interface types")},
		{"unsafe.Pointer", unsupported[unsafe.Pointer]("unsafe.Pointer types are not supported")},
		{"pointer", unsupported[*chan int]("cannot encode *chan int: pointee has chan type chan int")},
		{"slice", unsupported[[]func()]("element [i] has func type func()")},
		{"map key", unsupported[map[chan int]int]("map key has chan type chan int")},
		{"map value", unsupported[map[int]func()]("element [k] has func type func()")},
		{"nested", unsupported[nestedEvent]("field Inner.Hooks[i] has func type func(int) error")},
		{"pointer to struct", unsupported[*Event]("cannot encode *codec_test.Event: field Handler has func type")},
		{"map value field", unsupported[routes]("field ByName[k].Fn has func type func()")},
		{"map key field", unsupported[keyed]("field Index (map key)[i] has chan type chan int")},
		{"recursive", unsupported[badNode]("field Ch has chan type chan int")},
		{"unexported", unsupported[hidden]("field v has interface type interface {}")},
		{"inside slice of structs", unsupported[[]Event]("element [i].Handler has func type func()")},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestMustForPanics(t *testing.T) {
	defer func() {
		err, ok := recover().(error)
		if !ok || !errors.Is(err, codec.ErrUnsupported) {
			t.Fatalf("MustFor panicked with %v, want an ErrUnsupported error", err)
		}
	}()
	codec.MustFor[Event]()
}

type partlyBad struct {
	Good []inner
	Bad  func()
}

func TestUnsupportedDoesNotPoisonParts(t *testing.T) {
	// A failed compilation must not leave plans behind for the types it
	// visited on the way.
	if _, err := codec.For[partlyBad](); err == nil {
		t.Fatal("partlyBad should be unsupported")
	}
	roundTrip([]inner{{a: 1, B: "b"}})(t)
}
