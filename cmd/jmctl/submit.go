package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/jobmanager/api"
)

type submitOptions struct {
	parallelism      int
	detached         bool
	interval         time.Duration
	savepoint        string
	allowNonRestored bool
}

func newSubmitCmd(g *globals) *cobra.Command {
	o := &submitOptions{}
	cmd := &cobra.Command{
		Use:   "submit BINARY [-- ARGS...]",
		Short: "Submit a job binary and follow the job",
		Long: `Submit a job binary to the JobManager:

  1. run BINARY with ARGS in plan mode (SLUICE_MODE=plan, and
     SLUICE_PARALLELISM=N with --parallelism N), in which it prints its job
     graph and exits;
  2. upload BINARY (only if the JobManager does not have it yet);
  3. submit the job: its graph, BINARY's sha256, ARGS and the parallelism.
     TaskManagers run BINARY with the same ARGS.

Then, with --detached, print the job id; otherwise follow the job, printing
its state changes and progress, until it ends. The exit code is 0 if the job
finished and 1 if it failed or was cancelled. Ctrl-C stops following and
leaves the job running; cancel it with jmctl cancel.

Arguments after -- are the job's, not jmctl's.`,
		Example: `  jmctl submit ./wordcount
  jmctl submit ./wordcount --parallelism 4 -- --input /data/hamlet.txt --top 20
  id=$(jmctl submit --detached ./wordcount)
  jmctl submit ./wordcount-v2 --from-savepoint savepoints/3f9c2a1b-1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("submit needs the path of a job binary; usage: %s", cmd.UseLine())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSubmit(cmd, g, o, args[0], args[1:])
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.parallelism, "parallelism", 0, "default parallelism of the job's operators (SLUICE_PARALLELISM in plan mode; default: the binary's)")
	f.BoolVar(&o.detached, "detached", false, "print the job id and exit instead of following the job")
	f.StringVar(&o.savepoint, "from-savepoint", "", "start the job from the savepoint at this location (a name in the state backend or file:///DIR)")
	f.BoolVar(&o.allowNonRestored, "allow-non-restored-state", false, "with --from-savepoint: drop saved state of operators the job no longer has instead of refusing to start")
	f.DurationVar(&o.interval, "interval", time.Second, "how often to poll the job's state")
	_ = f.MarkHidden("interval")
	return cmd
}

func runSubmit(cmd *cobra.Command, g *globals, o *submitOptions, binary string, jobArgs []string) error {
	if cmd.Flags().Changed("parallelism") && o.parallelism < 1 {
		return usageErrorf("--parallelism %d: must be at least 1", o.parallelism)
	}
	if g.json && !o.detached {
		return usageErrorf("--json needs --detached: a followed job prints progress, not JSON")
	}
	if o.interval <= 0 {
		return usageErrorf("--interval %v: must be positive", o.interval)
	}
	if o.allowNonRestored && o.savepoint == "" {
		return usageErrorf("--allow-non-restored-state needs --from-savepoint")
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	abs, err := checkBinary(binary)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	graph, err := plan(ctx, binary, abs, jobArgs, o.parallelism, g.env.planTimeout)
	if err != nil {
		return err
	}
	digest, err := c.UploadArtifact(ctx, abs)
	if err != nil {
		return err
	}
	id, err := c.Submit(ctx, api.SubmitRequest{
		Graph:                 graph,
		Artifact:              digest,
		Args:                  jobArgs,
		Parallelism:           o.parallelism,
		FromSavepoint:         o.savepoint,
		AllowNonRestoredState: o.allowNonRestored,
	})
	if err != nil {
		return err
	}

	if o.detached {
		if g.json {
			return g.printJSON(api.SubmitResponse{ID: id})
		}
		_, err := fmt.Fprintln(g.env.stdout, id)
		return err
	}
	fmt.Fprintf(g.env.stdout, "job %s submitted\n", id)
	f := &follower{env: g.env, client: c, id: id, interval: o.interval}
	return f.run(ctx)
}
