package server_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchRecords is how many 100-byte records cross the data plane per round.
const benchRecords = 10_000_000

// rawTCP copies n bytes in 32 KiB writes over a loopback TCP connection and
// returns how long it took.
func rawTCP(b *testing.B, n int64) time.Duration {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	done := make(chan int64)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- 0
			return
		}
		defer c.Close()
		got, _ := io.Copy(io.Discard, c)
		done <- got
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	start := time.Now()
	for sent := int64(0); sent < n; sent += int64(len(buf)) {
		if _, err := c.Write(buf[:min(int64(len(buf)), n-sent)]); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if got := <-done; got != n {
		b.Fatalf("raw TCP moved %d of %d bytes", got, n)
	}
	return time.Since(start)
}

// BenchmarkCrossTaskManagerExchange sends 100-byte records from a source
// subtask in one TaskManager process to a sink subtask in another, and
// compares the bytes per second with raw TCP on loopback in the same run.
func BenchmarkCrossTaskManagerExchange(b *testing.B) {
	c := startJobManager(b, "--provider", "standalone")
	// Standalone TaskManagers run with their own arguments; the sink
	// writes its count where theirs say.
	output := b.TempDir()
	args := []string{"--bytes", "--records", strconv.Itoa(benchRecords), "--output", output}
	for _, id := range []string{"tm-1", "tm-2"} {
		c.startTaskManager(b, id, 1, bins.testjob, args...)
	}
	c.waitTaskManagers(b, 2)
	const bytesPerRecord = 100
	total := int64(benchRecords * bytesPerRecord)
	best, bestTCP := time.Duration(1<<62), time.Duration(1<<62)
	for range 2 {
		os.Remove(filepath.Join(output, "count"))
		id := c.submit(b, bins.testjob, args...)
		d := c.waitJob(b, id, 5*time.Minute, "finished", "failed")
		if d.State != "finished" {
			b.Fatalf("job %s: %s", d.State, d.Error)
		}
		data, err := os.ReadFile(filepath.Join(output, "count"))
		if err != nil {
			b.Fatal(err)
		}
		if f := strings.Fields(string(data)); len(f) != 2 || f[0] != strconv.Itoa(benchRecords) || f[1] != strconv.FormatInt(total, 10) {
			b.Fatalf("the sink counted %q, want %d records and %d bytes", data, benchRecords, total)
		}
		cross := false
		for _, st := range d.Tasks {
			cross = cross || st.TaskManager != d.Tasks[0].TaskManager
		}
		if !cross {
			b.Fatal("source and sink ran in the same TaskManager")
		}
		best = min(best, d.End.Sub(d.Start))
		bestTCP = min(bestTCP, rawTCP(b, total))
	}
	mbps := float64(total) / best.Seconds() / 1e6
	tcp := float64(total) / bestTCP.Seconds() / 1e6
	b.ReportMetric(float64(benchRecords)/best.Seconds(), "records/s")
	b.ReportMetric(mbps, "MB/s")
	b.ReportMetric(tcp, "tcp-MB/s")
	b.ReportMetric(mbps/tcp, "ratio")
	b.ReportMetric(0, "ns/op")
}
