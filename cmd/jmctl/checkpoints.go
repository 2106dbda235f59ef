package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func newCheckpointsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "checkpoints JOB",
		Short: "List a job's recent checkpoints and savepoints",
		Long: `List a job's recent checkpoints and savepoints, oldest first: status,
when each was triggered, how long it took, its size, and per subtask the
pause to take the snapshot, the time to write it, and the barrier alignment.`,
		Example: `  jmctl checkpoints 3f2a9c...
  jmctl checkpoints 3f2a9c... --json`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeJobs(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			cps, err := c.Checkpoints(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.json {
				if cps == nil {
					cps = []api.Checkpoint{}
				}
				return g.printJSON(api.CheckpointList{Checkpoints: cps})
			}
			return printCheckpoints(g, cps)
		},
	}
}

// printCheckpoints writes the checkpoint table and, for the latest, its
// subtasks.
func printCheckpoints(g *globals, cps []api.Checkpoint) error {
	if len(cps) == 0 {
		_, err := fmt.Fprintln(g.env.stdout, "no checkpoints; the job takes none, or none has started yet")
		return err
	}
	now := g.now()
	tw := newTable(g.env.stdout)
	row(tw, "ID", "KIND", "STATUS", "TRIGGERED", "DURATION", "SIZE", "REASON")
	for _, cp := range cps {
		kind := "checkpoint"
		if cp.Savepoint {
			kind = "savepoint"
		}
		row(tw, cp.ID, kind, cp.Status, ago(now, cp.Triggered), ms(cp.DurationMs), humanBytes(cp.Size), orDash(cp.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	last := cps[len(cps)-1]
	if len(last.Subtasks) == 0 {
		return nil
	}
	fmt.Fprintf(g.env.stdout, "\ncheckpoint %d by subtask:\n", last.ID)
	tw = newTable(g.env.stdout)
	row(tw, "TASK", "SUBTASK", "SIZE", "SYNC", "ASYNC", "ALIGNMENT")
	for _, s := range last.Subtasks {
		row(tw, s.Task, s.Subtask+1, humanBytes(s.Size), ms(s.SyncMs), ms(s.AsyncMs), ms(s.AlignmentMs))
	}
	return tw.Flush()
}

// ms shows a duration given in milliseconds, to the millisecond below a
// second.
func ms(v int64) string {
	if v < 1000 {
		return fmt.Sprintf("%dms", v)
	}
	return shortDuration(time.Duration(v) * time.Millisecond)
}
