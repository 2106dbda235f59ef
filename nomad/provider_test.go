package nomad

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/internal/poll"
	"github.com/sluicehq/sluice/jobmanager/provider"
	"github.com/sluicehq/sluice/nomad/nomadtest"
)

func TestParseConstraint(t *testing.T) {
	tests := []struct {
		in   string
		want Constraint
		err  bool
	}{
		{"${attr.kernel.name} = linux", Constraint{"${attr.kernel.name}", "=", "linux"}, false},
		{"${meta.rack}  regexp  ^r[0-9] b", Constraint{"${meta.rack}", "regexp", "^r[0-9] b"}, false},
		{"${meta.ssd} is_set", Constraint{"${meta.ssd}", "is_set", ""}, false},
		{"attr.kernel.name = linux", Constraint{"${attr.kernel.name}", "=", "linux"}, false},
		{"meta.ssd is_not_set", Constraint{"${meta.ssd}", "is_not_set", ""}, false},
		{"distinct_hosts", Constraint{"", "distinct_hosts", "true"}, false},
		{"${attr.kernel.name} =", Constraint{}, true},
		{"", Constraint{}, true},
	}
	for _, tt := range tests {
		got, err := ParseConstraint(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseConstraint(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	base := ProviderConfig{ArtifactBaseURL: "http://jm:8081"}
	tests := []struct {
		mod  func(*ProviderConfig)
		want string
	}{
		{func(c *ProviderConfig) { c.Driver = "podman" }, `driver "podman" (--nomad-driver): use raw_exec, exec or docker`},
		{func(c *ProviderConfig) { c.Driver = DriverDocker }, "--nomad-docker-image"},
		{func(c *ProviderConfig) { c.ArtifactBaseURL = "" }, "no artifact base URL"},
		{func(c *ProviderConfig) { c.Address = "http://" }, "not a URL"},
		{func(c *ProviderConfig) { c.CPUPerSlot = -1 }, "must not be negative"},
	}
	for _, tt := range tests {
		c := base
		tt.mod(&c)
		if _, err := NewProvider(c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewProvider(%+v) = %v, want an error containing %q", c, err, tt.want)
		}
	}
}

// TestJobSpec checks the Nomad job built for a request: what Nomad needs
// to fetch, check and run the artifact, and the restart split.
func TestJobSpec(t *testing.T) {
	p, err := NewProvider(ProviderConfig{Address: "127.0.0.1:4646", ArtifactBaseURL: "http://jm:8081/", Datacenters: []string{"eu1", "eu2"},
		Namespace: "stream", NodePool: "fast", Driver: DriverDocker, DockerImage: "debian:12-slim", CPUPerSlot: 250,
		Constraints: []Constraint{{"${attr.kernel.name}", "=", "linux"}}, Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	j := p.job(provider.Request{JobID: "0123456789abcdef", Artifact: "ab12", Args: []string{"--input", "x"},
		Env: []string{"SLUICE_MODE=taskmanager", "SLUICE_SLOTS=4"}, TaskManagers: 3, SlotsPerTaskManager: 4, MemoryPerTaskManager: 1<<30 + 1})
	g := j.TaskGroups[0]
	task := g.Tasks[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"id", *j.ID, "sluice-0123456789abcdef"},
		{"namespace", *j.Namespace, "stream"},
		{"datacenters", strings.Join(j.Datacenters, ","), "eu1,eu2"},
		{"node pool", *j.NodePool, "fast"},
		{"meta", j.Meta[MetaJob] + " " + j.Meta[MetaCluster] + " " + j.Meta[MetaArtifact], "0123456789abcdef prod ab12"},
		{"constraint", j.Constraints[0].LTarget + j.Constraints[0].Operand + j.Constraints[0].RTarget, "${attr.kernel.name}=linux"},
		{"count", *g.Count, 3},
		{"port", g.Networks[0].DynamicPorts[0].Label, PortLabel},
		{"restart attempts", *g.RestartPolicy.Attempts, 0},
		{"restart mode", *g.RestartPolicy.Mode, "fail"},
		{"reschedule unlimited", *g.ReschedulePolicy.Unlimited, true},
		{"driver", task.Driver, DriverDocker},
		{"image", task.Config["image"], "debian:12-slim"},
		{"network mode", task.Config["network_mode"], "host"},
		{"command", task.Config["command"], "${NOMAD_TASK_DIR}/taskmanager"},
		{"args", strings.Join(task.Config["args"].([]string), " "), "--input x"},
		{"artifact", *task.Artifacts[0].GetterSource, "http://jm:8081/v1/artifacts/ab12"},
		{"checksum", task.Artifacts[0].GetterOptions["checksum"], "sha256:ab12"},
		{"destination", *task.Artifacts[0].RelativeDest, "local/taskmanager"},
		{"env slots", task.Env["SLUICE_SLOTS"], "4"},
		{"env id", task.Env[provider.EnvTaskManagerID], "01234567-tm-${NOMAD_SHORT_ALLOC_ID}"},
		{"env data", task.Env["SLUICE_DATA_ADDR"], "${NOMAD_ADDR_data}"},
		{"env metrics", task.Env["SLUICE_METRICS_ADDR"], "${NOMAD_ADDR_metrics}"},
		{"metrics port", g.Networks[0].DynamicPorts[1].Label, MetricsPortLabel},
		{"cpu", *task.Resources.CPU, 1000},
		{"memory", *task.Resources.MemoryMB, 1025 + DefaultMemoryOverhead},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if got := TaskManagerID("0123456789abcdef", "fedcba98-7654"); got != "01234567-tm-fedcba98" {
		t.Errorf("TaskManagerID = %q", got)
	}
}

func TestAllocEnded(t *testing.T) {
	failed := &api.AllocationListStub{ClientStatus: "failed", DesiredStatus: "run", TaskStates: map[string]*api.TaskState{TaskName: {State: "dead", Events: []*api.TaskEvent{
		{Type: api.TaskReceived}, {Type: api.TaskArtifactDownloadFailed, DisplayMessage: "no such host"}, {Type: api.TaskNotRestarting, DisplayMessage: "Policy allows no restarts"},
	}}}}
	tests := []struct {
		a     *api.AllocationListStub
		ended bool
		want  string
	}{
		{&api.AllocationListStub{ClientStatus: "running", DesiredStatus: "run"}, false, ""},
		{&api.AllocationListStub{ClientStatus: "pending", DesiredStatus: "run"}, false, ""},
		{failed, true, "failed: Failed Artifact Download: no such host"},
		{&api.AllocationListStub{ClientStatus: "lost", DesiredStatus: "stop"}, true, "was lost: its node is down"},
		{&api.AllocationListStub{ClientStatus: "running", DesiredStatus: "stop", DesiredDescription: "alloc is being migrated"}, true, "is being stopped: alloc is being migrated"},
	}
	for _, tt := range tests {
		why, ended := allocEnded(tt.a)
		if ended != tt.ended || why != tt.want {
			t.Errorf("allocEnded(%s/%s) = %q, %v; want %q, %v", tt.a.ClientStatus, tt.a.DesiredStatus, why, ended, tt.want, tt.ended)
		}
	}
}

// artifactServer serves a copy of the sleep binary at
// /v1/artifacts/<sha256>, as the JobManager serves job binaries, and
// returns its base URL and the digest.
func artifactServer(t *testing.T) (string, string) {
	t.Helper()
	data, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skipf("no /bin/sleep to serve as an artifact: %v", err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/artifacts/"+digest {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, digest
}

func newTestProvider(t *testing.T, agent *nomadtest.Agent, base string) *Provider {
	t.Helper()
	cfg := agent.Config(agent.ManagementToken)
	p, err := NewProvider(ProviderConfig{Address: cfg.Address, Token: agent.ManagementToken, HTTPClient: cfg.HttpClient,
		ArtifactBaseURL: base, Datacenters: []string{nomadtest.Datacenter}, CPUPerSlot: 20, MemoryOverheadMB: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestProviderWithNomad runs TaskManager allocations (of a sleep binary)
// on a real Nomad agent: an allocation stopped through Nomad is reported
// lost under its TaskManager id and replaced, resources Nomad lacks are
// pending rather than failed, and Release stops the Nomad job.
func TestProviderWithNomad(t *testing.T) {
	agent := nomadtest.Start(t)
	nc := agent.Client()
	base, digest := artifactServer(t)
	p := newTestProvider(t, agent, base)
	ctx := context.Background()
	req := provider.Request{JobID: "job-one", Artifact: digest, Args: []string{"600"}, TaskManagers: 2, SlotsPerTaskManager: 1, MemoryPerTaskManager: 16 << 20}
	if ids, err := p.Ensure(ctx, req); err != nil || ids != nil {
		t.Fatalf("Ensure = %v, %v", ids, err)
	}
	running := func() []*api.AllocationListStub {
		allocs, _, err := nc.Jobs().Allocations(p.NomadJobID("job-one"), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		var r []*api.AllocationListStub
		for _, a := range allocs {
			if a.ClientStatus == "running" && a.DesiredStatus == "run" {
				r = append(r, a)
			}
		}
		return r
	}
	var allocs []*api.AllocationListStub
	waitFor(t, time.Minute, "2 running allocations", func() bool { allocs = running(); return len(allocs) == 2 })

	// Ensuring again with the same request changes nothing.
	if _, err := p.Ensure(ctx, req); err != nil {
		t.Fatal(err)
	}
	victim := allocs[0]
	agent.CLI(t, "alloc", "stop", "-detach", victim.ID)
	select {
	case l := <-p.Lost():
		if l.JobID != "job-one" || l.TaskManager != TaskManagerID("job-one", victim.ID) || !strings.Contains(l.Err.Error(), "stopped") {
			t.Errorf("Lost = %+v (%v)", l, l.Err)
		}
	case <-time.After(time.Minute):
		t.Fatal("no Lost event for the stopped allocation")
	}
	waitFor(t, time.Minute, "a replacement allocation", func() bool {
		for _, a := range running() {
			if a.ID != victim.ID && a.ID != allocs[1].ID {
				return true
			}
		}
		return false
	})

	// More memory than the node has: pending, not an error.
	big := provider.Request{JobID: "job-big", Artifact: digest, Args: []string{"600"}, TaskManagers: 1, SlotsPerTaskManager: 1, MemoryPerTaskManager: 1 << 50}
	if _, err := p.Ensure(ctx, big); err != nil {
		t.Fatalf("Ensure of a job larger than the node = %v, want it pending", err)
	}
	if err := p.Pending("job-big"); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("Pending = %v, want it to name memory", err)
	}
	if err := p.Release("job-big"); err != nil {
		t.Fatal(err)
	}

	if err := p.Release("job-one"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the allocations to stop", func() bool {
		j, _, err := nc.Jobs().Info(p.NomadJobID("job-one"), nil)
		return err == nil && *j.Stop && len(running()) == 0
	})
	select {
	case l, ok := <-p.Lost():
		if ok {
			t.Errorf("Lost after Release: %+v", l)
		}
	default:
	}
}

// TestProviderErrors: errors that name what to do, with sentinels.
func TestProviderErrors(t *testing.T) {
	agent := nomadtest.Start(t, nomadtest.WithACL())
	base, digest := artifactServer(t)
	req := provider.Request{JobID: "j", Artifact: digest, TaskManagers: 1, SlotsPerTaskManager: 1}

	p := newTestProvider(t, agent, base)
	p.client.SetSecretID("")
	if _, err := p.Ensure(context.Background(), req); !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "submit-job") {
		t.Errorf("Ensure without a token = %v, want ErrPermission naming submit-job", err)
	}

	p = newTestProvider(t, agent, base)
	p.cfg.Datacenters = []string{"mars"}
	if _, err := p.Ensure(context.Background(), req); !errors.Is(err, ErrUnplaceable) || !strings.Contains(err.Error(), "mars") {
		t.Errorf("Ensure in a datacenter with no node = %v, want ErrUnplaceable naming it", err)
	}
	j, _, err := agent.Client().Jobs().Info(p.NomadJobID("j"), nil)
	if err != nil || !*j.Stop {
		t.Errorf("the unplaceable job is still registered (%v)", err)
	}

	agent.Kill(t)
	if _, err := p.Ensure(context.Background(), req); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "--nomad-addr") {
		t.Errorf("Ensure with Nomad down = %v, want ErrUnreachable naming --nomad-addr", err)
	}
	if _, err := p.Ensure(context.Background(), provider.Request{JobID: "j"}); err == nil || !strings.Contains(err.Error(), "no artifact") {
		t.Errorf("Ensure without an artifact = %v", err)
	}
}

// waitFor waits for cond (see poll.Until).
var waitFor = poll.Until
