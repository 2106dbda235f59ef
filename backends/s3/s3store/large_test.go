package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// heapPeak samples the live heap while running fn and returns how far it
// rose above where it started. Tests that use it must not be parallel
// (parallel tests wait until the sequential ones are done). The garbage collector runs often meanwhile
// (GOGC=10), so the samples track live data rather than garbage.
func heapPeak(t *testing.T, fn func()) uint64 {
	t.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	return peak - base
}

// TestLargeObjectStreams puts a 64 MiB object with the production part
// size: it goes through a multipart upload to a staging key and a
// server-side copy, comes back with the right checksum, and neither way
// holds the object in memory.
func TestLargeObjectStreams(t *testing.T) {
	const size = 64 * mib
	f := newFixture(t, "big")
	ctx := context.Background()
	want := streamSum(7, size)
	ops := f.countOps()

	var obj, wantObj = struct {
		Size     int64
		Checksum string
	}{}, struct {
		Size     int64
		Checksum string
	}{size, want}
	putPeak := heapPeak(t, func() {
		o, err := f.store.Put(ctx, "state/large", newStream(7, size))
		if err != nil {
			t.Fatal(err)
		}
		obj.Size, obj.Checksum = o.Size, o.Checksum
	})
	if obj != wantObj {
		t.Fatalf("Put = %+v, want %+v", obj, wantObj)
	}

	var n int64
	var sum string
	getPeak := heapPeak(t, func() {
		rc, err := f.store.Get(ctx, "state/large")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		h := sha256.New()
		if n, err = io.Copy(h, rc); err != nil {
			t.Fatal(err)
		}
		sum = hex.EncodeToString(h.Sum(nil))
	})
	if n != size || sum != want {
		t.Fatalf("Get: %d bytes, sha256 %s; want %d, %s", n, sum, int64(size), want)
	}
	t.Logf("heap peak above baseline: put %.1f MiB, get %.1f MiB (object %d MiB, part %d MiB, concurrency %d)",
		float64(putPeak)/mib, float64(getPeak)/mib, size/mib, PartSize/mib, Concurrency)
	// (Concurrency+3) parts plus slack; buffering the object would need 64 MiB.
	if limit := uint64((Concurrency+3)*PartSize) + 4*mib; putPeak > limit {
		t.Errorf("Put held %.1f MiB at its peak; want under %.1f MiB", float64(putPeak)/mib, float64(limit)/mib)
	}
	if getPeak > 8*mib {
		t.Errorf("Get held %.1f MiB at its peak; want under 8 MiB", float64(getPeak)/mib)
	}

	// The data went up in 8 parts, was copied server-side in one, and
	// nothing else is left in the bucket.
	for op, want := range map[string]int{"PutObject": 0, "UploadPart": size / PartSize, "CreateMultipartUpload": 2,
		"UploadPartCopy": 1, "CompleteMultipartUpload": 2, "DeleteObject": 1} {
		if got := ops.get(op); got != want {
			t.Errorf("%d %s calls, want %d", got, op, want)
		}
	}
	head, err := f.srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String("big/state/large")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ETag %s, metadata %v", aws.ToString(head.ETag), head.Metadata)
	if head.Metadata[metaSHA256] != want {
		t.Errorf("metadata = %v", head.Metadata)
	}
	if keys, open := f.rawKeys(t), f.openUploads(t); len(keys) != 1 || open != 0 {
		t.Errorf("bucket holds %q and %d multipart uploads; want only the object", keys, open)
	}
}

// TestCopyInManyParts runs the server-side copy with the smallest copy
// part S3 allows, as objects over 512 MiB would copy.
func TestCopyInManyParts(t *testing.T) {
	const size = 23*mib + 17
	f := newFixture(t, "")
	f.store.partSize = 5 * mib
	f.store.copyPartSize = 5 * mib
	obj, err := f.store.Put(context.Background(), "many=1", newStream(8, size))
	if err != nil || obj.Size != size || obj.Checksum != streamSum(8, size) {
		t.Fatalf("Put = %+v, %v", obj, err)
	}
	if n, sum, err := readAllSum(t, f.store, "many=1"); err != nil || n != size || sum != obj.Checksum {
		t.Fatalf("Get: %d bytes, %s, %v", n, sum, err)
	}
	head, err := f.srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String("many=1")})
	if err != nil {
		t.Fatal(err)
	}
	if etag := aws.ToString(head.ETag); len(etag) < 3 || etag[len(etag)-3:] != "-5\"" {
		t.Errorf("ETag %s: want a 5-part multipart object", etag)
	}
}
