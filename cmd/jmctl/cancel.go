package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func newCancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel JOB",
		Short: "Cancel a job",
		Long: `Ask the JobManager to cancel a job and print its new state, usually
"cancelling"; follow it to "cancelled" with jmctl info. Cancelling a job that
has ended changes nothing.`,
		Example: `  jmctl cancel 3f9c2a1b`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.Cancel(cmd.Context(), args[0])
			if errors.Is(err, api.ErrNotFound) {
				return noJob(args[0], err)
			}
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(s)
			}
			_, err = fmt.Fprintf(g.env.stdout, "job %s: %s\n", s.ID, s.State)
			return err
		},
	}
}
