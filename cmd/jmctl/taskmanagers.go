package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

func newTaskManagersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "taskmanagers",
		Aliases: []string{"tms"},
		Short:   "List the TaskManagers and their slots",
		Long: `List the registered TaskManagers: id, data address, used/total slots,
managed memory and last heartbeat; then one line per slot with the job using
it, its share of managed memory, the memory of its network buffers, the
estimated size of its keyed state and its subtasks.`,
		Example: `  jmctl taskmanagers
  jmctl taskmanagers --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			tms, err := c.TaskManagers(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				if tms == nil {
					tms = []api.TaskManager{}
				}
				return g.printJSON(api.TaskManagerList{TaskManagers: tms})
			}
			return printTaskManagers(g, tms)
		},
	}
}

// printTaskManagers writes the TaskManager table and the slot table.
func printTaskManagers(g *globals, tms []api.TaskManager) error {
	w := g.env.stdout
	if len(tms) == 0 {
		_, err := fmt.Fprintln(w, "no TaskManagers registered; start one with `taskmanager`")
		return err
	}
	now := g.now()
	tw := newTable(w)
	row(tw, "ID", "ADDRESS", "SLOTS", "MEMORY", "LAST HEARTBEAT")
	for _, tm := range tms {
		total := len(tm.Slots)
		used := min(max(total-tm.FreeSlots, 0), total)
		row(tw, tm.ID, orDash(tm.DataAddress), fmt.Sprintf("%d/%d", used, total),
			humanBytes(tm.ManagedMemory), ago(now, tm.LastHeartbeat))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	io.WriteString(w, "\n")
	tw = newTable(w)
	row(tw, "TASKMANAGER", "SLOT", "JOB", "MEMORY", "NETWORK", "STATE", "SUBTASKS")
	for _, tm := range tms {
		for _, s := range tm.Slots {
			row(tw, tm.ID, s.Index, orDash(s.Job), humanBytes(s.MemoryBytes), humanBytes(s.NetworkBytes),
				humanBytes(s.StateBytes), orDash(strings.Join(s.Subtasks, ", ")))
		}
	}
	return tw.Flush()
}
