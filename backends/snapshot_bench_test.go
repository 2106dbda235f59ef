package backends_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/taskmanager/state"
)

// stateBytes is the keyed state the benchmark snapshots: 1 GiB, or
// SLUICE_STATE_BENCH_MB mebibytes.
func stateBytes(b *testing.B) int64 {
	if s := os.Getenv("SLUICE_STATE_BENCH_MB"); s != "" {
		mb, err := strconv.ParseInt(s, 10, 64)
		if err != nil || mb <= 0 {
			b.Fatalf("SLUICE_STATE_BENCH_MB=%q: want a positive number of MiB", s)
		}
		return mb << 20
	}
	return 1 << 30
}

func buildBackend(b *testing.B, name string) string {
	bin := filepath.Join(b.TempDir(), plugins.BinaryPrefix+name)
	if out, err := exec.Command("go", "build", "-o", bin, "./"+name).CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}

// BenchmarkSnapshotToBackend freezes about 1 GiB of keyed state (int64
// keys, [120]byte values) as a checkpoint does, and streams it into the
// memory backend's plugin process and into the s3 backend on a local
// versitygw, as a TaskManager does: the pause processing sees, and the
// total time and rate of each write, then reads it back and checks the
// size.
func BenchmarkSnapshotToBackend(b *testing.B) {
	target := stateBytes(b)
	be, _ := state.NewBackend[int64](128, 1, 0)
	v, _ := state.NewValue[[120]byte](be, "v")
	var val [120]byte
	for k := int64(0); be.EstimatedBytes() < target; k++ {
		_ = be.SetCurrentKey(k)
		val[0], val[119] = byte(k), byte(k>>8)
		v.Set(val)
	}
	srv := s3test.Start(b)
	srv.CreateBucket(b, "bench")
	ctx := context.Background()
	open := func(name string, settings map[string]string) *plugins.Client {
		c, err := plugins.Open(ctx, plugins.Config{Name: name, Path: buildBackend(b, name), Settings: settings})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	targets := []struct {
		name string
		be   *plugins.Client
	}{
		{"memory", open("memory", nil)},
		{"s3", open("s3", map[string]string{"bucket": "bench", "endpoint": srv.Endpoint, "path_style": "true", "region": srv.Region,
			"access_key_id": srv.AccessKey, "secret_access_key": srv.SecretKey})},
	}
	for b.Loop() {
		for i, t := range targets {
			start := time.Now()
			f := be.Freeze()
			pause := time.Since(start)
			pr, pw := io.Pipe()
			go func() {
				_, err := f.WriteTo(pw)
				pw.CloseWithError(err)
			}()
			name := "bench/" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 10)
			obj, err := t.be.Put(ctx, name, pr)
			total := time.Since(start)
			if err != nil {
				b.Fatalf("%s: %v", t.name, err)
			}
			b.ReportMetric(float64(pause.Microseconds())/1000, t.name+"-pause-ms")
			b.ReportMetric(total.Seconds()*1000, t.name+"-total-ms")
			b.ReportMetric(float64(obj.Size)/(1<<20)/total.Seconds(), t.name+"-MB/s")
			if err := t.be.Delete(ctx, name); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(0, "ns/op")
}
