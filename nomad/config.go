package nomad

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Drivers a TaskManager can run with.
const (
	DriverRawExec = "raw_exec" // the default: the binary runs as a plain process
	DriverExec    = "exec"     // isolated in a chroot and cgroups
	DriverDocker  = "docker"   // in a container of ProviderConfig.DockerImage, host network
)

// Defaults of ProviderConfig.
const (
	DefaultAddress        = "http://127.0.0.1:4646"
	DefaultCPUPerSlot     = 500 // MHz
	DefaultMemoryOverhead = 128 // MB on top of the managed memory
	DefaultJobPrefix      = "sluice-"
	DefaultCallTimeout    = 30 * time.Second
	DefaultKillTimeout    = 10 * time.Second
)

// ProviderConfig configures the Nomad provider.
type ProviderConfig struct {
	// Address is Nomad's HTTP API (default $NOMAD_ADDR, else
	// http://127.0.0.1:4646).
	Address string
	// Token is the Nomad ACL token; it needs submit-job, read-job and
	// (to stop jobs) the same in Namespace. Default $NOMAD_TOKEN.
	Token string
	// Region and Namespace of the TaskManager jobs ("" for Nomad's
	// defaults).
	Region, Namespace string
	// Datacenters the TaskManagers may run in (default ["*"], all).
	Datacenters []string
	// NodePool restricts the TaskManagers to a node pool ("" for Nomad's
	// default pool).
	NodePool string
	// Driver is raw_exec (default), exec or docker.
	Driver string
	// DockerImage is the image the artifact runs in with the docker
	// driver (required there), e.g. gcr.io/distroless/base-debian12.
	DockerImage string
	// Constraints restrict the nodes TaskManagers are placed on.
	Constraints []Constraint
	// ArtifactBaseURL is where Nomad clients fetch job binaries:
	// <ArtifactBaseURL>/v1/artifacts/<sha256>. Required; the JobManager
	// sets it to its REST address unless told otherwise.
	ArtifactBaseURL string
	// CPUPerSlot is the CPU (MHz) asked for each slot (default 500).
	CPUPerSlot int
	// MemoryOverheadMB is added to a TaskManager's managed memory for
	// its memory reservation (default 128).
	MemoryOverheadMB int
	// JobPrefix starts the id of every Nomad job (default "sluice-"),
	// followed by the Sluice job id.
	JobPrefix string
	// Cluster is recorded in each Nomad job's meta (sluice_cluster).
	Cluster string
	// CallTimeout bounds each call to Nomad and the wait for the
	// scheduler to place a job (default 30s).
	CallTimeout time.Duration
	// KillTimeout is how long a TaskManager has to exit after its
	// signal before Nomad kills it (default 10s).
	KillTimeout time.Duration
	// HTTPClient, if set, is used for the Nomad API (tests pass one that
	// keeps no idle connections).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Constraint restricts where TaskManagers run, as a Nomad constraint
// block does.
type Constraint struct {
	Attribute, Operator, Value string
}

// ParseConstraint parses "ATTRIBUTE OPERATOR VALUE", such as
// "${attr.kernel.name} = linux", "attr.kernel.name = linux" (the same) or
// "${meta.tier} regexp ^stream"; the
// value may contain spaces, and operators that take none
// (is_set, is_not_set, distinct_hosts) may have none.
func ParseConstraint(s string) (Constraint, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1 && f[0] == "distinct_hosts":
		return Constraint{Operator: f[0], Value: "true"}, nil
	case len(f) == 2 && (f[1] == "is_set" || f[1] == "is_not_set"):
		return Constraint{Attribute: interpolation(f[0]), Operator: f[1]}, nil
	case len(f) < 3:
		return Constraint{}, fmt.Errorf("constraint %q: want \"ATTRIBUTE OPERATOR VALUE\", e.g. \"${attr.kernel.name} = linux\"", s)
	}
	rest := strings.TrimSpace(s)
	rest = strings.TrimSpace(rest[len(f[0]):])
	rest = strings.TrimSpace(rest[len(f[1]):])
	return Constraint{Attribute: interpolation(f[0]), Operator: f[1], Value: rest}, nil
}

// interpolation writes a bare attribute ("attr.kernel.name",
// "meta.rack", "node.class") as the interpolation Nomad expects. Bare
// names are how a constraint reaches a JobManager run by Nomad: Nomad
// would resolve "${attr...}" in the JobManager's own arguments.
func interpolation(attr string) string {
	if strings.HasPrefix(attr, "${") {
		return attr
	}
	for _, p := range []string{"attr.", "meta.", "node.", "unique."} {
		if strings.HasPrefix(attr, p) {
			return "${" + attr + "}"
		}
	}
	return attr
}

// String formats c as ParseConstraint reads it.
func (c Constraint) String() string {
	return strings.TrimSpace(strings.Join([]string{c.Attribute, c.Operator, c.Value}, " "))
}

// withDefaults fills in defaults and validates.
func (c ProviderConfig) withDefaults() (ProviderConfig, error) {
	if c.Address == "" {
		c.Address = os.Getenv("NOMAD_ADDR")
	}
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if !strings.Contains(c.Address, "://") {
		c.Address = "http://" + c.Address
	}
	if u, err := url.Parse(c.Address); err != nil || u.Host == "" {
		return c, fmt.Errorf("nomad: address %q is not a URL; want http://HOST:4646 (--nomad-addr)", c.Address)
	}
	if c.Token == "" {
		c.Token = os.Getenv("NOMAD_TOKEN")
	}
	if len(c.Datacenters) == 0 {
		c.Datacenters = []string{"*"}
	}
	switch c.Driver {
	case "":
		c.Driver = DriverRawExec
	case DriverRawExec, DriverExec:
	case DriverDocker:
		if c.DockerImage == "" {
			return c, errors.New("nomad: the docker driver needs an image to run TaskManagers in; set one with --nomad-docker-image (e.g. gcr.io/distroless/base-debian12)")
		}
	default:
		return c, fmt.Errorf("nomad: driver %q (--nomad-driver): use %s, %s or %s", c.Driver, DriverRawExec, DriverExec, DriverDocker)
	}
	if c.ArtifactBaseURL == "" {
		return c, errors.New("nomad: no artifact base URL; Nomad clients fetch job binaries from the JobManager's REST address")
	}
	c.ArtifactBaseURL = strings.TrimRight(c.ArtifactBaseURL, "/")
	if c.CPUPerSlot < 0 || c.MemoryOverheadMB < 0 || c.CallTimeout < 0 || c.KillTimeout < 0 {
		return c, errors.New("nomad: CPUPerSlot, MemoryOverheadMB, CallTimeout and KillTimeout must not be negative")
	}
	if c.CPUPerSlot == 0 {
		c.CPUPerSlot = DefaultCPUPerSlot
	}
	if c.MemoryOverheadMB == 0 {
		c.MemoryOverheadMB = DefaultMemoryOverhead
	}
	if c.JobPrefix == "" {
		c.JobPrefix = DefaultJobPrefix
	}
	if c.Cluster == "" {
		c.Cluster = "default"
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.KillTimeout == 0 {
		c.KillTimeout = DefaultKillTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
