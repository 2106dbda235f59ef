package s3store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPutGet puts a 256 MiB object to a local versitygw and reads it
// back, reporting each direction in MB/s (10^6 bytes). Put includes the
// staging upload, the server-side copy and the staging delete; Get
// includes the sha256 verification. Run it once:
//
//	go test -run='^$' -bench=PutGet -benchtime=1x ./backends/s3/s3store/
func BenchmarkPutGet(b *testing.B) {
	const size = 256 << 20
	f := newFixture(b, "bench")
	ctx := context.Background()
	var put, get time.Duration
	for i := range b.N {
		name := fmt.Sprintf("obj-%d", i)
		start := time.Now()
		obj, err := f.store.Put(ctx, name, newStream(byte(i), size))
		if err != nil {
			b.Fatal(err)
		}
		put += time.Since(start)
		if obj.Size != size {
			b.Fatalf("Put stored %d bytes", obj.Size)
		}

		start = time.Now()
		n, _, err := readAllSum(b, f.store, name)
		if err != nil || n != size {
			b.Fatalf("Get: %d bytes, %v", n, err)
		}
		get += time.Since(start)

		b.StopTimer()
		if err := f.store.Delete(ctx, name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/put.Seconds(), "put-MB/s")
	b.ReportMetric(mb/get.Seconds(), "get-MB/s")
	b.ReportMetric(0, "ns/op")
}
