package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func newCancelCmd(g *globals) *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "cancel JOB",
		Short: "Cancel a job",
		Long: `Ask the JobManager to cancel a job and print its new state, usually
"cancelling". With --wait, follow it until it has ended and print each state
it passes through; the exit code is then 0 once it is cancelled (or had
ended already), 1 if it fails while cancelling, and 1 after --timeout.
Cancelling a job that has ended changes nothing.`,
		Example: `  jmctl cancel 3f9c2a1b
  jmctl cancel 3f9c2a1b --wait --timeout 1m`,
		Args:              exactArgs(1),
		ValidArgsFunction: completeJobs(g, false),
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
			if !wait {
				if g.json {
					return g.printJSON(s)
				}
				_, err = fmt.Fprintf(g.env.stdout, "job %s: %s\n", s.ID, s.State)
				return err
			}
			return waitCancelled(cmd.Context(), g, c, s, timeout)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the job has ended")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "with --wait: give up after this long")
	return cmd
}

// waitCancelled polls the job until it has ended, printing its states.
func waitCancelled(ctx context.Context, g *globals, c *api.Client, s *api.JobSummary, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	state := ""
	for {
		if s.State != state && !g.json {
			fmt.Fprintf(g.env.stdout, "job %s: %s\n", s.ID, s.State)
		}
		state = s.State
		if terminal(state) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("job %s is still %s after %v; see `jmctl info %s`", s.ID, state, timeout, s.ID)
		case <-time.After(200 * time.Millisecond):
		}
		d, err := c.Job(ctx, s.ID)
		if err != nil {
			if ctx.Err() != nil {
				continue // the timeout reports
			}
			return err
		}
		s = &d.JobSummary
	}
	if g.json {
		if err := g.printJSON(s); err != nil {
			return err
		}
	}
	if state == stateFailed {
		return &cliError{code: exitFailed, msg: fmt.Sprintf("job %s failed while cancelling: %s", s.ID, s.Error)}
	}
	return nil
}
