package nomad

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Defaults of JobspecConfig.
const (
	DefaultJobspecJob        = "sluice-jobmanager"
	DefaultJobspecPoolJob    = "sluice-taskmanagers"
	DefaultJobspecDatacenter = "dc1"
	// DefaultJobspecService is the REST port's service; the control
	// port's is sluice-jobmanager-rpc. (Each JobManager with Consul HA
	// also registers itself as sluice-jobmanager, with its liveness check.)
	DefaultJobspecService    = "sluice-jobmanager-http"
	DefaultJobspecConsul     = "127.0.0.1:8500" // the Consul agent of the node
	DefaultJobspecCluster    = "default"
	DefaultJobspecNomadAddr  = "http://${attr.unique.network.ip-address}:4646" // the Nomad agent of the node
	DefaultJobspecCPU        = 500                                             // MHz
	DefaultJobspecMemoryMB   = 512
	DefaultJobspecSlots      = 2
	DefaultJobspecTaskMemory = 1 << 30      // bytes of managed memory per TaskManager
	DefaultJobspecHAJobs     = 2            // JobManagers with Consul HA: a leader and a standby
	DefaultJobspecHealthPath = "/v1/health" // answers 200 on the leader and on standbys
)

// Who registers the JobManagers' services (JobspecConfig.ServiceProvider).
const (
	ServiceProviderConsul = "consul"
	ServiceProviderNomad  = "nomad" // Nomad's own service discovery
)

// Where the JobManagers get TaskManagers (JobspecConfig.Provider).
const (
	JobspecProviderNomad      = "nomad"      // they register Nomad jobs of TaskManagers
	JobspecProviderStandalone = "standalone" // others start them, e.g. the static pool
)

// JobspecConfig describes the Nomad jobs `jmctl nomad jobspec` prints: the
// JobManagers, and optionally a static pool of TaskManagers. Each field
// names the jmctl flag that sets it. Start from DefaultJobspecConfig.
type JobspecConfig struct {
	// Job is the Nomad job of the JobManagers (--job).
	Job string
	// Datacenters, Namespace, Region and NodePool place both jobs
	// (--datacenters, --namespace, --region, --node-pool); the last three
	// are written only when set.
	Datacenters                 []string
	Namespace, Region, NodePool string
	// Constraints restrict the nodes of both jobs (--constraint).
	Constraints []Constraint
	// Driver runs both jobs' tasks: raw_exec, exec or docker (--driver).
	Driver string
	// ServiceProvider registers the services: consul (the default) or
	// nomad, Nomad's own service discovery (--service-provider).
	ServiceProvider string
	// ServiceName is the service of the JobManagers' REST port; their
	// control port's is ServiceName with its "-http" suffix (if any)
	// replaced by "-rpc" (--service-name).
	ServiceName string

	// JobManager is the JobManager binary (--jobmanager-binary,
	// --jobmanager-artifact, --jobmanager-checksum, --jobmanager-image).
	JobManager JobspecBinary
	// JobManagers is the group's count (--jobmanagers); 0 means 2 with
	// HA and 1 without.
	JobManagers int
	// HTTPPort and RPCPort are static ports for the REST API and the
	// control endpoint (--http-port, --rpc-port); 0 lets Nomad choose.
	HTTPPort, RPCPort int
	// CPU (MHz) and MemoryMB are each JobManager's resources (--cpu,
	// --memory).
	CPU, MemoryMB int

	// HA elects a leader through Consul (default true; --no-ha turns it
	// off). Consul, ConsulToken and Cluster are then ignored.
	HA bool
	// Consul is the Consul agent the JobManagers use (--consul), by
	// default the agent on their node.
	Consul string
	// ConsulToken is written into the task's env when set
	// (--consul-token); prefer SecretsVariable.
	ConsulToken string
	// Cluster names the cluster under Consul's sluice/ prefix (--cluster).
	Cluster string

	// StateBackend and StateBackendSettings are passed on as
	// --state-backend and --state-backend-setting k=v; "" keeps the
	// JobManager's default (memory), which HA cannot use.
	StateBackend         string
	StateBackendSettings map[string]string

	// SecretsVariable is the path of a Nomad Variable whose items become
	// environment variables of the tasks, through a template
	// (--secrets-variable), e.g. SLUICE_CONSUL_TOKEN, NOMAD_TOKEN,
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	SecretsVariable string

	// Provider is where the JobManagers get TaskManagers: nomad (they
	// register Nomad jobs) or standalone (--provider).
	Provider string
	// The Nomad provider's settings, passed on as the JobManager's flags
	// of the same names (--nomad-addr, --nomad-datacenters,
	// --nomad-namespace, --nomad-region, --nomad-node-pool,
	// --nomad-driver, --nomad-docker-image, --nomad-artifact-url). The
	// datacenters, namespace, region and node pool default to the
	// JobManagers' own; the others, when not set, to the JobManager's
	// defaults (raw_exec; artifacts fetched from the JobManager's REST
	// address). NomadToken (--nomad-token) is written into the task's env
	// as NOMAD_TOKEN when set; prefer SecretsVariable.
	//
	// The JobManager's --nomad-constraint is not offered: Nomad replaces
	// ${attr...} in a task's arguments with the node's own values, so a
	// constraint would reach the JobManager already resolved.
	NomadAddr                                  string
	NomadDatacenters                           []string
	NomadNamespace, NomadRegion, NomadNodePool string
	NomadDriver, NomadDockerImage              string
	NomadArtifactURL                           string
	NomadToken                                 string
	// Slots and TaskManagerMemory (bytes of managed memory) size each
	// TaskManager, of the Nomad provider and of the pool (--slots,
	// --taskmanager-memory).
	Slots             int
	TaskManagerMemory int64

	// TaskManagers is the count of the static TaskManager pool, 0 for
	// none (--taskmanagers).
	TaskManagers int
	// PoolJob is the Nomad job of the pool (--taskmanager-job).
	PoolJob string
	// TaskManager is the job binary the pool runs in TaskManager mode
	// (--taskmanager-binary, --taskmanager-artifact,
	// --taskmanager-checksum, --taskmanager-image), with
	// TaskManagerArgs, the job's arguments (after -- on jmctl's command
	// line): TaskManagers rebuild the job graph from them.
	TaskManager     JobspecBinary
	TaskManagerArgs []string
	// TaskManagerCPU is each pool TaskManager's CPU in MHz
	// (--taskmanager-cpu); 0 means DefaultCPUPerSlot per slot. Its memory
	// is its managed memory plus DefaultMemoryOverhead MB.
	TaskManagerCPU int
}

// JobspecBinary says where a task's program comes from: a path on the
// Nomad client nodes, or an artifact Nomad downloads and checks, and, for
// the docker driver, the image it runs in.
type JobspecBinary struct {
	// Path is the program's absolute path on the node (in the image, with
	// docker).
	Path string
	// Artifact is the URL of the program itself (not an archive), which
	// Nomad downloads into the task's local/ directory; Checksum is its
	// "sha256:HEX".
	Artifact, Checksum string
	// Image is the docker image (docker driver only).
	Image string
}

// DefaultJobspecConfig returns the defaults: two JobManagers electing a
// leader through the Consul agent of their node, the Nomad provider
// talking to the Nomad agent of their node, raw_exec, no TaskManager pool.
// A binary and a state backend remain to be chosen.
func DefaultJobspecConfig() JobspecConfig {
	return JobspecConfig{
		Job:               DefaultJobspecJob,
		Datacenters:       []string{DefaultJobspecDatacenter},
		Driver:            DriverRawExec,
		ServiceProvider:   ServiceProviderConsul,
		ServiceName:       DefaultJobspecService,
		CPU:               DefaultJobspecCPU,
		MemoryMB:          DefaultJobspecMemoryMB,
		HA:                true,
		Consul:            DefaultJobspecConsul,
		Cluster:           DefaultJobspecCluster,
		Provider:          JobspecProviderNomad,
		NomadAddr:         DefaultJobspecNomadAddr,
		Slots:             DefaultJobspecSlots,
		TaskManagerMemory: DefaultJobspecTaskMemory,
		PoolJob:           DefaultJobspecPoolJob,
	}
}

// JobManagerJobspec returns the Nomad job of the JobManagers in HCL, as
// `nomad job run` takes it, or the error of cfg.Validate.
func JobManagerJobspec(cfg JobspecConfig) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	return jsJobManagerJob(cfg.resolved()), nil
}

// TaskManagerPoolJobspec returns the Nomad job of the static TaskManager
// pool in HCL, or an error if cfg is invalid or has no pool
// (TaskManagers is 0).
func TaskManagerPoolJobspec(cfg JobspecConfig) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	if cfg.TaskManagers == 0 {
		return "", fmt.Errorf("--taskmanagers is 0: there is no TaskManager pool; give --taskmanagers N and --taskmanager-binary or --taskmanager-artifact")
	}
	return jsPoolJob(cfg.resolved()), nil
}

// resolved returns cfg with the defaults that depend on other fields
// filled in. cfg must be valid.
func (c JobspecConfig) resolved() JobspecConfig {
	c.Datacenters = slices.Clone(c.Datacenters)
	c.StateBackendSettings = maps.Clone(c.StateBackendSettings)
	if c.JobManagers == 0 {
		c.JobManagers = 1
		if c.HA {
			c.JobManagers = DefaultJobspecHAJobs
		}
	}
	if len(c.NomadDatacenters) == 0 {
		c.NomadDatacenters = c.Datacenters
	}
	if c.NomadNamespace == "" {
		c.NomadNamespace = c.Namespace
	}
	if c.NomadRegion == "" {
		c.NomadRegion = c.Region
	}
	if c.NomadNodePool == "" {
		c.NomadNodePool = c.NodePool
	}
	if c.TaskManagerCPU == 0 {
		c.TaskManagerCPU = DefaultCPUPerSlot * c.Slots
	}
	if !c.HA {
		c.Consul, c.ConsulToken, c.Cluster = "", "", ""
	}
	return c
}

// rpcServiceName is the service of the JobManagers' control port.
func (c JobspecConfig) rpcServiceName() string {
	return strings.TrimSuffix(c.ServiceName, "-http") + "-rpc"
}

// poolMemoryMB is a pool TaskManager's memory: its managed memory and the
// overhead of the rest of the process.
func (c JobspecConfig) poolMemoryMB() int64 {
	const mib = 1 << 20
	return (c.TaskManagerMemory+mib-1)/mib + DefaultMemoryOverhead
}
