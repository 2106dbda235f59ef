package s3store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/plugins"
)

// TestLongNames stores names that cannot be keys: a segment longer than a
// file name may be (versitygw refuses such keys), and a name that with the
// prefix passes S3's 1024-byte key limit. They live under digest keys and
// behave like any other name.
func TestLongNames(t *testing.T) {
	f := newFixture(t, "a-prefix")
	f.store.partSize = 5 * mib
	ctx := context.Background()
	seg := strings.Repeat("s", 300)
	names := []string{
		"dir/" + seg,            // long segment
		"dir/" + seg + "/child", // long segment in the middle
		strings.Repeat("abcdefgh/", 113) + "tail-x", // 1023 bytes: short segments, long key
		"dir/short",
		"dir/" + strings.Repeat("s", 255), // the longest plain segment
	}
	for i, name := range names {
		size := int64(100 + i)
		if i == 1 {
			size = 6 * mib // staged
		}
		obj, err := f.store.Put(ctx, name, newStream(byte(i), size))
		if err != nil {
			t.Fatalf("Put(%.40q...): %v", name, err)
		}
		if _, err := f.store.Put(ctx, name, strings.NewReader("again")); !errors.Is(err, plugins.ErrExists) {
			t.Fatalf("second Put(%.40q...): %v, want ErrExists", name, err)
		}
		if n, sum, err := readAllSum(t, f.store, name); err != nil || n != size || sum != obj.Checksum {
			t.Fatalf("Get(%.40q...): %d, %v", name, n, err)
		}
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for _, prefix := range []string{"", "dir/", "dir/" + seg, "dir/" + seg + "/", "dir/s", "dir/sh", "abcdefgh/abcdefgh", "x"} {
		var want []string
		for _, n := range sorted {
			if strings.HasPrefix(n, prefix) {
				want = append(want, n)
			}
		}
		got, err := f.store.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var gotNames []string
		for _, o := range got {
			gotNames = append(gotNames, o.Name)
		}
		if !slices.Equal(gotNames, want) {
			t.Errorf("List(%.30q...) = %d names %.60q, want %d", prefix, len(gotNames), gotNames, len(want))
		}
	}

	// Three digest keys, two plain keys, no staging keys.
	var digests int
	for _, k := range f.rawKeys(t) {
		if strings.HasPrefix(k, "a-prefix/"+longDir+"/") {
			digests++
		}
	}
	if digests != 3 {
		t.Errorf("%d digest keys, want 3: %q", digests, f.rawKeys(t))
	}

	for _, name := range names {
		if err := f.store.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Get(ctx, name); !errors.Is(err, plugins.ErrNotFound) {
			t.Fatalf("Get after Delete: %v", err)
		}
	}
	if keys := f.rawKeys(t); len(keys) != 0 {
		t.Fatalf("left behind: %q", keys)
	}
}

// TestMovedObjectIsNotTrusted copies an object to another key: reading it
// under the other name fails, since its metadata records the first name.
func TestMovedObjectIsNotTrusted(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if _, err := f.store.Put(ctx, "original", strings.NewReader("bytes")); err != nil {
		t.Fatal(err)
	}
	_, err := f.srv.Client().CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(f.bucket), Key: aws.String("impostor"), CopySource: aws.String(f.bucket + "/original"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Get(ctx, "impostor"); !errors.Is(err, plugins.ErrChecksum) || !strings.Contains(err.Error(), `"original"`) {
		t.Fatalf("Get of a copied object: %v, want ErrChecksum naming both names", err)
	}
}
