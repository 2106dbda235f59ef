package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

// defaultLocation is what --savepoint alone stands for: the JobManager's
// default location (not a valid location, so it cannot clash with one).
const defaultLocation = "(default)"

type savepointOptions struct {
	target   string
	dispose  string
	detached bool
	interval time.Duration
}

func newSavepointCmd(g *globals) *cobra.Command {
	o := &savepointOptions{}
	cmd := &cobra.Command{
		Use:   "savepoint JOB [--target LOCATION] | savepoint --dispose LOCATION",
		Short: "Take a savepoint of a running job, or dispose of one",
		Long: `Take a savepoint of a running job and wait for it, showing its progress,
then print its location. A savepoint is the job's whole state in Sluice's
canonical format; start a job from it with
jmctl submit --from-savepoint LOCATION, at another parallelism, on another
state backend, or with a newer build of the job. Savepoints are never deleted
automatically: dispose of one with --dispose.

A location is a name in the cluster's state backend (default:
savepoints/JOB-N) or a directory on the JobManager's machine, file:///DIR.`,
		Example: `  jmctl savepoint 3f9c2a1b
  jmctl savepoint 3f9c2a1b --target file:///var/sluice/savepoints/before-upgrade
  jmctl savepoint --dispose savepoints/3f9c2a1b-1`,
		ValidArgsFunction: completeJobs(g, true),
		Args: func(cmd *cobra.Command, args []string) error {
			if o.dispose != "" {
				if len(args) != 0 {
					return usageErrorf("--dispose takes a location and no job; usage: jmctl savepoint --dispose LOCATION")
				}
				return nil
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if o.dispose != "" {
				if err := c.DisposeSavepoint(cmd.Context(), o.dispose); err != nil {
					return err
				}
				if g.json {
					return g.printJSON(api.DisposeRequest{Location: o.dispose})
				}
				_, err := fmt.Fprintf(g.env.stdout, "savepoint %s disposed of\n", o.dispose)
				return err
			}
			return triggerSavepoint(cmd.Context(), g, c, args[0], o, false)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "where the savepoint goes: a name in the state backend or file:///DIR (default savepoints/JOB-N)")
	f.StringVar(&o.dispose, "dispose", "", "delete the savepoint at this location instead of taking one")
	f.BoolVar(&o.detached, "detached", false, "print the savepoint's number and location and exit instead of waiting for it")
	f.DurationVar(&o.interval, "interval", 200*time.Millisecond, "how often to poll the savepoint's progress")
	_ = f.MarkHidden("interval")
	return cmd
}

func newStopCmd(g *globals) *cobra.Command {
	o := &savepointOptions{}
	cmd := &cobra.Command{
		Use:   "stop JOB [--savepoint[=LOCATION]]",
		Short: "Stop a job with a savepoint",
		Long: `Take a savepoint of a running job and then stop it; the job ends
finished. Waits for both, showing the savepoint's progress, and prints the
savepoint's location, from which jmctl submit --from-savepoint resumes the
job exactly where it stopped. If the savepoint fails the job keeps running.

--savepoint alone uses the default location (savepoints/JOB-N in the state
backend); --savepoint=LOCATION chooses it (a name, or file:///DIR).`,
		Example: `  jmctl stop 3f9c2a1b --savepoint
  jmctl stop 3f9c2a1b --savepoint=file:///var/sluice/savepoints/v2-upgrade`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeJobs(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if o.target == defaultLocation {
				o.target = ""
			}
			return triggerSavepoint(cmd.Context(), g, c, args[0], o, true)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "savepoint", "", "take the savepoint to this location (a name in the state backend or file:///DIR); alone: the default location")
	f.Lookup("savepoint").NoOptDefVal = defaultLocation
	f.BoolVar(&o.detached, "detached", false, "print the savepoint's number and location and exit instead of waiting")
	f.DurationVar(&o.interval, "interval", 200*time.Millisecond, "how often to poll the progress")
	_ = f.MarkHidden("interval")
	return cmd
}

// triggerSavepoint starts a savepoint of job (and with stop, the stop
// after it) and follows it.
func triggerSavepoint(ctx context.Context, g *globals, c *api.Client, job string, o *savepointOptions, stop bool) error {
	sp, err := c.TriggerSavepoint(ctx, job, o.target, stop)
	if errors.Is(err, api.ErrNotFound) {
		return noJob(job, err)
	}
	if err != nil {
		return err
	}
	return waitSavepoint(ctx, g, c, sp, o)
}

// waitSavepoint follows a savepoint until it ends and, for a stop, the job
// until it ends too.
func waitSavepoint(ctx context.Context, g *globals, c *api.Client, sp *api.Savepoint, o *savepointOptions) error {
	if o.interval <= 0 {
		return usageErrorf("--interval %v: must be positive", o.interval)
	}
	if o.detached {
		if g.json {
			return g.printJSON(sp)
		}
		_, err := fmt.Fprintf(g.env.stdout, "savepoint %d of job %s to %s triggered\n", sp.ID, sp.JobID, sp.Location)
		return err
	}
	out := g.env.stdout
	if g.json {
		out = g.env.stderr // progress must not mix with the JSON
	}
	start := g.env.now()
	fmt.Fprintf(out, "savepoint %d of job %s to %s: triggered\n", sp.ID, sp.JobID, sp.Location)
	lastLine := start
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for sp.Status == api.SavepointInProgress {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		next, err := c.Savepoint(ctx, sp.JobID, sp.ID)
		if err != nil {
			return err
		}
		if next.Checkpoint != sp.Checkpoint && next.Checkpoint != 0 || g.env.now().Sub(lastLine) >= g.env.progressEvery {
			fmt.Fprintf(out, "savepoint %d: in progress, checkpoint %d, %s\n", next.ID, next.Checkpoint, g.env.now().Sub(start).Round(100*time.Millisecond))
			lastLine = g.env.now()
		}
		sp = next
	}
	if sp.Status == api.SavepointFailed {
		if sp.Stop {
			return fmt.Errorf("savepoint %d of job %s failed, and the job keeps running: %s", sp.ID, sp.JobID, sp.Error)
		}
		return fmt.Errorf("savepoint %d of job %s failed: %s", sp.ID, sp.JobID, sp.Error)
	}
	fmt.Fprintf(out, "savepoint %d completed: %s (%s in %s)\n", sp.ID, sp.Location, humanBytes(sp.Size), sp.Ended.Sub(sp.Triggered).Round(time.Millisecond))
	if sp.Stop {
		for {
			d, err := c.Job(ctx, sp.JobID)
			if err != nil {
				return err
			}
			if d.State == "finished" || d.State == "failed" || d.State == "cancelled" {
				fmt.Fprintf(out, "job %s: %s\n", d.ID, d.State)
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	}
	if g.json {
		return g.printJSON(sp)
	}
	return nil
}
