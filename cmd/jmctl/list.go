package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func newListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the jobs",
		Long: `List the jobs the JobManager knows, running and ended: id, name, state,
subtasks, restarts, how long ago each started and how long it ran.`,
		Example: `  jmctl list
  jmctl list --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			jobs, err := c.Jobs(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				if jobs == nil {
					jobs = []api.JobSummary{}
				}
				return g.printJSON(api.JobList{Jobs: jobs})
			}
			return printJobs(g, jobs)
		},
	}
}

// printJobs writes the job table.
func printJobs(g *globals, jobs []api.JobSummary) error {
	if len(jobs) == 0 {
		_, err := fmt.Fprintln(g.env.stdout, "no jobs; submit one with `jmctl submit BINARY`")
		return err
	}
	now := g.now()
	tw := newTable(g.env.stdout)
	row(tw, "ID", "NAME", "STATE", "SUBTASKS", "RESTARTS", "STARTED", "DURATION")
	for _, j := range jobs {
		row(tw, j.ID, orDash(j.Name), j.State, j.Subtasks, j.Restarts,
			ago(now, j.Start), shortDuration(jobDuration(now, j.Start, j.End)))
	}
	return tw.Flush()
}
