package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/internal/tlsutil"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/auth"
	"github.com/sluicehq/sluice/jobmanager/ha"
)

// defaultJobManager is the JobManager address when neither --jobmanager nor
// SLUICE_JOBMANAGER gives one.
const defaultJobManager = "127.0.0.1:8081"

// jobManagerEnv is the environment variable with the default JobManager
// address.
const jobManagerEnv = "SLUICE_JOBMANAGER"

const rootLong = `jmctl controls a Sluice JobManager through its REST API: it submits job
binaries and lists, inspects and cancels jobs and TaskManagers.

The JobManager address is --jobmanager, else $SLUICE_JOBMANAGER, else
127.0.0.1:8081; https://HOST:PORT reaches one that serves TLS, verified
against the system's roots or the CA of --tls-ca ($SLUICE_TLS_CA), which
also makes an address without a scheme https. Long flags may also be
written with one dash (-json).

Exit codes:
  0  success
  1  the job failed or was cancelled (submit without --detached), or another error
  2  usage error: bad flags or arguments, a job binary that is missing, not
     executable or prints no job graph in plan mode
  3  the JobManager answered with an error (4xx/5xx), such as an unknown job
  4  the JobManager is unreachable`

// globals are the flags every command has, and the environment.
type globals struct {
	env         *cliEnv
	addr        string
	consul      string
	consulToken string
	cluster     string
	json        bool
	token       string
	tokenFile   string
	tlsCA       string
}

// client returns a client of the JobManager at --jobmanager, or of the
// leading JobManager that Consul names with --consul.
func (g *globals) client() (*api.Client, error) {
	addr := g.addr
	if g.consul != "" {
		d, err := ha.NewConsulDiscovery(ha.ConsulConfig{Address: g.consul, Token: g.consulToken, Cluster: g.cluster,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return nil, &cliError{code: exitUsage, err: fmt.Errorf("--consul: %w", err)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		l, err := d.Leader(ctx)
		if err != nil {
			return nil, &cliError{code: exitUnreachable, err: fmt.Errorf("finding the leading JobManager through Consul at %s: %w", g.consul, err)}
		}
		addr = l.REST
		if l.Scheme != "" {
			addr = l.RESTURL()
		}
	}
	token := g.token
	if token == "" && g.tokenFile != "" {
		t, err := auth.ReadTokenFile(g.tokenFile)
		if err != nil {
			return nil, &cliError{code: exitUsage, err: fmt.Errorf("--token-file: %w", err)}
		}
		token = t
	}
	opts := []api.Option{api.WithToken(token)}
	if g.tlsCA != "" {
		tc, err := tlsutil.Client(tlsutil.Config{CAFile: g.tlsCA})
		if err != nil {
			return nil, &cliError{code: exitUsage, err: fmt.Errorf("--tls-ca: %w", err)}
		}
		opts = append(opts, api.WithTLS(tc))
		if !strings.Contains(addr, "://") {
			addr = "https://" + addr // a CA to verify the JobManager with means https
		}
	}
	c, err := api.NewClient(addr, opts...)
	if err != nil {
		return nil, &cliError{code: exitUsage, err: fmt.Errorf("--jobmanager: %w", err)}
	}
	return c, nil
}

// printJSON writes v as indented JSON to stdout.
func (g *globals) printJSON(v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = g.env.stdout.Write(append(data, '\n'))
	return err
}

// now returns the current time of the environment.
func (g *globals) now() time.Time { return g.env.now() }

// newRootCmd returns the jmctl command tree, writing to env.
func newRootCmd(env *cliEnv) *cobra.Command {
	g := &globals{env: env}
	root := &cobra.Command{
		Use:   "jmctl",
		Short: "Control a Sluice JobManager: submit, list, inspect and cancel jobs",
		Long:  rootLong,
		Example: `  jmctl submit ./wordcount -- --input hamlet.txt
  jmctl --jobmanager jobmanager.service.consul:8081 list
  jmctl info 3f9c2a1b`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Arbitrary args, so that an unknown command reaches RunE and is a
		// usage error rather than cobra's own.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return usageErrorf("%s; see `jmctl --help`", msg)
		},
	}
	// `jmctl completion bash|zsh|fish|powershell` prints a completion
	// script; JOB arguments complete with the JobManager's job ids.
	root.CompletionOptions.HiddenDefaultCmd = false
	root.SuggestionsMinimumDistance = 2
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%w; see `%s --help`", err, c.CommandPath())
	})

	addr := env.getenv(jobManagerEnv)
	if addr == "" {
		addr = defaultJobManager
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.addr, "jobmanager", addr, "JobManager address, host:port or http(s)://host:port (env "+jobManagerEnv+")")
	pf.BoolVar(&g.json, "json", false, "print the API's JSON instead of tables")
	pf.StringVar(&g.consul, "consul", env.getenv("SLUICE_CONSUL"), "find the leading JobManager through this Consul agent (host:port) instead of --jobmanager (env SLUICE_CONSUL)")
	pf.StringVar(&g.consulToken, "consul-token", env.getenv("SLUICE_CONSUL_TOKEN"), "Consul ACL token (env SLUICE_CONSUL_TOKEN)")
	pf.StringVar(&g.token, "token", env.getenv("SLUICE_TOKEN"), "token for a JobManager that checks tokens (env SLUICE_TOKEN)")
	pf.StringVar(&g.tokenFile, "token-file", env.getenv("SLUICE_TOKEN_FILE"), "read the token from this file instead (env SLUICE_TOKEN_FILE)")
	pf.StringVar(&g.tlsCA, "tls-ca", env.getenv("SLUICE_TLS_CA"), "verify an https JobManager against this CA bundle (PEM); a --jobmanager without a scheme is then https (env SLUICE_TLS_CA)")
	pf.StringVar(&g.cluster, "cluster", env.getenv("SLUICE_CLUSTER"), "cluster name under Consul's sluice/ prefix (env SLUICE_CLUSTER; default \"default\")")

	root.AddCommand(
		newSubmitCmd(g),
		newListCmd(g),
		newInfoCmd(g),
		newCancelCmd(g),
		newTaskManagersCmd(g),
		newCheckpointsCmd(g),
		newSavepointCmd(g),
		newStopCmd(g),
		newRescaleCmd(g),
		newNomadCmd(g),
		newOverviewCmd(g),
	)
	return root
}

// exactArgs is cobra.ExactArgs returning a usage error that shows how to
// call the command.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %d argument(s), got %d; usage: %s", cmd.Name(), n, len(args), cmd.UseLine())
		}
		return nil
	}
}

// run runs jmctl with args (without the program name) and returns its exit
// code; errors are printed as one line on env.stderr.
func run(args []string, env *cliEnv) int {
	root := newRootCmd(env)
	root.SetArgs(normalizeArgs(root, args))
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(env.stderr, "jmctl: "+oneLine(err.Error()))
	return exitCode(err)
}
