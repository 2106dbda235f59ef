package nomad

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Name rules of the values a jobspec names things with. They are those of
// Nomad (namespaces, node pools, variables, services) or stricter (jobs,
// regions, datacenters), and those of Sluice's Consul keys (cluster).
var (
	jsJobNamePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	jsDatacenterPattern  = regexp.MustCompile(`^[A-Za-z0-9*][A-Za-z0-9._*-]{0,127}$`)
	jsNamespacePattern   = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)
	jsNodePoolPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	jsServicePattern     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,57}[A-Za-z0-9])?$`) // leaves room for "-rpc" in 63
	jsClusterPattern     = regexp.MustCompile(`^[A-Za-z0-9._=-]{1,128}$`)
	jsVariablePattern    = regexp.MustCompile(`^[A-Za-z0-9_~-]+(/[A-Za-z0-9_~-]+)*$`)
	jsSettingKeyPattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	jsChecksumPattern    = regexp.MustCompile(`^sha256:[0-9a-fA-F]{64}$`)
	jsProgramNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	jsConstraintOperands = []string{"=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "regexp", "version", "semver",
		"set_contains", "set_contains_all", "set_contains_any", "is_set", "is_not_set", "distinct_hosts", "distinct_property"}
)

// Validate checks the configuration and returns every problem at once,
// each naming the jmctl flag to change and saying how.
func (c JobspecConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if !jsJobNamePattern.MatchString(c.Job) {
		add("--job %q: name the Nomad job with letters, digits, '.', '_' and '-' (at most 128), e.g. %s", c.Job, DefaultJobspecJob)
	}
	if len(c.Datacenters) == 0 {
		add("--datacenters is empty: give the Nomad datacenters to run in, e.g. --datacenters dc1,dc2 (or '*' for all)")
	}
	for _, dc := range c.Datacenters {
		if !jsDatacenterPattern.MatchString(dc) {
			add("--datacenters: %q is not a datacenter name; use letters, digits, '.', '_', '-' and '*' globs, comma-separated", dc)
		}
	}
	if c.Namespace != "" && !jsNamespacePattern.MatchString(c.Namespace) {
		add("--namespace %q: Nomad namespaces are letters, digits and '-'", c.Namespace)
	}
	if c.Region != "" && !jsJobNamePattern.MatchString(c.Region) {
		add("--region %q: use a region name of letters, digits, '.', '_' and '-'", c.Region)
	}
	if c.NodePool != "" && !jsNodePoolPattern.MatchString(c.NodePool) {
		add("--node-pool %q: Nomad node pools are letters, digits, '_' and '-'", c.NodePool)
	}
	for _, con := range c.Constraints {
		if err := jsValidateConstraint(con); err != nil {
			errs = append(errs, err)
		}
	}
	if !slices.Contains([]string{DriverRawExec, DriverExec, DriverDocker}, c.Driver) {
		add("--driver %q: use %s, %s or %s", c.Driver, DriverRawExec, DriverExec, DriverDocker)
	}
	if c.ServiceProvider != ServiceProviderConsul && c.ServiceProvider != ServiceProviderNomad {
		add("--service-provider %q: use consul (the default) or nomad (Nomad's own service discovery)", c.ServiceProvider)
	}
	if !jsServicePattern.MatchString(c.ServiceName) {
		add("--service-name %q: service names are letters, digits and inner '-', at most 59 (the control port's service adds -rpc)", c.ServiceName)
	}

	errs = append(errs, jsValidateBinary("jobmanager", "JobManager", c.JobManager, c.Driver)...)
	switch {
	case c.JobManagers < 0:
		add("--jobmanagers %d: give a count of 1 or more (0 for the default: %d with HA, 1 without)", c.JobManagers, DefaultJobspecHAJobs)
	case !c.HA && c.JobManagers > 1:
		add("--jobmanagers %d with --no-ha: without Consul each JobManager would lead a cluster of its own; drop --no-ha or use --jobmanagers 1", c.JobManagers)
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"--http-port", c.HTTPPort}, {"--rpc-port", c.RPCPort}} {
		if p.port < 0 || p.port > 65535 {
			add("%s %d: give a port from 1 to 65535, or 0 to let Nomad choose one", p.flag, p.port)
		}
	}
	if c.HTTPPort != 0 && c.HTTPPort == c.RPCPort {
		add("--http-port and --rpc-port are both %d: give them different ports", c.HTTPPort)
	}
	if c.CPU < 1 {
		add("--cpu %d: give the JobManager's CPU in MHz, e.g. %d", c.CPU, DefaultJobspecCPU)
	}
	if c.MemoryMB < 10 {
		add("--memory %d: give the JobManager's memory in MB, at least 10 (Nomad's minimum), e.g. %d", c.MemoryMB, DefaultJobspecMemoryMB)
	}

	if c.HA {
		if err := jsValidateConsulAddr(c.Consul); err != nil {
			errs = append(errs, err)
		}
		if !jsClusterPattern.MatchString(c.Cluster) || c.Cluster == "." || c.Cluster == ".." {
			add("--cluster %q: name the cluster with letters, digits, '.', '_', '-' and '=' (at most 128)", c.Cluster)
		}
		if c.StateBackend == "" || c.StateBackend == "memory" {
			add("--state-backend: high availability needs a state backend that outlives a JobManager, such as --state-backend s3 --state-backend-setting bucket=NAME; or use --no-ha for one JobManager with the memory backend")
		}
	}
	for _, k := range jsSortedKeys(c.StateBackendSettings) {
		if !jsSettingKeyPattern.MatchString(k) {
			add("--state-backend-setting %q: write key=value with a key of letters, digits, '.', '_' and '-'", k+"="+c.StateBackendSettings[k])
		}
	}
	if len(c.StateBackendSettings) > 0 && c.StateBackend == "" {
		add("--state-backend-setting without --state-backend: name the backend the settings are for, e.g. --state-backend s3")
	}
	if c.SecretsVariable != "" && (!jsVariablePattern.MatchString(c.SecretsVariable) || len(c.SecretsVariable) > 128) {
		add("--secrets-variable %q: give a Nomad Variable path of letters, digits, '_', '~' and '-' separated by '/', e.g. nomad/jobs/%s", c.SecretsVariable, c.Job)
	}

	switch c.Provider {
	case JobspecProviderNomad:
		if c.NomadAddr == "" {
			add("--nomad-addr is empty: give the Nomad API the JobManagers register TaskManager jobs with, e.g. %s", DefaultJobspecNomadAddr)
		} else if !jsHasRefs(c.NomadAddr) {
			if u, err := url.Parse(c.NomadAddr); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("--nomad-addr %q: give a URL such as http://10.0.0.5:4646 or %s", c.NomadAddr, DefaultJobspecNomadAddr)
			}
		}
		for _, dc := range c.NomadDatacenters {
			if !jsDatacenterPattern.MatchString(dc) {
				add("--nomad-datacenters: %q is not a datacenter name; use letters, digits, '.', '_', '-' and '*' globs, comma-separated", dc)
			}
		}
		if c.NomadNamespace != "" && !jsNamespacePattern.MatchString(c.NomadNamespace) {
			add("--nomad-namespace %q: Nomad namespaces are letters, digits and '-'", c.NomadNamespace)
		}
		if c.NomadRegion != "" && !jsJobNamePattern.MatchString(c.NomadRegion) {
			add("--nomad-region %q: use a region name of letters, digits, '.', '_' and '-'", c.NomadRegion)
		}
		if c.NomadNodePool != "" && !jsNodePoolPattern.MatchString(c.NomadNodePool) {
			add("--nomad-node-pool %q: Nomad node pools are letters, digits, '_' and '-'", c.NomadNodePool)
		}
		if c.NomadDriver != "" && !slices.Contains([]string{DriverRawExec, DriverExec, DriverDocker}, c.NomadDriver) {
			add("--nomad-driver %q: use %s, %s or %s", c.NomadDriver, DriverRawExec, DriverExec, DriverDocker)
		}
		switch {
		case c.NomadDriver == DriverDocker && c.NomadDockerImage == "":
			add("--nomad-driver docker needs --nomad-docker-image IMAGE, the image TaskManagers run their job binary in")
		case c.NomadDriver != DriverDocker && c.NomadDockerImage != "":
			add("--nomad-docker-image is for --nomad-driver docker: drop it, or add --nomad-driver docker")
		case jsHasControl(c.NomadDockerImage):
			add("--nomad-docker-image %q: control characters are not allowed", c.NomadDockerImage)
		}
		if c.NomadArtifactURL != "" && !jsHasRefs(c.NomadArtifactURL) {
			if u, err := url.Parse(c.NomadArtifactURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("--nomad-artifact-url %q: give the base URL Nomad clients fetch job binaries from, e.g. http://sluice-jobmanager.service.consul:8081", c.NomadArtifactURL)
			}
		}
	case JobspecProviderStandalone:
	default:
		add("--provider %q: use nomad (the JobManagers start TaskManagers as Nomad jobs) or standalone (TaskManagers are started by others, e.g. --taskmanagers)", c.Provider)
	}
	if c.Slots < 1 {
		add("--slots %d: give the slots of each TaskManager, 1 or more", c.Slots)
	}
	if c.TaskManagerMemory < 1<<20 {
		add("--taskmanager-memory %d: give each TaskManager's managed memory in bytes, at least 1 MiB (1048576), e.g. %d for 1 GiB", c.TaskManagerMemory, DefaultJobspecTaskMemory)
	}

	switch {
	case c.TaskManagers < 0:
		add("--taskmanagers %d: give the size of the TaskManager pool, or 0 for none", c.TaskManagers)
	case c.TaskManagers == 0:
		if c.TaskManager != (JobspecBinary{}) || len(c.TaskManagerArgs) > 0 {
			add("the TaskManager binary or arguments are given but --taskmanagers is 0: add --taskmanagers N for a static pool, or drop them")
		}
	default:
		if !jsJobNamePattern.MatchString(c.PoolJob) {
			add("--taskmanager-job %q: name the Nomad job with letters, digits, '.', '_' and '-' (at most 128), e.g. %s", c.PoolJob, DefaultJobspecPoolJob)
		} else if c.PoolJob == c.Job {
			add("--taskmanager-job %q is also --job: give the pool a Nomad job of its own", c.PoolJob)
		}
		errs = append(errs, jsValidateBinary("taskmanager", "job", c.TaskManager, c.Driver)...)
		if c.TaskManagerCPU < 0 {
			add("--taskmanager-cpu %d: give each TaskManager's CPU in MHz, or 0 for %d per slot", c.TaskManagerCPU, DefaultCPUPerSlot)
		}
		if c.Provider == JobspecProviderNomad {
			add("--taskmanagers with --provider nomad: the JobManagers would start TaskManagers of their own as well; use --provider standalone with a static pool")
		}
	}
	return errors.Join(errs...)
}

// jsValidateBinary checks where the program of a task comes from; flag is
// the flags' prefix (jobmanager, taskmanager) and what names the program.
func jsValidateBinary(flag, what string, b JobspecBinary, driver string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	docker := driver == DriverDocker
	switch {
	case b.Path != "" && b.Artifact != "":
		add("--%s-binary and --%s-artifact: give one of them, not both", flag, flag)
	case b.Path == "" && b.Artifact == "" && !docker:
		add("no %s binary: give --%s-binary PATH (on every Nomad client node) or --%s-artifact URL --%s-checksum sha256:HEX (downloaded by Nomad)", what, flag, flag, flag)
	}
	if b.Path != "" && (!strings.HasPrefix(b.Path, "/") || jsHasControl(b.Path)) {
		add("--%s-binary %q: give the absolute path of the %s binary on the Nomad client nodes (in the image, with docker)", flag, b.Path, what)
	}
	if b.Artifact != "" {
		if u, err := url.Parse(b.Artifact); err != nil || u.Scheme == "" || jsHasControl(b.Artifact) {
			add("--%s-artifact %q: give the URL Nomad downloads the %s binary from, e.g. https://example.com/sluice/%s", flag, b.Artifact, what, flag)
		}
		if b.Checksum == "" {
			add("--%s-artifact needs --%s-checksum sha256:HEX, so that Nomad refuses a corrupt or tampered download (compute it with sha256sum)", flag, flag)
		}
	}
	if b.Checksum != "" {
		if b.Artifact == "" {
			add("--%s-checksum is for --%s-artifact: drop it, or give the artifact's URL", flag, flag)
		} else if !jsChecksumPattern.MatchString(b.Checksum) {
			add("--%s-checksum %q: write sha256: and the 64 hex digits sha256sum prints", flag, b.Checksum)
		}
	}
	switch {
	case docker && b.Image == "":
		add("--driver docker needs --%s-image IMAGE to run the %s in (with the binary at --%s-binary in it, or downloaded with --%s-artifact)", flag, what, flag, flag)
	case !docker && b.Image != "":
		add("--%s-image is for --driver docker: drop it, or add --driver docker", flag)
	}
	if jsHasControl(b.Image) {
		add("--%s-image %q: control characters are not allowed", flag, b.Image)
	}
	return errs
}

// jsValidateConstraint checks a constraint as Nomad would, and that its
// attribute is an interpolation where one is meant.
func jsValidateConstraint(c Constraint) error {
	s := c.String()
	switch {
	case !slices.Contains(jsConstraintOperands, c.Operator):
		return fmt.Errorf("--constraint %q: unknown operator %q; use one of %s", s, c.Operator, strings.Join(jsConstraintOperands, " "))
	case c.Operator != "distinct_hosts" && c.Attribute == "":
		return fmt.Errorf("--constraint %q: operator %s needs an attribute, e.g. ${attr.kernel.name}", s, c.Operator)
	case strings.HasPrefix(c.Attribute, "attr.") || strings.HasPrefix(c.Attribute, "node.") || strings.HasPrefix(c.Attribute, "meta."):
		return fmt.Errorf("--constraint %q: write the attribute as ${%s}, as Nomad interpolates it", s, c.Attribute)
	case jsHasControl(c.Attribute) || jsHasControl(c.Value):
		return fmt.Errorf("--constraint %q: control characters are not allowed", s)
	}
	switch c.Operator {
	case "is_set", "is_not_set", "distinct_hosts", "distinct_property":
	default:
		if c.Value == "" {
			return fmt.Errorf("--constraint %q: operator %s needs a value: \"ATTRIBUTE %s VALUE\"", s, c.Operator, c.Operator)
		}
	}
	if c.Operator == "regexp" {
		if _, err := regexp.Compile(c.Value); err != nil {
			return fmt.Errorf("--constraint %q: the regular expression does not compile: %w", s, err)
		}
	}
	return nil
}

// jsValidateConsulAddr checks --consul: host:port or http(s)://host:port,
// unless it holds a Nomad interpolation (resolved on the node).
func jsValidateConsulAddr(a string) error {
	if jsHasRefs(a) {
		return nil
	}
	hostport := a
	if scheme, rest, ok := strings.Cut(a, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return fmt.Errorf("--consul %q: scheme %q; use host:port or http(s)://host:port", a, scheme)
		}
		hostport = strings.TrimSuffix(rest, "/")
	}
	host, port, err := net.SplitHostPort(hostport)
	if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || n == 0 || host == "" {
		return fmt.Errorf("--consul %q: give the Consul agent's address as host:port, e.g. %s (the agent on each node)", a, DefaultJobspecConsul)
	}
	return nil
}

// jsHasControl reports whether s holds a control character.
func jsHasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// jsSortedKeys returns m's keys in order.
func jsSortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
