package main

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB",
		64 << 20: "64 MiB", 3 << 29: "1.5 GiB", 1 << 40: "1 TiB",
	} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 192 * time.Second: "3m12s",
		2*time.Hour + 5*time.Minute + 9*time.Second: "2h05m", 76 * time.Hour: "3d04h", -time.Second: "0s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := ago(testNow, time.Time{}); got != "-" {
		t.Errorf("ago(zero) = %q", got)
	}
	if got := ago(testNow, testNow.Add(time.Second)); got != "just now" {
		t.Errorf("ago(future) = %q", got)
	}
	for d, want := range map[time.Duration]string{
		12345 * time.Microsecond: "12ms", 4140 * time.Millisecond: "4.1s", 192400 * time.Millisecond: "3m12s",
	} {
		if got := preciseDuration(d); got != want {
			t.Errorf("preciseDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	d := &api.JobDetail{JobSummary: api.JobSummary{State: "running"}, Tasks: []api.Subtask{
		{State: "running", RecordsIn: 1000, RecordsOut: 3000},
		{State: "running", RecordsIn: 500, RecordsOut: 0},
		{State: "deploying"},
	}}
	cur := sumRecords(d, testNow)
	if cur.in != 1500 || cur.out != 3000 {
		t.Fatalf("sumRecords = %+v", cur)
	}
	if got, want := progressLine(d, sample{}, cur), "running: 2/3 subtasks running, - records/s in, - records/s out"; got != want {
		t.Errorf("first progress line %q, want %q", got, want)
	}
	prev := sample{at: testNow.Add(-2 * time.Second), in: 500, out: 1000}
	if got, want := progressLine(d, prev, cur), "running: 2/3 subtasks running, 500 records/s in, 1.0k records/s out"; got != want {
		t.Errorf("progress line %q, want %q", got, want)
	}
	// After a restart the counters start again from zero: no negative rate.
	prev = sample{at: testNow.Add(-time.Second), in: 1e7, out: 1e7}
	if got, want := progressLine(d, prev, cur), "running: 2/3 subtasks running, 0 records/s in, 0 records/s out"; got != want {
		t.Errorf("progress line after a restart %q, want %q", got, want)
	}
	for v, want := range map[float64]string{999: "999", 12345: "12.3k", 4.1e6: "4.1M", 2e9: "2.0G"} {
		if got := humanCount(v); got != want {
			t.Errorf("humanCount(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\n\n  b  \r\nc\n"); got != "a; b; c" {
		t.Errorf("oneLine = %q", got)
	}
	if got := lastLines("1\n2\n\n3\n4\n", 3); got != "2 | 3 | 4" {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines("", 3); got != "(nothing on stderr)" {
		t.Errorf("lastLines(empty) = %q", got)
	}
}
