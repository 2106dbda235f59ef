package network

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Benchmark sizes: 100-byte records batched into 32 KiB frames, 256 MiB of
// payload per run and per side, best of 3 alternating runs.
const (
	benchRecord  = 100
	benchFrame   = (32 << 10) / benchRecord * benchRecord // 327 records, 32,700 bytes
	benchBytes   = 256 << 20
	benchRuns    = 3
	benchCredits = 4 // task.Config's default
)

// BenchmarkRemoteVsTCP compares a DataPlane stream between two DataPlanes
// over loopback with raw TCP on loopback moving the same bytes in the same
// chunks. It measures once per invocation (run it with -benchtime=1x) and
// reports MB/s (10^6 bytes of payload per second) of each and their ratio.
func BenchmarkRemoteVsTCP(b *testing.B) {
	a, c := startPlane(b, "tm-a"), startPlane(b, "tm-b")
	var bestRemote, bestTCP float64
	for run := range benchRuns {
		r, err := benchRemote(a, c, run)
		if err != nil {
			b.Fatal(err)
		}
		t, err := benchTCP()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("run %d: remote %.0f MB/s, tcp %.0f MB/s", run, r, t)
		bestRemote, bestTCP = max(bestRemote, r), max(bestTCP, t)
	}
	b.ReportMetric(bestRemote, "remote-MB/s")
	b.ReportMetric(bestTCP, "tcp-MB/s")
	b.ReportMetric(bestRemote/bestTCP, "ratio")
}

// fillFrame writes 100-byte records into frame, as a producer's serializer
// would, starting with record number first.
func fillFrame(frame []byte, first int) {
	for off, i := 0, first; off+benchRecord <= len(frame); off, i = off+benchRecord, i+1 {
		binary.LittleEndian.PutUint64(frame[off:], uint64(i))
	}
}

// benchRemote sends benchBytes from a to a consumer on c and returns MB/s,
// timed from the first Send to the end of stream at the consumer.
func benchRemote(a, c *plane, run int) (float64, error) {
	h := header(fmt.Sprintf("bench-%d", run), 0, 1, 0, benchCredits)
	in, err := c.x.Inbox(h.Inbox, 1, benchCredits)
	if err != nil {
		return 0, err
	}
	defer c.x.Release(h.Inbox.Job, 0)
	rc, err := a.Open(context.Background(), "tm-b", c.Addr(), h, nil)
	if err != nil {
		return 0, err
	}
	consumed := make(chan error, 1)
	go func() {
		var got int64
		for buf := range in.Queue() {
			f := buf.Batch.(*Frame)
			got += int64(len(f.Data))
			ev := buf.Event
			in.Recycle(buf)
			if ev == EventEndOfStream {
				if got != benchBytes/benchFrame*benchFrame {
					consumed <- fmt.Errorf("consumer got %d bytes", got)
				}
				consumed <- nil
				return
			}
		}
	}()

	frame := make([]byte, benchFrame)
	start := time.Now()
	sent := 0
	for record := 0; sent+benchFrame <= benchBytes; record += benchFrame / benchRecord {
		fillFrame(frame, record)
		if err := rc.Send(EventNone, frame); err != nil {
			rc.Abort()
			return 0, err
		}
		sent += benchFrame
	}
	if err := rc.Close(); err != nil {
		return 0, err
	}
	if err := <-consumed; err != nil {
		return 0, err
	}
	return float64(sent) / 1e6 / time.Since(start).Seconds(), nil
}

// benchTCP moves benchBytes over a loopback TCP connection in the same
// chunks: one goroutine writes, another reads into a buffer.
func benchTCP() (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- conn
	}()
	w, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	defer w.Close()
	r, ok := <-accepted
	if !ok {
		return 0, fmt.Errorf("accept failed")
	}
	defer r.Close()

	total := benchBytes / benchFrame * benchFrame
	read := make(chan error, 1)
	start := time.Now()
	go func() {
		buf := make([]byte, 32<<10)
		got := 0
		for got < total {
			n, err := r.Read(buf)
			got += n
			if err != nil {
				read <- fmt.Errorf("reader after %d bytes: %w", got, err)
				return
			}
		}
		read <- nil
	}()
	frame := make([]byte, benchFrame)
	for record, sent := 0, 0; sent < total; record, sent = record+benchFrame/benchRecord, sent+benchFrame {
		fillFrame(frame, record)
		if _, err := w.Write(frame); err != nil {
			return 0, err
		}
	}
	if err := <-read; err != nil && err != io.EOF {
		return 0, err
	}
	return float64(total) / 1e6 / time.Since(start).Seconds(), nil
}
