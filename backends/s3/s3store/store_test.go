package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/plugins"
)

// TestMain checks no test leaves a goroutine behind (uploads, copies and
// HEAD fan-outs all finish before their call returns).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestRoundTripAndLayout(t *testing.T) {
	for _, prefix := range []string{"", "sluice/checkpoints"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			f := newFixture(t, prefix)
			ctx := context.Background()
			data := []byte("snapshot bytes")
			obj, err := f.store.Put(ctx, "job-1/chk-7/op=2", bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			want := plugins.Object{Name: "job-1/chk-7/op=2", Size: int64(len(data)), Checksum: sumOf(data)}
			if obj != want {
				t.Fatalf("Put = %+v, want %+v", obj, want)
			}
			// The object is a plain file under the bucket, at prefix/name.
			got, err := os.ReadFile(filepath.Join(f.srv.Dir, f.bucket, filepath.FromSlash(f.key(obj.Name))))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("stored file = %q, %v", got, err)
			}
			head, err := f.srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(f.key(obj.Name))})
			if err != nil {
				t.Fatal(err)
			}
			if head.Metadata[metaSHA256] != want.Checksum || head.Metadata[metaSize] != "14" {
				t.Fatalf("metadata = %v", head.Metadata)
			}

			n, sum, err := readAllSum(t, f.store, obj.Name)
			if err != nil || n != want.Size || sum != want.Checksum {
				t.Fatalf("Get: %d bytes, sha256 %s, %v", n, sum, err)
			}
			list, err := f.store.List(ctx, "")
			if err != nil || !slices.Equal(list, []plugins.Object{want}) {
				t.Fatalf("List = %+v, %v", list, err)
			}
			if err := f.store.Delete(ctx, obj.Name); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.Get(ctx, obj.Name); !errors.Is(err, plugins.ErrNotFound) {
				t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestEmptyObject(t *testing.T) {
	f := newFixture(t, "")
	obj, err := f.store.Put(context.Background(), "empty", strings.NewReader(""))
	if err != nil || obj.Size != 0 || obj.Checksum != sumOf(nil) {
		t.Fatalf("Put = %+v, %v", obj, err)
	}
	if n, sum, err := readAllSum(t, f.store, "empty"); err != nil || n != 0 || sum != sumOf(nil) {
		t.Fatalf("Get: %d, %s, %v", n, sum, err)
	}
}

func TestWriteOnce(t *testing.T) {
	f := newFixture(t, "p")
	f.store.partSize = 5 * mib // the staged path at 6 MiB
	ctx := context.Background()
	for _, size := range []int64{10, 6 * mib} {
		name := fmt.Sprintf("obj-%d", size)
		if _, err := f.store.Put(ctx, name, newStream(1, size)); err != nil {
			t.Fatal(err)
		}
		_, err := f.store.Put(ctx, name, newStream(2, size))
		if !errors.Is(err, plugins.ErrExists) || !strings.Contains(err.Error(), name) {
			t.Fatalf("second Put of %d bytes: %v, want ErrExists naming it", size, err)
		}
		if _, sum, err := readAllSum(t, f.store, name); err != nil || sum != streamSum(1, size) {
			t.Fatalf("the first object was replaced: %s, %v", sum, err)
		}
	}
	if keys := f.rawKeys(t); len(keys) != 2 {
		t.Fatalf("bucket holds %q; want the two objects and no staging objects", keys)
	}
}

// TestConcurrentPutsOneWins races Puts of one name: exactly one stores
// it, the others get ErrExists (from the conditional write, not only the
// HeadObject that fails fast).
func TestConcurrentPutsOneWins(t *testing.T) {
	f := newFixture(t, "")
	f.store.partSize = 5 * mib
	for _, size := range []int64{1000, 6 * mib} {
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = f.store.Put(context.Background(), "race", newStream(byte(i), size))
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("%d bytes: Puts %d and %d both succeeded", size, won, i)
			case err == nil:
				won = i
			case !errors.Is(err, plugins.ErrExists):
				t.Fatalf("%d bytes: Put %d: %v, want ErrExists", size, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("%d bytes: no Put succeeded: %v", size, errs)
		}
		if _, sum, err := readAllSum(t, f.store, "race"); err != nil || sum != streamSum(byte(won), size) {
			t.Fatalf("%d bytes: stored object is not the winner's: %v", size, err)
		}
		if err := f.store.Delete(context.Background(), "race"); err != nil {
			t.Fatal(err)
		}
	}
	if keys, open := f.rawKeys(t), f.openUploads(t); len(keys) != 0 || open != 0 {
		t.Fatalf("left behind: keys %q, %d multipart uploads", keys, open)
	}
}

func TestReaderFailureStoresNothing(t *testing.T) {
	f := newFixture(t, "p")
	f.store.partSize = 5 * mib
	boom := errors.New("boom")
	for _, n := range []int64{100, 4 * mib, 17 * mib} {
		_, err := f.store.Put(context.Background(), "broken", &failingReader{r: newStream(3, 1<<30), n: n, err: boom})
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"broken"`) {
			t.Fatalf("Put failing after %d bytes: %v, want the reader's error naming the object", n, err)
		}
	}
	if keys, open := f.rawKeys(t), f.openUploads(t); len(keys) != 0 || open != 0 {
		t.Fatalf("a failed Put stored something: keys %q, %d multipart uploads", keys, open)
	}
}

func TestCanceledPutStoresNothing(t *testing.T) {
	f := newFixture(t, "")
	f.store.partSize = 5 * mib
	ctx, cancel := context.WithCancel(context.Background())
	r := &callbackReader{r: newStream(4, 1<<30), after: 12 * mib, fn: cancel}
	_, err := f.store.Put(ctx, "canceled", r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	if keys, open := f.rawKeys(t), f.openUploads(t); len(keys) != 0 || open != 0 {
		t.Fatalf("a canceled Put stored something: keys %q, %d multipart uploads", keys, open)
	}
}

// callbackReader calls fn once after the given number of bytes.
type callbackReader struct {
	r     io.Reader
	after int64
	fn    func()
	once  sync.Once
}

func (c *callbackReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.after -= int64(n)
	if c.after <= 0 {
		c.once.Do(c.fn)
	}
	return n, err
}

func TestExactlyOnePart(t *testing.T) {
	f := newFixture(t, "")
	f.store.partSize = 5 * mib
	for _, size := range []int64{5*mib - 1, 5 * mib, 5*mib + 1} {
		name := fmt.Sprintf("part-%d", size)
		obj, err := f.store.Put(context.Background(), name, newStream(5, size))
		if err != nil || obj.Size != size || obj.Checksum != streamSum(5, size) {
			t.Fatalf("Put of %d bytes = %+v, %v", size, obj, err)
		}
		if n, sum, err := readAllSum(t, f.store, name); err != nil || n != size || sum != obj.Checksum {
			t.Fatalf("Get of %d bytes: %d, %v", size, n, err)
		}
	}
}

func TestListPrefixesAndHidesStaging(t *testing.T) {
	f := newFixture(t, "base")
	ctx := context.Background()
	for _, name := range []string{"b/2", "a/1", "a/2", "ab", "c"} {
		if _, err := f.store.Put(ctx, name, strings.NewReader(name)); err != nil {
			t.Fatal(err)
		}
	}
	raw := f.srv.Client()
	put := func(key string, meta map[string]string) {
		t.Helper()
		_, err := raw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key), Body: strings.NewReader("xyz"), Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("base/"+stagingDir+"/abandoned", nil) // a crashed Put's staging object
	put("base/foreign", nil)                  // not written by the backend
	put("elsewhere", nil)                     // outside the prefix

	names := func(objs []plugins.Object) []string {
		var ns []string
		for _, o := range objs {
			ns = append(ns, o.Name)
		}
		return ns
	}
	for prefix, want := range map[string][]string{
		"":     {"a/1", "a/2", "ab", "b/2", "c", "foreign"},
		"a":    {"a/1", "a/2", "ab"},
		"a/":   {"a/1", "a/2"},
		".":    nil,
		"zzz":  nil,
		"b/2":  {"b/2"},
		"fore": {"foreign"},
	} {
		got, err := f.store.List(ctx, prefix)
		if err != nil || !slices.Equal(names(got), want) {
			t.Errorf("List(%q) = %q, %v; want %q", prefix, names(got), err, want)
		}
	}
	all, _ := f.store.List(ctx, "")
	for _, o := range all {
		switch {
		case o.Name == "foreign" && (o.Checksum != "" || o.Size != 3):
			t.Errorf("foreign object listed as %+v; want size 3, no checksum", o)
		case o.Name != "foreign" && (o.Checksum != sumOf([]byte(o.Name)) || o.Size != int64(len(o.Name))):
			t.Errorf("List entry %+v has the wrong size or checksum", o)
		}
	}
	if _, err := f.store.Get(ctx, "foreign"); !errors.Is(err, plugins.ErrChecksum) || !strings.Contains(err.Error(), "foreign") {
		t.Errorf("Get of an object without checksum metadata: %v, want ErrChecksum naming it", err)
	}
}

func TestInvalidNames(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	for _, name := range []string{"", "/abs", "a//b", "../x", "a/./b", "sp ace", "tilde~", stagingDir + "/x"} {
		if _, err := f.store.Put(ctx, name, strings.NewReader("x")); !errors.Is(err, plugins.ErrInvalidName) {
			t.Errorf("Put(%q): %v, want ErrInvalidName", name, err)
		}
		if _, err := f.store.Get(ctx, name); !errors.Is(err, plugins.ErrInvalidName) {
			t.Errorf("Get(%q): %v, want ErrInvalidName", name, err)
		}
		if err := f.store.Delete(ctx, name); !errors.Is(err, plugins.ErrInvalidName) {
			t.Errorf("Delete(%q): %v, want ErrInvalidName", name, err)
		}
	}
}

func TestMissingObjects(t *testing.T) {
	f := newFixture(t, "p")
	ctx := context.Background()
	if _, err := f.store.Get(ctx, "nope"); !errors.Is(err, plugins.ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Get: %v, want ErrNotFound naming the object", err)
	}
	if err := f.store.Delete(ctx, "nope"); err != nil {
		t.Fatalf("Delete of a missing object: %v", err)
	}
	if list, err := f.store.List(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("List of an empty bucket = %v, %v", list, err)
	}
}

func TestNotConfigured(t *testing.T) {
	s := New()
	ctx := context.Background()
	if _, err := s.Put(ctx, "a", strings.NewReader("x")); !errors.Is(err, errNotConfigured) {
		t.Errorf("Put: %v", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, errNotConfigured) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, errNotConfigured) {
		t.Errorf("List: %v", err)
	}
	if err := s.Delete(ctx, "a"); !errors.Is(err, errNotConfigured) {
		t.Errorf("Delete: %v", err)
	}
}

// TestPartialRead checks that closing a reader early is fine and does not
// verify anything.
func TestPartialRead(t *testing.T) {
	f := newFixture(t, "")
	if _, err := f.store.Put(context.Background(), "obj", newStream(6, 3*mib)); err != nil {
		t.Fatal(err)
	}
	rc, err := f.store.Get(context.Background(), "obj")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, rc, 1000); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}
