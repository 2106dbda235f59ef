package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completeJobs completes a JOB argument with the ids of the JobManager's
// jobs (only those still running when runningOnly), each with its name and
// state as the description. It stays silent when the JobManager is not
// reachable: completion must never hang or print errors into a shell.
func completeJobs(g *globals, runningOnly bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := g.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		jobs, err := c.Jobs(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, j := range jobs {
			if !strings.HasPrefix(j.ID, toComplete) || runningOnly && terminal(j.State) {
				continue
			}
			out = append(out, cobra.CompletionWithDesc(j.ID, j.Name+" ("+j.State+")"))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
