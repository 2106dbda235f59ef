package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/nomad"
)

// newNomadCmd is the `nomad` command group: Sluice on Nomad.
func newNomadCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nomad",
		Short: "Run Sluice on Nomad: print the jobspecs of a cluster",
		Long: `Commands for running Sluice on HashiCorp Nomad. They need no JobManager:
jmctl nomad jobspec prints Nomad jobs for the JobManagers and, optionally, a
static pool of TaskManagers.`,
		Example: `  jmctl nomad jobspec --jobmanager-binary /usr/local/bin/jobmanager --state-backend s3 \
      --state-backend-setting bucket=sluice > sluice-jobmanager.nomad.hcl`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageErrorf("unknown command %q for jmctl nomad; see `jmctl nomad --help`", args[0])
		},
	}
	cmd.AddCommand(newNomadJobspecCmd(g))
	return cmd
}

const nomadJobspecLong = `Print the Nomad job (HCL) of Sluice's JobManagers, which ` + "`nomad job run`" + ` takes
as it is. It needs no JobManager and reads no environment variable.

By default two JobManagers elect a leader through the Consul agent of their
node (--consul, 127.0.0.1:8500), which needs a state backend that outlives
them (--state-backend s3 ...); --no-ha runs one JobManager without Consul.
The binary is a path on every Nomad client node (--jobmanager-binary), or a
URL Nomad downloads and checks (--jobmanager-artifact with
--jobmanager-checksum sha256:HEX). With --driver docker it runs in
--jobmanager-image.

The JobManagers start TaskManagers as Nomad jobs (--provider nomad, the
Nomad agent of their node). --taskmanagers N instead adds a second job: a
static pool of N TaskManagers running a job binary (--taskmanager-binary or
--taskmanager-artifact) with the job's arguments after --, for JobManagers
with --provider standalone (the default then).

Output goes to stdout, the pool's job after a line "# ---"; --output FILE
writes the JobManagers' job to FILE, and --output-dir DIR writes each job to
DIR/JOB.nomad.hcl.

Secrets (Consul and Nomad tokens, S3 keys) should not be in a jobspec: put
them in a Nomad Variable and give its path with --secrets-variable; each of
its items becomes an environment variable of the tasks. --consul-token,
--nomad-token and secret --state-backend-setting keys are written in plain
text, with a warning. See docs/nomad.md.`

// jobspecFlags are the values of jobspec's flags that are not fields of
// the configuration.
type jobspecFlags struct {
	output, outputDir string
	constraints       []string
	settings          []string
	noHA              bool
}

func newNomadJobspecCmd(g *globals) *cobra.Command {
	cfg := nomad.DefaultJobspecConfig()
	var fl jobspecFlags
	cmd := &cobra.Command{
		Use:   "jobspec [flags] [-- JOB-ARGS...]",
		Short: "Print Nomad jobspecs for the JobManagers and an optional TaskManager pool",
		Long:  nomadJobspecLong,
		Example: `  # Two JobManagers with Consul HA, checkpoints in S3, TaskManagers from Nomad:
  jmctl nomad jobspec --jobmanager-binary /usr/local/bin/jobmanager \
      --state-backend s3 --state-backend-setting bucket=sluice \
      --secrets-variable nomad/jobs/sluice-jobmanager > sluice-jobmanager.nomad.hcl
  nomad job run sluice-jobmanager.nomad.hcl

  # One JobManager downloaded by Nomad, no Consul:
  jmctl nomad jobspec --no-ha --jobmanager-artifact https://example.com/sluice/jobmanager \
      --jobmanager-checksum sha256:$(sha256sum bin/jobmanager | cut -d' ' -f1)

  # A static pool of 4 TaskManagers running wordcount, each job in its own file:
  jmctl nomad jobspec --jobmanager-binary /opt/sluice/jobmanager --state-backend s3 \
      --state-backend-setting bucket=sluice --taskmanagers 4 \
      --taskmanager-binary /opt/sluice/wordcount --output-dir jobs -- --input /data/book.txt`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && cmd.ArgsLenAtDash() != 0 {
				return usageErrorf("unexpected argument %q; the job's arguments for the TaskManager pool go after --", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fl.apply(cmd, &cfg, args); err != nil {
				return err
			}
			return writeJobspecs(g.env, cfg, fl)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&fl.output, "output", "", "write the JobManagers' job to `FILE` instead of stdout")
	f.StringVar(&fl.outputDir, "output-dir", "", "write each job to `DIR`/JOB.nomad.hcl")

	f.StringVar(&cfg.Job, "job", cfg.Job, "Nomad job `name` of the JobManagers")
	f.StringSliceVar(&cfg.Datacenters, "datacenters", cfg.Datacenters, "Nomad `datacenters` of both jobs, comma-separated")
	f.StringVar(&cfg.Namespace, "namespace", "", "Nomad `namespace` of both jobs (default: Nomad's)")
	f.StringVar(&cfg.Region, "region", "", "Nomad `region` of both jobs (default: Nomad's)")
	f.StringVar(&cfg.NodePool, "node-pool", "", "Nomad node `pool` of both jobs (default: Nomad's)")
	f.StringArrayVar(&fl.constraints, "constraint", nil, "a `constraint` of both jobs, \"ATTRIBUTE OPERATOR VALUE\" (e.g. \"${attr.kernel.name} = linux\", \"distinct_hosts\"); repeatable")
	f.StringVar(&cfg.Driver, "driver", cfg.Driver, "Nomad task `driver`: raw_exec, exec or docker")
	f.StringVar(&cfg.ServiceProvider, "service-provider", cfg.ServiceProvider, "the services' `provider`: consul or nomad (Nomad's own service discovery)")
	f.StringVar(&cfg.ServiceName, "service-name", cfg.ServiceName, "service `name` of the REST API; the control endpoint's is NAME with -http replaced by -rpc")

	f.StringVar(&cfg.JobManager.Path, "jobmanager-binary", "", "`path` of the jobmanager binary on the Nomad client nodes (in the image, with docker)")
	f.StringVar(&cfg.JobManager.Artifact, "jobmanager-artifact", "", "`URL` Nomad downloads the jobmanager binary from (the binary itself, not an archive)")
	f.StringVar(&cfg.JobManager.Checksum, "jobmanager-checksum", "", "sha256 of the artifact, `sha256:HEX`")
	f.StringVar(&cfg.JobManager.Image, "jobmanager-image", "", "docker `image` of the JobManagers (--driver docker)")
	f.IntVar(&cfg.JobManagers, "jobmanagers", 0, "number of JobManagers (default 2, or 1 with --no-ha)")
	f.IntVar(&cfg.HTTPPort, "http-port", 0, "static `port` of the REST API (default: chosen by Nomad)")
	f.IntVar(&cfg.RPCPort, "rpc-port", 0, "static `port` of the control endpoint (default: chosen by Nomad)")
	f.IntVar(&cfg.CPU, "cpu", cfg.CPU, "CPU of each JobManager, `MHz`")
	f.IntVar(&cfg.MemoryMB, "memory", cfg.MemoryMB, "memory of each JobManager, `MB`")

	f.BoolVar(&fl.noHA, "no-ha", false, "one JobManager without Consul: no standby, jobs do not survive it")
	f.StringVar(&cfg.Consul, "consul", cfg.Consul, "Consul agent `address` the JobManagers elect their leader with; the default is the agent of their node")
	f.StringVar(&cfg.ConsulToken, "consul-token", "", "Consul ACL `token`, written in plain text (prefer --secrets-variable)")
	f.StringVar(&cfg.Cluster, "cluster", cfg.Cluster, "cluster `name` under Consul's sluice/ prefix")
	f.StringVar(&cfg.StateBackend, "state-backend", "", "the JobManagers' state `backend`: s3, a backend name or path (HA needs one that outlives them)")
	f.StringArrayVar(&fl.settings, "state-backend-setting", nil, "a `key=value` setting of the state backend; repeatable")
	f.StringVar(&cfg.SecretsVariable, "secrets-variable", "", "`path` of a Nomad Variable whose items become environment variables of the tasks (e.g. nomad/jobs/sluice-jobmanager)")

	f.StringVar(&cfg.Provider, "provider", cfg.Provider, "the JobManagers' TaskManager `provider`: nomad (they start TaskManagers as Nomad jobs) or standalone (the default with --taskmanagers)")
	f.StringVar(&cfg.NomadAddr, "nomad-addr", cfg.NomadAddr, "`URL` of the Nomad API the JobManagers start TaskManagers with; the default is the agent of their node")
	f.StringSliceVar(&cfg.NomadDatacenters, "nomad-datacenters", nil, "`datacenters` of the TaskManagers the JobManagers start (default: --datacenters)")
	f.StringVar(&cfg.NomadNamespace, "nomad-namespace", "", "`namespace` of the TaskManagers the JobManagers start (default: --namespace)")
	f.StringVar(&cfg.NomadRegion, "nomad-region", "", "`region` of the TaskManagers the JobManagers start (default: --region)")
	f.StringVar(&cfg.NomadNodePool, "nomad-node-pool", "", "node `pool` of the TaskManagers the JobManagers start (default: --node-pool)")
	f.StringVar(&cfg.NomadDriver, "nomad-driver", "", "`driver` of the TaskManagers the JobManagers start: raw_exec, exec or docker (default: the JobManager's, raw_exec)")
	f.StringVar(&cfg.NomadDockerImage, "nomad-docker-image", "", "docker `image` the TaskManagers run in (--nomad-driver docker)")
	f.StringVar(&cfg.NomadArtifactURL, "nomad-artifact-url", "", "base `URL` Nomad clients fetch job binaries from (default: the leader's REST address)")
	f.StringVar(&cfg.NomadToken, "nomad-token", "", "Nomad ACL `token` of the JobManagers, written in plain text (prefer --secrets-variable)")
	f.IntVar(&cfg.Slots, "slots", cfg.Slots, "slots of each TaskManager")
	f.Int64Var(&cfg.TaskManagerMemory, "taskmanager-memory", cfg.TaskManagerMemory, "managed memory of each TaskManager, `bytes`")

	f.IntVar(&cfg.TaskManagers, "taskmanagers", 0, "size of a static TaskManager pool, a second job (0: none)")
	f.StringVar(&cfg.PoolJob, "taskmanager-job", cfg.PoolJob, "Nomad job `name` of the TaskManager pool")
	f.StringVar(&cfg.TaskManager.Path, "taskmanager-binary", "", "`path` of the job binary the pool runs, on the Nomad client nodes")
	f.StringVar(&cfg.TaskManager.Artifact, "taskmanager-artifact", "", "`URL` Nomad downloads the pool's job binary from")
	f.StringVar(&cfg.TaskManager.Checksum, "taskmanager-checksum", "", "sha256 of the pool's artifact, `sha256:HEX`")
	f.StringVar(&cfg.TaskManager.Image, "taskmanager-image", "", "docker `image` of the pool (--driver docker)")
	f.IntVar(&cfg.TaskManagerCPU, "taskmanager-cpu", 0, "CPU of each pool TaskManager, `MHz` (default 500 per slot)")
	return cmd
}

// apply completes cfg from the flags that need more than a Var: the
// constraints, the backend settings, the job arguments, and the defaults
// that depend on other flags. Errors are usage errors.
func (fl *jobspecFlags) apply(cmd *cobra.Command, cfg *nomad.JobspecConfig, args []string) error {
	flags := cmd.Flags()
	cfg.HA = !fl.noHA
	if !cfg.HA {
		for _, name := range []string{"consul", "consul-token", "cluster"} {
			if flags.Changed(name) {
				return usageErrorf("--%s is for high availability through Consul, which --no-ha turns off: drop one of them", name)
			}
		}
	}
	if cfg.TaskManagers > 0 && !flags.Changed("provider") {
		cfg.Provider = nomad.JobspecProviderStandalone
	}
	if cfg.Provider != nomad.JobspecProviderNomad {
		for _, name := range []string{"nomad-addr", "nomad-datacenters", "nomad-namespace", "nomad-region", "nomad-node-pool", "nomad-driver", "nomad-docker-image", "nomad-artifact-url", "nomad-token"} {
			if flags.Changed(name) {
				return usageErrorf("--%s is for --provider nomad, and the provider is %s: drop one of them", name, cfg.Provider)
			}
		}
	}
	for _, s := range fl.constraints {
		c, err := nomad.ParseConstraint(s)
		if err != nil {
			return usageErrorf("--constraint: %w", err)
		}
		cfg.Constraints = append(cfg.Constraints, c)
	}
	for _, s := range fl.settings {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return usageErrorf("--state-backend-setting %q: write key=value, e.g. bucket=sluice", s)
		}
		if cfg.StateBackendSettings == nil {
			cfg.StateBackendSettings = map[string]string{}
		}
		cfg.StateBackendSettings[k] = v
	}
	cfg.TaskManagerArgs = args
	if fl.output != "" && fl.outputDir != "" {
		return usageErrorf("--output and --output-dir: give one of them")
	}
	if fl.output != "" && cfg.TaskManagers > 0 {
		return usageErrorf("--output writes one job, and --taskmanagers adds a second: use --output-dir DIR to write both")
	}
	if err := cfg.Validate(); err != nil {
		return usageErrorf("%w; see `jmctl nomad jobspec --help`", err)
	}
	return nil
}

// writeJobspecs renders the jobs and writes them where fl says, then
// warns about secrets written in plain text.
func writeJobspecs(env *cliEnv, cfg nomad.JobspecConfig, fl jobspecFlags) error {
	jm, err := nomad.JobManagerJobspec(cfg)
	if err != nil {
		return usageErrorf("%w", err)
	}
	files := []struct{ job, spec string }{{cfg.Job, jm}}
	if cfg.TaskManagers > 0 {
		pool, err := nomad.TaskManagerPoolJobspec(cfg)
		if err != nil {
			return usageErrorf("%w", err)
		}
		files = append(files, struct{ job, spec string }{cfg.PoolJob, pool})
	}
	perm := os.FileMode(0o644)
	secrets := plainSecrets(cfg)
	if len(secrets) > 0 {
		perm = 0o600
	}
	switch {
	case fl.output != "":
		if err := writeJobspecFile(fl.output, jm, perm); err != nil {
			return err
		}
	case fl.outputDir != "":
		if err := os.MkdirAll(fl.outputDir, 0o755); err != nil {
			return fmt.Errorf("--output-dir: %w", err)
		}
		for _, f := range files {
			path := filepath.Join(fl.outputDir, f.job+".nomad.hcl")
			if err := writeJobspecFile(path, f.spec, perm); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "wrote %s\n", path)
		}
	default:
		for i, f := range files {
			if i > 0 {
				if _, err := io.WriteString(env.stdout, "\n# ---\n\n"); err != nil {
					return err
				}
			}
			if _, err := io.WriteString(env.stdout, f.spec); err != nil {
				return err
			}
		}
	}
	if len(secrets) > 0 {
		fmt.Fprintf(env.stderr, "jmctl: warning: the jobspec holds %s in plain text, readable by anyone who may read the job; prefer --secrets-variable (see docs/nomad.md)\n",
			strings.Join(secrets, ", "))
	}
	return nil
}

// plainSecrets names the secrets cfg writes into the jobspec as they are.
func plainSecrets(cfg nomad.JobspecConfig) []string {
	var out []string
	if cfg.HA && cfg.ConsulToken != "" {
		out = append(out, "--consul-token")
	}
	if cfg.Provider == nomad.JobspecProviderNomad && cfg.NomadToken != "" {
		out = append(out, "--nomad-token")
	}
	for k := range cfg.StateBackendSettings {
		if nomad.SecretSetting(k) {
			out = append(out, "--state-backend-setting "+k)
		}
	}
	slices.Sort(out)
	return out
}

// writeJobspecFile writes a jobspec to path.
func writeJobspecFile(path, spec string, perm os.FileMode) error {
	if err := os.WriteFile(path, []byte(spec), perm); err != nil {
		return fmt.Errorf("writing the jobspec: %w", err)
	}
	// WriteFile keeps the mode of a file that exists.
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("writing the jobspec: %w", err)
	}
	return nil
}
