package backendtest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/plugins"
)

// cancelingReader cancels its context after the first chunk it yields,
// then goes on yielding up to n bytes.
type cancelingReader struct {
	n      int
	cancel context.CancelFunc
	read   int
}

func (r *cancelingReader) Read(p []byte) (int, error) {
	if r.read > 0 {
		r.cancel()
	}
	if r.read >= r.n {
		return 0, io.EOF
	}
	m := min(len(p), r.n-r.read, 64<<10)
	copy(p, randomBytes(m))
	r.read += m
	return m, nil
}

func testCanceled(t *testing.T, b plugins.Backend, p string) {
	name := p + "stored"
	put(t, b, name, []byte("stored before the cancellation"))

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Put(canceled, p+"never", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context = %v, want context.Canceled", err)
	}
	if rc, err := b.Get(canceled, name); !errors.Is(err, context.Canceled) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := b.List(canceled, p); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context = %v, want context.Canceled", err)
	}
	if err := b.Delete(canceled, name); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a canceled context = %v, want context.Canceled", err)
	}
	wantGet(t, b, name, []byte("stored before the cancellation"))
	wantNotFound(t, b, p+"never")

	// Canceled in the middle of a Put: nothing is stored.
	mid := p + "canceled-midway"
	midCtx, midCancel := context.WithCancel(t.Context())
	defer midCancel()
	_, err := b.Put(midCtx, mid, &cancelingReader{n: 4 << 20, cancel: midCancel})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put canceled midway = %v, want context.Canceled", err)
	}
	wantNotFound(t, b, mid)
	if objs := list(t, b, p); len(objs) != 1 || objs[0].Name != name {
		t.Errorf("List(%q) = %v, want only %s", p, names(objs), name)
	}
}
