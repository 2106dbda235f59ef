package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func newInfoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "info JOB",
		Short: "Show a job, its subtasks and its exceptions",
		Long: `Show a job: its state, times, attempt, artifact and arguments; then a
table of its subtasks (where each runs and how many records it read and
wrote; SUBTASK is "i/p", counted from 1 as in the TaskManager logs); then
the failures the job went through, if any.`,
		Example: `  jmctl info 3f9c2a1b
  jmctl info 3f9c2a1b --json`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeJobs(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			d, err := c.Job(cmd.Context(), args[0])
			if errors.Is(err, api.ErrNotFound) {
				return noJob(args[0], err)
			}
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(d)
			}
			return printJob(g, d)
		},
	}
}

// printJob writes a job's summary, subtask table and exceptions.
func printJob(g *globals, d *api.JobDetail) error {
	now := g.now()
	w := g.env.stdout
	tw := newTable(w)
	row(tw, "Job:", d.ID)
	row(tw, "Name:", orDash(d.Name))
	row(tw, "State:", d.State)
	row(tw, "Started:", fmt.Sprintf("%s (%s)", timestamp(d.Start), ago(now, d.Start)))
	if !d.End.IsZero() {
		row(tw, "Ended:", fmt.Sprintf("%s (%s)", timestamp(d.End), ago(now, d.End)))
	}
	row(tw, "Duration:", shortDuration(jobDuration(now, d.Start, d.End)))
	restarts := "restarts"
	if d.Restarts == 1 {
		restarts = "restart"
	}
	row(tw, "Attempt:", fmt.Sprintf("%d (%d %s)", d.Attempt, d.Restarts, restarts))
	row(tw, "Subtasks:", d.Subtasks)
	row(tw, "Fingerprint:", orDash(d.Fingerprint))
	row(tw, "Artifact:", orDash(d.Artifact))
	if len(d.Args) > 0 {
		row(tw, "Args:", quoteArgs(d.Args))
	}
	if d.Error != "" {
		row(tw, "Error:", oneLine(d.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(d.Tasks) > 0 {
		io.WriteString(w, "\n")
		tw = newTable(w)
		row(tw, "TASK", "SUBTASK", "STATE", "TASKMANAGER", "SLOT", "RECORDS IN", "RECORDS OUT", "BACKPRESSURE")
		for _, t := range d.Tasks {
			slot := "-"
			if t.TaskManager != "" {
				slot = fmt.Sprint(t.Slot)
			}
			row(tw, orDash(t.Name), fmt.Sprintf("%d/%d", t.Subtask+1, t.Parallelism), t.State,
				orDash(t.TaskManager), slot, t.RecordsIn, t.RecordsOut, fmt.Sprintf("%.0f%%", 100*t.Backpressure))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(d.Exceptions) > 0 {
		io.WriteString(w, "\nExceptions:\n")
		tw = newTable(w)
		row(tw, "TIME", "ATTEMPT", "ERROR")
		for _, e := range d.Exceptions {
			row(tw, timestamp(e.Time), e.Attempt, oneLine(e.Error))
		}
		return tw.Flush()
	}
	return nil
}
