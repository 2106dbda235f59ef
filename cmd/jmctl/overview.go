package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

func newOverviewCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "overview",
		Short: "Show the cluster at a glance: TaskManagers, slots, jobs by state",
		Long: `Show the JobManager's version, its TaskManagers and slots (total and free)
and how many jobs are in each state.`,
		Example: `  jmctl overview
  jmctl --consul 127.0.0.1:8500 overview --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			o, err := c.Overview(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(o)
			}
			states := make([]string, 0, len(o.Jobs))
			for st := range o.Jobs {
				states = append(states, st)
			}
			slices.Sort(states)
			jobs := make([]string, 0, len(states))
			for _, st := range states {
				jobs = append(jobs, fmt.Sprintf("%d %s", o.Jobs[st], st))
			}
			tw := newTable(g.env.stdout)
			row(tw, "Version:", o.Version)
			row(tw, "TaskManagers:", o.TaskManagers)
			row(tw, "Slots:", fmt.Sprintf("%d (%d free)", o.Slots, o.FreeSlots))
			row(tw, "Jobs:", orDash(strings.Join(jobs, ", ")))
			return tw.Flush()
		},
	}
}
