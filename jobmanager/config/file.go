package config

// This file is the schema of a configuration file. The comments on the
// fields are the descriptions that jobmanager --help prints and that
// docs/configuration.md shows: after changing one, run
// go generate ./jobmanager/config (it runs go run ./internal/docgen).
//
// Tags: hcl is the name in the file (see gohcl), flag the command-line
// flag that sets the same field, env the environment variable that does,
// and default, where present, describes a default that depends on the
// machine or on other settings (otherwise Defaults gives it).

// File is the schema of a JobManager configuration file. Every field is
// optional: one left out keeps the value of the layer below it (an earlier
// file, or the default). Scalars are pointers so that "not set" differs
// from a zero value.
type File struct {
	// Address of the REST API (and of GET /metrics), host:port.
	HTTPAddr *string `hcl:"http_addr,optional" flag:"http-addr"`
	// Address of the control endpoint TaskManagers connect to, host:port.
	RPCAddr *string `hcl:"rpc_addr,optional" flag:"rpc-addr"`
	// Host TaskManagers, Nomad clients and other JobManagers reach this
	// JobManager at. By default the host of the listen addresses, or this
	// machine's first non-loopback address when they listen on every
	// interface.
	AdvertiseHost *string `hcl:"advertise_host,optional" flag:"advertise-host" default:"the listen host"`
	// Directory for artifacts and TaskManager logs.
	DataDir *string `hcl:"data_dir,optional" flag:"data-dir" default:"$TMPDIR/sluice-jobmanager"`
	// Largest job binary the JobManager accepts (PUT /v1/artifacts); a
	// larger upload is refused with 413.
	MaxArtifactSize *Size `hcl:"max_artifact_size,optional" flag:"max-artifact-size"`
	// This JobManager's id among its standbys.
	ID *string `hcl:"id,optional" flag:"id" default:"HOST-PID"`
	// Where TaskManagers come from: local (child processes started from
	// each job's binary), standalone (started by hand) or nomad (Nomad
	// allocations of each job's binary).
	Provider *string `hcl:"provider,optional" flag:"provider"`
	// Slots of each TaskManager the local or nomad provider starts. A job
	// gets ceil(slots it needs / slots) TaskManagers.
	Slots *int `hcl:"slots,optional" flag:"slots" default:"the number of CPUs"`
	// Managed memory of each TaskManager the local or nomad provider
	// starts, shared by its slots for network buffers and keyed state.
	TaskManagerMemory *Size `hcl:"taskmanager_memory,optional" flag:"taskmanager-memory"`
	// Receive window of each data-plane stream into the TaskManagers the
	// local or nomad provider starts: how far a producer may run ahead of
	// a consumer on another TaskManager. A busy channel needs several of
	// its frames (up to 256 KiB each) in flight; each stream may hold
	// this much memory while its consumer lags. 256 KiB to 1 GiB.
	StreamWindow *Size `hcl:"stream_window,optional" flag:"stream-window"`
	// How long a job waits for enough free slots before it fails.
	SlotTimeout *Duration `hcl:"slot_timeout,optional" flag:"slot-timeout"`
	// How many ended jobs the JobManager keeps for jmctl, the REST API and
	// the dashboard; the oldest beyond it are forgotten.
	MaxEndedJobs *int `hcl:"max_ended_jobs,optional" flag:"max-ended-jobs"`
	// Longest a record waits in a partly filled output buffer while its
	// task is busy: lower means less latency, higher more throughput.
	BufferTimeout *Duration `hcl:"buffer_timeout,optional" flag:"buffer-timeout"`
	// Level of the log written to standard error: debug, info, warn or
	// error. The TaskManagers the local and nomad providers start log at
	// the same level.
	LogLevel *string `hcl:"log_level,optional" flag:"log-level" env:"SLUICE_LOG_LEVEL"`
	// Format of the log: text (key=value lines) or json (one object per
	// line). The TaskManagers the local and nomad providers start use it
	// too.
	LogFormat *string `hcl:"log_format,optional" flag:"log-format" env:"SLUICE_LOG_FORMAT"`
	// How TaskManagers are watched.
	Heartbeat *Heartbeat `hcl:"heartbeat,block"`
	// How a failed job, or one that lost a TaskManager, is restarted from
	// its latest checkpoint. It applies to every job of the cluster (a job
	// binary's SetRestartStrategy only applies on the embedded
	// mini-cluster).
	Restart *Restart `hcl:"restart,block"`
	// Where checkpoints and savepoints go. The label names the backend.
	StateBackend *StateBackend `hcl:"state_backend,block"`
	// High availability: several JobManagers given the same Consul agent
	// elect a leader, and the others stand by.
	Consul *Consul `hcl:"consul,block"`
	// The nomad provider: where and how Nomad runs each job's
	// TaskManagers.
	Nomad *Nomad `hcl:"nomad,block"`
	// Who may use the REST API and register TaskManagers. With no token
	// and no ACL file every request is allowed, and the JobManager only
	// listens on loopback.
	Auth *Auth `hcl:"auth,block"`
	// TLS on the REST API and the control endpoint, and mutual TLS
	// between the JobManager and its TaskManagers and among the
	// TaskManagers (docs/operations.md#tls).
	TLS *TLS `hcl:"tls,block"`
}

// TLS is the tls block.
type TLS struct {
	// This JobManager's certificate (chain), PEM. With key_file, the REST
	// API serves HTTPS and the control endpoint TLS. The TaskManagers the
	// local and nomad providers start present it too, to the JobManager
	// and to each other, so it needs both the server and the client
	// authentication usages and must name the hosts it is reached at.
	CertFile *string `hcl:"cert_file,optional" flag:"tls-cert" env:"SLUICE_TLS_CERT"`
	// The private key of cert_file, PEM.
	KeyFile *string `hcl:"key_file,optional" flag:"tls-key" env:"SLUICE_TLS_KEY"`
	// CA bundle, PEM: with it, the control endpoint requires TaskManagers
	// to present a certificate it signed (mutual TLS), and TaskManagers
	// verify the JobManager and each other against it. The REST API does
	// not ask clients for certificates; they use tokens.
	CAFile *string `hcl:"ca_file,optional" flag:"tls-ca" env:"SLUICE_TLS_CA"`
}

// Auth is the auth block.
type Auth struct {
	// The management token: every right, registering TaskManagers
	// included. Clients send it as "Authorization: Bearer TOKEN" (jmctl
	// --token). At least 16 characters; a secret: prefer the environment
	// variable.
	Token *string `hcl:"token,optional" flag:"token" env:"SLUICE_TOKEN"`
	// An HCL file of named tokens, each with rights read, submit, manage
	// or taskmanager (docs/operations.md shows one).
	ACLFile *string `hcl:"acl_file,optional" flag:"acl-file"`
	// Let requests without a token read: the GET endpoints, the
	// dashboard's pages and /metrics.
	AnonymousRead *bool `hcl:"anonymous_read,optional" flag:"anonymous-read"`
}

// Heartbeat is the heartbeat block.
type Heartbeat struct {
	// How often TaskManagers heartbeat.
	Interval *Duration `hcl:"interval,optional" flag:"heartbeat-interval"`
	// Silence after which a TaskManager counts as lost; its jobs restart.
	Timeout *Duration `hcl:"timeout,optional" flag:"heartbeat-timeout"`
}

// Restart is the restart block. Fields that do not apply to the strategy
// are ignored, but must still be in range.
type Restart struct {
	// The strategy: fixed-delay, exponential-delay, failure-rate or none.
	Strategy *string `hcl:"strategy,optional" flag:"restart-strategy"`
	// fixed-delay: restarts allowed in total.
	Attempts *int `hcl:"attempts,optional" flag:"restart-attempts"`
	// fixed-delay and failure-rate: the wait before each restart.
	Delay *Duration `hcl:"delay,optional" flag:"restart-delay"`
	// failure-rate: failures allowed per interval; the one exceeding it
	// fails the job.
	MaxFailures *int `hcl:"max_failures,optional" flag:"restart-max-failures"`
	// failure-rate: the length of the sliding window.
	Interval *Duration `hcl:"interval,optional" flag:"restart-interval"`
	// exponential-delay: the delay after the first failure, and after the
	// first failure following a reset.
	InitialDelay *Duration `hcl:"initial_delay,optional" flag:"restart-initial-delay"`
	// exponential-delay: the longest delay, jitter included.
	MaxDelay *Duration `hcl:"max_delay,optional" flag:"restart-max-delay"`
	// exponential-delay: what each failure multiplies the delay by; at
	// least 1.
	Multiplier *float64 `hcl:"multiplier,optional"`
	// exponential-delay: spreads each delay d uniformly over d ± jitter·d;
	// from 0 to 1.
	Jitter *float64 `hcl:"jitter,optional"`
	// exponential-delay: a job that ran this long since its last restart
	// starts from initial_delay again.
	ResetThreshold *Duration `hcl:"reset_threshold,optional"`
}

// StateBackend is the state_backend block.
type StateBackend struct {
	// The backend: memory (held by a process of the JobManager; it dies
	// with it), s3, the name of any sluice-backend-NAME binary next to the
	// JobManager's or on $PATH, or the path of a backend binary.
	Name string `hcl:"name,label" flag:"state-backend"`
	// Settings of the backend. s3 takes bucket, prefix, endpoint, region,
	// path_style, access_key_id, secret_access_key and session_token;
	// without the keys, credentials come from the AWS default chain
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...), which keeps secrets
	// out of the file.
	Settings map[string]string `hcl:"settings,optional" flag:"state-backend-setting"`
	// Serve the backend to the TaskManagers through the JobManager's
	// control endpoint, whichever it is (always so for memory), instead of
	// each TaskManager opening it.
	Share *bool `hcl:"share,optional" flag:"share-state-backend"`
}

// Consul is the consul block.
type Consul struct {
	// Address of the Consul agent, host:port, or https://host:port for an
	// agent that serves TLS (CONSUL_CACERT and the other CONSUL_* TLS
	// variables apply, as in Consul's CLI). JobManagers elect their
	// leader there, and the leader keeps jobs and checkpoint pointers in
	// its KV store for the next one. Needs a state backend that outlives a
	// JobManager (s3, or a third-party one). Unset: this JobManager leads
	// alone.
	Address *string `hcl:"address,optional" flag:"consul" env:"SLUICE_CONSUL"`
	// Consul ACL token. A secret: prefer the environment variable.
	Token *string `hcl:"token,optional" flag:"consul-token" env:"SLUICE_CONSUL_TOKEN"`
	// Name of the cluster, the key prefix sluice/NAME/ in Consul; also
	// recorded in each Nomad job's meta.
	Cluster *string `hcl:"cluster,optional" flag:"cluster" env:"SLUICE_CLUSTER"`
}

// Nomad is the nomad block.
type Nomad struct {
	// Nomad's HTTP API address; https://HOST:4646 for TLS, with
	// NOMAD_CACERT, NOMAD_CLIENT_CERT and NOMAD_CLIENT_KEY as in Nomad's
	// CLI.
	Address *string `hcl:"address,optional" flag:"nomad-addr" env:"NOMAD_ADDR"`
	// Nomad ACL token; it needs submit-job and read-job in the namespace.
	// A secret: prefer the environment variable.
	Token *string `hcl:"token,optional" flag:"nomad-token" env:"NOMAD_TOKEN"`
	// Nomad region of the TaskManager jobs.
	Region *string `hcl:"region,optional" flag:"nomad-region" env:"NOMAD_REGION" default:"Nomad's default"`
	// Nomad namespace of the TaskManager jobs.
	Namespace *string `hcl:"namespace,optional" flag:"nomad-namespace" env:"NOMAD_NAMESPACE" default:"Nomad's default"`
	// Datacenters TaskManagers may run in; the flag takes them
	// comma-separated.
	Datacenters []string `hcl:"datacenters,optional" flag:"nomad-datacenters"`
	// Node pool of the TaskManagers.
	NodePool *string `hcl:"node_pool,optional" flag:"nomad-node-pool" default:"Nomad's default"`
	// Task driver of the TaskManagers: raw_exec, exec or docker.
	Driver *string `hcl:"driver,optional" flag:"nomad-driver"`
	// Image TaskManagers run in with the docker driver (required there),
	// e.g. gcr.io/distroless/base-debian12.
	DockerImage *string `hcl:"docker_image,optional" flag:"nomad-docker-image"`
	// CPU (MHz) Nomad reserves for each slot of a TaskManager.
	CPUPerSlot *int `hcl:"cpu_per_slot,optional" flag:"nomad-cpu-per-slot"`
	// Memory (MB) Nomad reserves for a TaskManager on top of its managed
	// memory.
	MemoryOverhead *int `hcl:"memory_overhead,optional" flag:"nomad-memory-overhead"`
	// Base URL Nomad clients fetch job binaries from,
	// URL/v1/artifacts/SHA256. A stable name such as
	// http://sluice-jobmanager.service.consul:8081 survives a failover.
	ArtifactURL *string `hcl:"artifact_url,optional" flag:"nomad-artifact-url" default:"this JobManager's REST address"`
	// Constraints on the nodes TaskManagers are placed on. The flag,
	// repeatable, takes "ATTRIBUTE OPERATOR VALUE", e.g.
	// "attr.kernel.name = linux".
	Constraints []Constraint `hcl:"constraint,block" flag:"nomad-constraint"`
}

// Constraint is a constraint block in the nomad block, as in a Nomad
// jobspec.
type Constraint struct {
	// The node attribute, written bare: attr.kernel.name, meta.rack,
	// node.class (the ${...} of a jobspec is added).
	Attribute string `hcl:"attribute,optional"`
	// The operator: =, !=, >, >=, <, <=, regexp, version, semver,
	// set_contains, is_set, is_not_set or distinct_hosts.
	Operator string `hcl:"operator,optional" default:"\"=\""`
	// The value the attribute is compared with.
	Value string `hcl:"value,optional"`
}
