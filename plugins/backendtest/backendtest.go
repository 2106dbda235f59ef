package backendtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/plugins"
)

// opTimeout bounds every call the suite makes.
const opTimeout = 2 * time.Minute

// Run runs the suite. newBackend returns a configured backend for one
// subtest (it may register cleanups on the t it gets); the suite only
// calls it, never Configure.
func Run(t *testing.T, newBackend func(t *testing.T) plugins.Backend) {
	t.Helper()
	prefix := "backendtest-" + randomHex(4) + "/"
	tests := []struct {
		name string
		fn   func(t *testing.T, b plugins.Backend, p string)
	}{
		{"RoundTrip", testRoundTrip},
		{"LongName", testLongName},
		{"WriteOnce", testWriteOnce},
		{"NotFound", testNotFound},
		{"ListPrefix", testList},
		{"Delete", testDelete},
		{"InvalidNames", testInvalidNames},
		{"FailingReader", testFailingReader},
		{"PartialRead", testPartialRead},
		{"Concurrent", testConcurrent},
		{"ContextCanceled", testCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t)
			tt.fn(t, b, prefix+tt.name+"/")
		})
	}
}

// ctx is the context of one call.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), opTimeout)
	t.Cleanup(cancel)
	return c
}

func randomHex(n int) string {
	return hex.EncodeToString(randomBytes(n))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func checksum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// put stores data under name and checks the Object it gets back.
func put(t *testing.T, b plugins.Backend, name string, data []byte) plugins.Object {
	t.Helper()
	obj, err := b.Put(ctx(t), name, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", name, len(data), err)
	}
	checkObject(t, "Put", obj, name, data)
	return obj
}

func checkObject(t *testing.T, op string, obj plugins.Object, name string, data []byte) {
	t.Helper()
	want := plugins.Object{Name: name, Size: int64(len(data)), Checksum: checksum(data)}
	if obj != want {
		t.Errorf("%s(%q) object = %+v, want %+v", op, name, obj, want)
	}
}

// get reads the object back whole.
func get(t *testing.T, b plugins.Backend, name string) []byte {
	t.Helper()
	rc, err := b.Get(ctx(t), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", name, err)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("closing %q: %v", name, err)
	}
	return data
}

func wantGet(t *testing.T, b plugins.Backend, name string, want []byte) {
	t.Helper()
	if got := get(t, b, name); !bytes.Equal(got, want) {
		t.Errorf("Get(%q) = %d bytes (sha256 %.12s), want %d bytes (sha256 %.12s)",
			name, len(got), checksum(got), len(want), checksum(want))
	}
}

func wantNotFound(t *testing.T, b plugins.Backend, name string) {
	t.Helper()
	rc, err := b.Get(ctx(t), name)
	if err == nil {
		rc.Close()
		t.Fatalf("Get(%q) succeeded, want ErrNotFound", name)
	}
	if !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, want ErrNotFound", name, err)
	}
}

func list(t *testing.T, b plugins.Backend, prefix string) []plugins.Object {
	t.Helper()
	objs, err := b.List(ctx(t), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return objs
}

func names(objs []plugins.Object) []string {
	ns := make([]string, len(objs))
	for i, o := range objs {
		ns[i] = o.Name
	}
	return ns
}

func testRoundTrip(t *testing.T, b plugins.Backend, p string) {
	sizes := []int{0, 5, plugins.MaxChunk - 1, plugins.MaxChunk, plugins.MaxChunk + 1, 10 << 20}
	stored := map[string][]byte{}
	for _, size := range sizes {
		name := fmt.Sprintf("%ssize-%09d", p, size)
		data := randomBytes(size)
		if size == 5 {
			data = []byte("hello")
		}
		put(t, b, name, data)
		wantGet(t, b, name, data)
		stored[name] = data
	}
	objs := list(t, b, p)
	if len(objs) != len(sizes) {
		t.Fatalf("List(%q) = %v, want %d objects", p, names(objs), len(sizes))
	}
	for _, o := range objs {
		checkObject(t, "List", o, o.Name, stored[o.Name])
	}
}

func testLongName(t *testing.T, b plugins.Backend, p string) {
	name := p + strings.Repeat("n", plugins.MaxNameLength-len(p))
	data := []byte("a name of the maximum length")
	put(t, b, name, data)
	wantGet(t, b, name, data)
	if objs := list(t, b, p); len(objs) != 1 || objs[0].Name != name {
		t.Errorf("List(%q) = %v, want the one long name", p, names(objs))
	}
}

func testWriteOnce(t *testing.T, b plugins.Backend, p string) {
	name := p + "chk-1/state"
	first := []byte("the first version")
	obj := put(t, b, name, first)
	_, err := b.Put(ctx(t), name, strings.NewReader("a second version"))
	if !errors.Is(err, plugins.ErrExists) {
		t.Fatalf("second Put(%q) = %v, want ErrExists", name, err)
	}
	wantGet(t, b, name, first)
	if objs := list(t, b, p); len(objs) != 1 || objs[0] != obj {
		t.Errorf("List(%q) = %+v, want only %+v", p, objs, obj)
	}
}

func testNotFound(t *testing.T, b plugins.Backend, p string) {
	wantNotFound(t, b, p+"missing")
	if objs := list(t, b, p); len(objs) != 0 {
		t.Errorf("List(%q) = %v, want nothing", p, names(objs))
	}
}

func testList(t *testing.T, b plugins.Backend, p string) {
	// Stored out of order; "list/" and "lista" differ only after the
	// shared prefix "list".
	for _, n := range []string{"list/c", "lista", "list/a/2", "other/x", "list/b", "list/a/1", "list-b"} {
		put(t, b, p+n, []byte(n))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"list/", []string{"list/a/1", "list/a/2", "list/b", "list/c"}},
		{"list/a", []string{"list/a/1", "list/a/2"}},
		{"list", []string{"list-b", "list/a/1", "list/a/2", "list/b", "list/c", "lista"}},
		{"", []string{"list-b", "list/a/1", "list/a/2", "list/b", "list/c", "lista", "other/x"}},
		{"nothing", nil},
	} {
		objs := list(t, b, p+tc.prefix)
		got := names(objs)
		want := make([]string, len(tc.want))
		for i, n := range tc.want {
			want[i] = p + n
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("List(%q) = %v, want %v", p+tc.prefix, got, want)
		}
		for _, o := range objs {
			checkObject(t, "List", o, o.Name, []byte(strings.TrimPrefix(o.Name, p)))
		}
	}
}

func testDelete(t *testing.T, b plugins.Backend, p string) {
	name, keep := p+"gone", p+"kept"
	put(t, b, name, []byte("delete me"))
	put(t, b, keep, []byte("keep me"))
	if err := b.Delete(ctx(t), name); err != nil {
		t.Fatalf("Delete(%q): %v", name, err)
	}
	wantNotFound(t, b, name)
	if objs := list(t, b, p); len(objs) != 1 || objs[0].Name != keep {
		t.Errorf("List(%q) after Delete = %v, want [%s]", p, names(objs), keep)
	}
	if err := b.Delete(ctx(t), name); err != nil {
		t.Errorf("Delete(%q) again = %v, want nil", name, err)
	}
	if err := b.Delete(ctx(t), p+"never-stored"); err != nil {
		t.Errorf("Delete of a missing object = %v, want nil", err)
	}
	// A deleted name can be written again.
	put(t, b, name, []byte("new bytes"))
	wantGet(t, b, name, []byte("new bytes"))
	wantGet(t, b, keep, []byte("keep me"))
}

func testInvalidNames(t *testing.T, b plugins.Backend, p string) {
	bad := []string{"", "/" + p + "abs", p + "a//b", p + "a/../b", "..", p + "a/./b", p + "a b",
		p + "a\\b", p + "ä", p + "trailing/", p + strings.Repeat("x", plugins.MaxNameLength)}
	for _, n := range bad {
		if _, err := b.Put(ctx(t), n, strings.NewReader("x")); !errors.Is(err, plugins.ErrInvalidName) {
			t.Errorf("Put(%q) = %v, want ErrInvalidName", n, err)
		}
		if rc, err := b.Get(ctx(t), n); !errors.Is(err, plugins.ErrInvalidName) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := b.Delete(ctx(t), n); !errors.Is(err, plugins.ErrInvalidName) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidName", n, err)
		}
	}
	if objs := list(t, b, p); len(objs) != 0 {
		t.Errorf("List(%q) = %v after refused Puts, want nothing", p, names(objs))
	}
}

// failingReader yields n random bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	m := min(len(p), r.n)
	copy(p, randomBytes(m))
	r.n -= m
	return m, nil
}

func testFailingReader(t *testing.T, b plugins.Backend, p string) {
	name := p + "half-written"
	errBoom := errors.New("backendtest: the source failed")
	_, err := b.Put(ctx(t), name, &failingReader{n: plugins.MaxChunk + 1000, err: errBoom})
	if err == nil {
		t.Fatalf("Put(%q) from a failing reader succeeded", name)
	}
	wantNotFound(t, b, name)
	if objs := list(t, b, p); len(objs) != 0 {
		t.Errorf("List(%q) = %v after a failed Put, want nothing", p, names(objs))
	}
	put(t, b, name, []byte("written whole"))
}

func testPartialRead(t *testing.T, b plugins.Backend, p string) {
	name := p + "big"
	data := randomBytes(3 * plugins.MaxChunk)
	put(t, b, name, data)
	for range 3 {
		rc, err := b.Get(ctx(t), name)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		buf := make([]byte, 10)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("reading %q: %v", name, err)
		}
		if !bytes.Equal(buf, data[:10]) {
			t.Errorf("first bytes of %q = %x, want %x", name, buf, data[:10])
		}
		if err := rc.Close(); err != nil {
			t.Errorf("closing %q early: %v", name, err)
		}
	}
	wantGet(t, b, name, data)
}
