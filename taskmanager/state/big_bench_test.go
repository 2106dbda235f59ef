package state

import (
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// bigStateBytes is the size of the state BenchmarkSnapshot1GB builds: 1 GiB,
// 64 MiB with -short, or SLUICE_STATE_BENCH_MB mebibytes.
func bigStateBytes(b *testing.B) int64 {
	if s := os.Getenv("SLUICE_STATE_BENCH_MB"); s != "" {
		mb, err := strconv.ParseInt(s, 10, 64)
		if err != nil || mb <= 0 {
			b.Fatalf("SLUICE_STATE_BENCH_MB=%q: want a positive number of MiB", s)
		}
		return mb << 20
	}
	if testing.Short() {
		return 64 << 20
	}
	return 1 << 30
}

// countingWriter discards what it is given and counts it.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// BenchmarkSnapshot1GB builds about 1 GiB of keyed value state (int64 keys,
// [120]byte values, by EstimatedBytes) and measures, once per iteration:
//
//	pause-ms       the owner's pause to Freeze it
//	write-ms, MB/s WriteTo(io.Discard) of that snapshot, with the owner idle
//	busy-write-ms  WriteTo of another snapshot while the owner sets random
//	               keys as fast as it can (owner-Mset/s of them)
//	cow-MB         what that copied on write
//	bytes-ms       Bytes of a third snapshot
//	sync-ms        the pause of the synchronous Snapshot, for comparison
//
// Every phase starts from a collected heap.
func BenchmarkSnapshot1GB(b *testing.B) {
	target := bigStateBytes(b)
	be, _ := NewBackend[int64](128, 1, 0)
	v, _ := NewValue[[120]byte](be, "v")
	var val [120]byte
	start := time.Now()
	for k := int64(0); be.EstimatedBytes() < target; k++ {
		_ = be.SetCurrentKey(k)
		val[0], val[119] = byte(k), byte(k>>8)
		v.Set(val)
	}
	keys := int64(be.Keys())
	b.Logf("state: %d keys, %d MiB estimated, built in %v", keys, be.EstimatedBytes()>>20, time.Since(start).Round(time.Millisecond))
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	for b.Loop() {
		// Each phase starts from a collected heap, so that none pays for
		// the garbage of the one before.
		runtime.GC()
		t := time.Now()
		f := be.Freeze()
		pause := time.Since(t)
		var w countingWriter
		t = time.Now()
		if _, err := f.WriteTo(&w); err != nil {
			b.Fatal(err)
		}
		write := time.Since(t)
		b.ReportMetric(ms(pause), "pause-ms")
		b.ReportMetric(ms(write), "write-ms")
		b.ReportMetric(float64(w.n.Load())/(1<<20)/write.Seconds(), "MB/s")

		// The owner keeps writing while another goroutine writes.
		runtime.GC()
		est := be.EstimatedBytes()
		f = be.Freeze()
		done := make(chan time.Duration)
		t = time.Now()
		go func() {
			if _, err := f.WriteTo(io.Discard); err != nil {
				b.Error(err)
			}
			done <- time.Since(t)
		}()
		r := rand.New(rand.NewPCG(1, 2))
		var sets int
		var cow int64
		var busy time.Duration
	owner:
		for {
			select {
			case busy = <-done:
				break owner
			default:
			}
			for range 1024 {
				be.cursor.slot = int32(r.Int64N(keys))
				val[1]++
				v.Set(val)
			}
			sets += 1024
			cow = max(cow, be.EstimatedBytes()-est)
		}
		b.ReportMetric(ms(busy), "busy-write-ms")
		b.ReportMetric(float64(sets)/busy.Seconds()/1e6, "owner-Mset/s")
		b.ReportMetric(float64(cow)/(1<<20), "cow-MB")

		runtime.GC()
		t = time.Now()
		data, err := be.Freeze().Bytes()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(time.Since(t)), "bytes-ms")
		data = nil
		runtime.GC()

		t = time.Now()
		data, err = be.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms(time.Since(t)), "sync-ms")
		b.ReportMetric(float64(len(data))/(1<<20), "snapshot-MB")
	}
}
