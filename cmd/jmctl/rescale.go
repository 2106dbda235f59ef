package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func newRescaleCmd(g *globals) *cobra.Command {
	var parallelism int
	var detached bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rescale JOB --parallelism N",
		Short: "Change a running job's parallelism",
		Long: `Restart a running job at another parallelism, keeping its id and its state.
jmctl fetches the job's binary from the JobManager and plans it again with the
job's arguments at the new parallelism; the JobManager then takes a savepoint,
stops the job, asks for the TaskManagers the new graph needs (on Nomad, the
job's task group takes the new count) and restores the savepoint into the new
graph, its keyed state split into the new parallelism's key groups.

jmctl waits until the job runs again at the new parallelism and prints each
state it passes through, unless --detached. If the savepoint fails, or its
state does not fit the new graph, the job goes on as it was and the reason is
in jmctl info JOB; the exit code is then 1. Only jobs whose TaskManagers the
JobManager starts (local and nomad providers) can be rescaled, and not yet
with Consul HA.`,
		Example:           `  jmctl rescale 3f9c2a1b --parallelism 8`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeJobs(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			if parallelism < 1 {
				return usageErrorf("--parallelism %d: give the new parallelism, 1 or more", parallelism)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, id := cmd.Context(), args[0]
			before, err := c.Job(ctx, id)
			if errors.Is(err, api.ErrNotFound) {
				return noJob(id, err)
			}
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "jmctl-rescale-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			bin := filepath.Join(dir, "job")
			if err := c.DownloadArtifact(ctx, before.Artifact, bin); err != nil {
				return err
			}
			graph, err := plan(ctx, "the binary of job "+id, bin, before.Args, parallelism, g.env.planTimeout)
			if err != nil {
				return err
			}
			sp, err := c.Rescale(ctx, id, api.RescaleRequest{Graph: graph, Parallelism: parallelism})
			if err != nil {
				return err
			}
			if !g.json {
				fmt.Fprintf(g.env.stdout, "job %s: rescaling to parallelism %d through savepoint %s\n", id, parallelism, sp.Location)
			}
			if detached {
				if g.json {
					return g.printJSON(sp)
				}
				return nil
			}
			return waitRescaled(ctx, g, c, before, sp, timeout)
		},
	}
	cmd.Flags().IntVarP(&parallelism, "parallelism", "p", 0, "the job's new default parallelism (required)")
	cmd.Flags().BoolVarP(&detached, "detached", "d", false, "return once the rescale has started")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up waiting after this long")
	return cmd
}

// waitRescaled polls the job until it runs restored from the rescale's
// savepoint with every subtask running, printing the states it passes
// through; a rescale refused (the job goes on as before) or a job that
// ended is an error.
func waitRescaled(ctx context.Context, g *globals, c *api.Client, before *api.JobDetail, sp *api.Savepoint, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	state := before.State
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("job %s is %s and not yet rescaled after %v; see `jmctl info %s`", before.ID, state, timeout, before.ID)
		case <-time.After(200 * time.Millisecond):
		}
		d, err := c.Job(ctx, before.ID)
		if err != nil {
			if ctx.Err() != nil {
				continue // the timeout reports
			}
			return err
		}
		if d.State != state && !g.json {
			fmt.Fprintf(g.env.stdout, "job %s: %s\n", d.ID, d.State)
		}
		state = d.State
		for _, e := range d.Exceptions[min(len(before.Exceptions), len(d.Exceptions)):] {
			if strings.HasPrefix(e.Error, "rescale refused") {
				return &cliError{code: exitFailed, msg: fmt.Sprintf("job %s: %s", d.ID, e.Error)}
			}
		}
		if terminal(state) {
			return &cliError{code: exitFailed, msg: fmt.Sprintf("job %s ended %s during the rescale: %s", d.ID, state, d.Error)}
		}
		if state == "running" && strings.HasSuffix(d.RestoredFrom, sp.Location) && allRunning(d.Tasks) {
			if g.json {
				return g.printJSON(d)
			}
			_, err := fmt.Fprintf(g.env.stdout, "job %s: running %d subtasks, restored from %s\n", d.ID, len(d.Tasks), d.RestoredFrom)
			return err
		}
	}
}

// allRunning reports whether every subtask is running.
func allRunning(tasks []api.Subtask) bool {
	for _, t := range tasks {
		if t.State != "running" {
			return false
		}
	}
	return len(tasks) > 0
}
