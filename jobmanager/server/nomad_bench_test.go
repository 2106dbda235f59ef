package server_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/nomad"
	"github.com/sluicehq/sluice/nomad/nomadtest"
)

// BenchmarkNomadStartup measures, three times each and alternating, the
// time from submitting a job at parallelism 4 (two TaskManagers of 2
// slots) to all its subtasks running, with TaskManagers from Nomad
// (scheduling, artifact download with checksum, process start) and, as the
// baseline in the same run, from the local provider (child processes).
func BenchmarkNomadStartup(b *testing.B) {
	agent := nomadtest.Start(b)
	viaNomad := startJobManager(b, nomadArgs(agent)...)
	local := startJobManager(b, "--slots", "2", "--taskmanager-memory", strconv.Itoa(64<<20))
	args := []string{"--records", "-1", "--rate", "1000", "--parallelism", "4", "--output", b.TempDir()}
	startup := func(c *cluster) time.Duration {
		start := time.Now()
		id := c.submit(b, bins.testjob, args...)
		c.waitJob(b, id, 2*time.Minute, "running")
		took := time.Since(start)
		if out, code := c.jmctl(b, "cancel", id); code != 0 {
			b.Fatalf("jmctl cancel: %s", out)
		}
		c.waitJob(b, id, time.Minute, "cancelled")
		return took
	}
	const rounds = 3
	var sumNomad, sumLocal time.Duration
	for range rounds {
		n, l := startup(viaNomad), startup(local)
		b.Logf("submit -> running: nomad %v, local %v", n.Round(time.Millisecond), l.Round(time.Millisecond))
		sumNomad, sumLocal = sumNomad+n, sumLocal+l
	}
	b.ReportMetric(float64(sumNomad.Milliseconds())/rounds, "nomad-ms")
	b.ReportMetric(float64(sumLocal.Milliseconds())/rounds, "local-ms")
	b.ReportMetric(float64(sumNomad)/float64(sumLocal), "nomad/local")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkNomadReplacement measures, three times, the time from `nomad
// alloc stop` of a TaskManager running a keyed sum with checkpoints every
// 200 ms to the first record its sinks process after the job restored on
// the replacement allocation.
func BenchmarkNomadReplacement(b *testing.B) {
	agent := nomadtest.Start(b)
	nc := agent.Client()
	c := startJobManager(b, nomadArgs(agent, "--heartbeat-interval", "100ms",
		"--restart-strategy", "fixed-delay", "--restart-attempts", "100", "--restart-delay", "50ms")...)
	output := b.TempDir()
	id := c.submit(b, bins.testjob, "--records", "-1", "--rate", "4000", "--parallelism", "4", "--output", output,
		"--checkpoint-interval", "200ms", "--append")
	var worst, total time.Duration
	const rounds = 3
	for range rounds {
		var attempt int
		var allocs []*nomadapi.AllocationListStub
		waitFor(b, 2*time.Minute, "a checkpoint of the running attempt on 2 allocations", func() bool {
			d, err := c.client.Job(context.Background(), id)
			if err != nil || d.State != "running" || !c.completedCheckpoint(id, d.Attempt) {
				return false
			}
			attempt = d.Attempt
			allocs = runningAllocs(b, nc, id)
			return len(allocs) == 2
		})
		stopped := time.Now()
		agent.CLI(b, "alloc", "stop", "-detach", allocs[0].ID)
		var first time.Time
		waitFor(b, time.Minute, "the first record after the restore", func() bool {
			var ok bool
			first, ok = firstWritesAfter(output, stopped)
			if !ok {
				return false
			}
			d, err := c.client.Job(context.Background(), id)
			return err == nil && d.Attempt > attempt
		})
		took := first.Sub(stopped)
		b.Logf("nomad alloc stop %s (%s) -> first record after the restore: %v", allocs[0].ID[:8], nomad.TaskManagerID(id, allocs[0].ID), took)
		worst, total = max(worst, took), total+took
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
	b.ReportMetric(float64(total.Milliseconds())/rounds, "mean-ms")
	b.ReportMetric(0, "ns/op")
	if out, code := c.jmctl(b, "cancel", id); code != 0 {
		b.Fatalf("jmctl cancel: %s", out)
	}
}
