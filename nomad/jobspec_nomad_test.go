package nomad

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/internal/toolbin"
	sluiceapi "github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/ha"
	"github.com/sluicehq/sluice/jobmanager/ha/consultest"
	"github.com/sluicehq/sluice/nomad/nomadtest"
)

// These tests hand the generated jobspecs to a real Nomad agent
// (nomadtest, skipped when the nomad binary is absent).

// TestJobspecNomadValidates: every variant passes `nomad job validate`,
// and Nomad's own HCL parser (`nomad job run -output`) reads every string
// exactly as meant: its runtime interpolations kept, user values verbatim.
func TestJobspecNomadValidates(t *testing.T) {
	agent := nomadtest.Start(t)
	agent.CLI(t, "namespace", "apply", "streaming") // the artifact variant's
	dir := t.TempDir()
	for name, cfg := range jsVariants() {
		for i, spec := range jsRenderVariant(t, cfg) {
			file := filepath.Join(dir, fmt.Sprintf("%s-%d.nomad.hcl", name, i))
			if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := agent.RunCLI("job", "validate", file); err != nil {
				t.Errorf("%s: nomad job validate: %v\n%s", name, err, spec)
				continue
			} else if !strings.Contains(out, "Job validation successful") {
				t.Errorf("%s: nomad job validate printed %q", name, out)
			}
			job := jsNomadJSON(t, agent, file)
			task := job.TaskGroups[0].Tasks[0]
			args := jsConfigStrings(t, task.Config["args"])
			if i == 0 {
				jsCheckJobManagerTask(t, name, cfg, job, args, task)
			} else {
				jsCheckPoolTask(t, name, cfg, job, args, task)
			}
		}
	}
}

// jsNomadJSON converts a jobspec with Nomad's parser.
func jsNomadJSON(t *testing.T, agent *nomadtest.Agent, file string) *api.Job {
	t.Helper()
	out := agent.CLI(t, "job", "run", "-output", file)
	var wrapper struct{ Job *api.Job }
	if err := json.Unmarshal([]byte(out), &wrapper); err != nil || wrapper.Job == nil {
		t.Fatalf("nomad job run -output %s: %v\n%s", file, err, out)
	}
	return wrapper.Job
}

func jsConfigStrings(t *testing.T, v any) []string {
	t.Helper()
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("args are %T, not a list", v)
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i], _ = a.(string)
	}
	return out
}

func jsCheckJobManagerTask(t *testing.T, name string, cfg JobspecConfig, job *api.Job, args []string, task *api.Task) {
	t.Helper()
	c := cfg.resolved()
	if *job.ID != c.Job || *job.TaskGroups[0].Count != c.JobManagers {
		t.Errorf("%s: job %s count %d, want %s count %d", name, *job.ID, *job.TaskGroups[0].Count, c.Job, c.JobManagers)
	}
	for _, pair := range [][2]string{{"--http-addr", "${NOMAD_ADDR_http}"}, {"--rpc-addr", "${NOMAD_ADDR_rpc}"},
		{"--data-dir", "${NOMAD_TASK_DIR}/data"}, {"--id", "${NOMAD_ALLOC_ID}"}} {
		if i := slices.Index(args, pair[0]); i < 0 || i+1 >= len(args) || args[i+1] != pair[1] {
			t.Errorf("%s: Nomad reads args %q: no %s %s", name, args, pair[0], pair[1])
		}
	}
	for k, v := range c.StateBackendSettings {
		if !slices.Contains(args, k+"="+v) {
			t.Errorf("%s: Nomad reads args %q: no setting %q", name, args, k+"="+v)
		}
	}
	if c.Provider == JobspecProviderNomad && !slices.Contains(args, c.NomadAddr) {
		t.Errorf("%s: Nomad reads args %q: no --nomad-addr %q", name, args, c.NomadAddr)
	}
	if c.ConsulToken != "" && task.Env["SLUICE_CONSUL_TOKEN"] != c.ConsulToken {
		t.Errorf("%s: Nomad reads SLUICE_CONSUL_TOKEN %q, want %q", name, task.Env["SLUICE_CONSUL_TOKEN"], c.ConsulToken)
	}
	if c.JobManager.Artifact != "" {
		a := task.Artifacts[0]
		if *a.GetterSource != c.JobManager.Artifact || a.GetterOptions["checksum"] != c.JobManager.Checksum || *a.RelativeDest != "local/jobmanager" {
			t.Errorf("%s: artifact %s %v %s", name, *a.GetterSource, a.GetterOptions, *a.RelativeDest)
		}
	}
	for i, con := range c.Constraints {
		got := job.Constraints[i]
		if got.LTarget != con.Attribute || got.Operand != con.Operator || got.RTarget != con.Value {
			t.Errorf("%s: constraint %+v, want %+v", name, got, con)
		}
	}
}

func jsCheckPoolTask(t *testing.T, name string, cfg JobspecConfig, job *api.Job, args []string, task *api.Task) {
	t.Helper()
	c := cfg.resolved()
	if *job.ID != c.PoolJob || *job.TaskGroups[0].Count != c.TaskManagers {
		t.Errorf("%s pool: job %s count %d", name, *job.ID, *job.TaskGroups[0].Count)
	}
	if len(args) < len(c.TaskManagerArgs) || !slices.Equal(args[len(args)-len(c.TaskManagerArgs):], c.TaskManagerArgs) {
		t.Errorf("%s pool: Nomad reads args %q, which do not end with %q", name, args, c.TaskManagerArgs)
	}
	want := map[string]string{
		"SLUICE_MODE": "taskmanager", "SLUICE_DATA_ADDR": "${NOMAD_ADDR_data}",
		"SLUICE_SLOTS": fmt.Sprint(c.Slots), "SLUICE_MANAGED_MEMORY": fmt.Sprint(c.TaskManagerMemory),
		"SLUICE_TASKMANAGER_ID": "${NOMAD_JOB_NAME}-${NOMAD_ALLOC_INDEX}-${NOMAD_SHORT_ALLOC_ID}",
	}
	if c.HA {
		want["SLUICE_CONSUL"], want["SLUICE_CLUSTER"] = c.Consul, c.Cluster
	}
	for k, v := range want {
		if task.Env[k] != v {
			t.Errorf("%s pool: env %s = %q, want %q", name, k, task.Env[k], v)
		}
	}
}

// TestJobspecNomadRunsHAJobManagers runs the JobManagers' jobspec for real:
// two JobManagers under raw_exec elect a leader through Consul, with their
// S3 credentials from a Nomad Variable through the secrets template; the
// leader's REST API answers and a standby redirects to it. Stopping the
// job leaves no process behind.
func TestJobspecNomadRunsHAJobManagers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Consul, Nomad and S3 and builds the JobManager")
	}
	consul := consultest.Start(t)
	agent := nomadtest.Start(t, nomadtest.WithConsul(consul.Addr))
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "sluice")
	bins := jsBuildBinaries(t, "./cmd/jobmanager", "./backends/s3")
	jobmanager, backend := bins["jobmanager"], bins["s3"]

	const job, cluster = "sluice-jm-ha", "nomadtest"
	variable := "nomad/jobs/" + job
	if _, _, err := agent.Client().Variables().Create(&api.Variable{Path: variable, Items: api.VariableItems{
		"AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey,
	}}, nil); err != nil {
		t.Fatalf("creating the Nomad Variable %s: %v", variable, err)
	}

	cfg := DefaultJobspecConfig()
	cfg.Job, cfg.Cluster, cfg.Consul = job, cluster, consul.Addr
	cfg.JobManager.Path = jobmanager
	cfg.StateBackend = backend
	cfg.StateBackendSettings = map[string]string{"bucket": "sluice", "prefix": "nomad", "endpoint": s3.Endpoint,
		"path_style": "true", "region": s3.Region}
	cfg.SecretsVariable = variable
	cfg.CPU, cfg.MemoryMB = 100, 256
	cfg.Provider = JobspecProviderStandalone
	if jsJobManagerHasNomadProvider(t, jobmanager) {
		cfg.Provider, cfg.NomadAddr = JobspecProviderNomad, agent.HTTPAddr
	}
	allocs := jsRunJob(t, agent, cfg.Job, jsMustJobspec(t, JobManagerJobspec, cfg), 2)

	disc, err := ha.NewConsulDiscovery(ha.ConsulConfig{Address: consul.Addr, Cluster: cluster,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { disc.Close() })
	var leader ha.Leader
	jsWaitUntil(t, 90*time.Second, "a leading JobManager in Consul", func() (bool, string) {
		l, err := disc.Leader(context.Background())
		if err != nil {
			return false, err.Error()
		}
		leader = l
		return true, ""
	}, func() { jsDumpAllocs(t, agent, job) })
	// A JobManager opens its state backend before it campaigns, and the S3
	// backend checks its credentials and the bucket then: a leader proves
	// the credentials came through the Nomad Variable's template.
	if !slices.Contains(allocs, leader.ID) {
		t.Errorf("the leader's id %q is not one of the allocations %q (--id ${NOMAD_ALLOC_ID})", leader.ID, allocs)
	}
	t.Logf("leader %s at %s (epoch %d)", leader.ID, leader.REST, leader.Epoch)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, body := jsGet(t, client, "http://"+leader.REST+"/v1/overview"); code != http.StatusOK {
		t.Fatalf("GET /v1/overview on the leader: %d %s", code, body)
	}

	// The standby registered itself in Consul too; its REST API sends
	// clients to the leader.
	jsWaitUntil(t, 60*time.Second, "the standby to redirect to the leader", func() (bool, string) {
		entries, _, err := consul.Client().Catalog().Service(ha.DefaultServiceName, "", nil)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range entries {
			id, rest := e.ServiceMeta["jobmanager_id"], e.ServiceMeta["rest"]
			if id == "" || id == leader.ID {
				continue
			}
			resp, err := client.Get("http://" + rest + "/v1/overview")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			return resp.StatusCode == http.StatusTemporaryRedirect && strings.Contains(loc, leader.REST),
				fmt.Sprintf("standby %s answered %d, Location %q", id, resp.StatusCode, loc)
		}
		return false, fmt.Sprintf("no standby among %d %s services", len(entries), ha.DefaultServiceName)
	}, func() { jsDumpAllocs(t, agent, job) })

	jsStopJob(t, agent, job, allocs, filepath.Dir(jobmanager))
}

// TestJobspecNomadRunsPoolWithHA runs JobManagers with --provider
// standalone and the static TaskManager pool: the pool's TaskManagers
// find the leader through Consul (SLUICE_CONSUL, SLUICE_CLUSTER) and
// register with it under their Nomad-derived ids.
func TestJobspecNomadRunsPoolWithHA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Consul, Nomad and S3 and builds the JobManager")
	}
	consul := consultest.Start(t)
	agent := nomadtest.Start(t, nomadtest.WithConsul(consul.Addr))
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "sluice")
	bins := jsBuildBinaries(t, "./cmd/jobmanager", "./backends/s3", "./cmd/taskmanager")

	cfg := DefaultJobspecConfig()
	cfg.Job, cfg.PoolJob, cfg.Cluster, cfg.Consul = "sluice-jm-pool", "sluice-tm-pool", "pool", consul.Addr
	cfg.JobManager.Path, cfg.StateBackend = bins["jobmanager"], bins["s3"]
	cfg.StateBackendSettings = map[string]string{"bucket": "sluice", "prefix": "pool", "endpoint": s3.Endpoint,
		"path_style": "true", "region": s3.Region, "access_key_id": s3.AccessKey, "secret_access_key": s3.SecretKey}
	cfg.JobManagers = 1
	cfg.CPU, cfg.MemoryMB = 100, 256
	cfg.Provider = JobspecProviderStandalone
	cfg.TaskManagers, cfg.Slots, cfg.TaskManagerMemory = 2, 2, 64<<20
	cfg.TaskManager.Path = bins["taskmanager"]
	cfg.TaskManagerArgs = []string{"wordcount"}
	cfg.TaskManagerCPU = 100
	jmAllocs := jsRunJob(t, agent, cfg.Job, jsMustJobspec(t, JobManagerJobspec, cfg), 1)
	tmAllocs := jsRunJob(t, agent, cfg.PoolJob, jsMustJobspec(t, TaskManagerPoolJobspec, cfg), 2)

	disc, err := ha.NewConsulDiscovery(ha.ConsulConfig{Address: consul.Addr, Cluster: cfg.Cluster,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { disc.Close() })
	var leader ha.Leader
	jsWaitUntil(t, 90*time.Second, "a leading JobManager in Consul", func() (bool, string) {
		l, err := disc.Leader(context.Background())
		leader = l
		return err == nil, fmt.Sprint(err)
	}, func() { jsDumpAllocs(t, agent, cfg.Job) })
	jsWaitTaskManagers(t, agent, leader.REST, cfg.PoolJob, 2, cfg.Slots)

	jsStopJob(t, agent, cfg.PoolJob, tmAllocs, filepath.Dir(bins["taskmanager"])+"/taskmanager")
	jsStopJob(t, agent, cfg.Job, jmAllocs, filepath.Dir(bins["jobmanager"]))
}

// TestJobspecNomadRunsPoolWithoutHA runs one JobManager with --no-ha and
// Nomad's own service discovery, and the pool, whose template finds the
// JobManager's control address in the service sluice-jobmanager-rpc.
func TestJobspecNomadRunsPoolWithoutHA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Nomad and builds the JobManager")
	}
	agent := nomadtest.Start(t)
	bins := jsBuildBinaries(t, "./cmd/jobmanager", "./cmd/taskmanager")

	cfg := DefaultJobspecConfig()
	cfg.Job, cfg.PoolJob, cfg.HA = "sluice-jm-solo", "sluice-tm-solo", false
	cfg.ServiceProvider = ServiceProviderNomad
	cfg.JobManager.Path = bins["jobmanager"]
	cfg.CPU, cfg.MemoryMB = 100, 256
	cfg.Provider = JobspecProviderStandalone
	cfg.TaskManagers, cfg.Slots, cfg.TaskManagerMemory = 1, 3, 64<<20
	cfg.TaskManager.Path = bins["taskmanager"]
	cfg.TaskManagerArgs = []string{"wordcount"}
	cfg.TaskManagerCPU = 100
	jmAllocs := jsRunJob(t, agent, cfg.Job, jsMustJobspec(t, JobManagerJobspec, cfg), 1)
	tmAllocs := jsRunJob(t, agent, cfg.PoolJob, jsMustJobspec(t, TaskManagerPoolJobspec, cfg), 1)

	var rest string
	jsWaitUntil(t, 90*time.Second, "the JobManager's REST API", func() (bool, string) {
		var err error
		rest, err = jsAllocPort(agent, jmAllocs[0], "http")
		return err == nil, fmt.Sprint(err)
	}, func() { jsDumpAllocs(t, agent, cfg.Job) })
	jsWaitTaskManagers(t, agent, rest, cfg.PoolJob, 1, cfg.Slots)

	jsStopJob(t, agent, cfg.PoolJob, tmAllocs, filepath.Dir(bins["taskmanager"])+"/taskmanager")
	jsStopJob(t, agent, cfg.Job, jmAllocs, filepath.Dir(bins["jobmanager"]))
}

// jsWaitTaskManagers waits until the JobManager at rest lists n
// TaskManagers of the pool job, with their slots.
func jsWaitTaskManagers(t *testing.T, agent *nomadtest.Agent, rest, poolJob string, n, slots int) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	jsWaitUntil(t, 90*time.Second, fmt.Sprintf("%d TaskManagers of %s registered", n, poolJob), func() (bool, string) {
		resp, err := client.Get("http://" + rest + "/v1/taskmanagers")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var list sluiceapi.TaskManagerList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			return false, fmt.Sprintf("%s: %v", resp.Status, err)
		}
		var ids []string
		for _, tm := range list.TaskManagers {
			if strings.HasPrefix(tm.ID, poolJob+"-") && len(tm.Slots) == slots {
				ids = append(ids, tm.ID)
			}
		}
		return len(ids) == n, fmt.Sprintf("TaskManagers %v of %d", ids, len(list.TaskManagers))
	}, func() { jsDumpAllocs(t, agent, poolJob) })
}

// jsAllocPort returns host:port of an allocation's port once it runs.
func jsAllocPort(agent *nomadtest.Agent, alloc, label string) (string, error) {
	a, _, err := agent.Client().Allocations().Info(alloc, nil)
	if err != nil {
		return "", err
	}
	if a.ClientStatus != api.AllocClientStatusRunning {
		return "", fmt.Errorf("allocation %s", a.ClientStatus)
	}
	for _, p := range a.AllocatedResources.Shared.Ports {
		if p.Label == label {
			return net.JoinHostPort(p.HostIP, fmt.Sprint(p.Value)), nil
		}
	}
	return "", fmt.Errorf("allocation %s has no port %s", alloc, label)
}

// TestJobspecNomadRunsArtifact runs a --no-ha JobManager that Nomad
// downloads from an artifact URL and checks against its sha256, with
// Nomad's own service discovery: the artifact, the checksum and the sh
// wrapper that makes it executable work.
func TestJobspecNomadRunsArtifact(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Nomad and builds the JobManager")
	}
	agent := nomadtest.Start(t)
	jobmanager := jsBuildBinaries(t, "./cmd/jobmanager")["jobmanager"]
	data, err := os.ReadFile(jobmanager)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "jobmanager", time.Time{}, strings.NewReader(string(data)))
	}))
	t.Cleanup(srv.Close)

	cfg := DefaultJobspecConfig()
	cfg.Job, cfg.HA = "sluice-jm-artifact", false
	cfg.JobManager = JobspecBinary{Artifact: srv.URL + "/sluice/jobmanager", Checksum: "sha256:" + hex.EncodeToString(sum[:])}
	cfg.Provider = JobspecProviderStandalone
	cfg.ServiceProvider = ServiceProviderNomad // the agent has no Consul
	cfg.CPU, cfg.MemoryMB = 100, 256
	allocs := jsRunJob(t, agent, cfg.Job, jsMustJobspec(t, JobManagerJobspec, cfg), 1)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	jsWaitUntil(t, 90*time.Second, "the JobManager's REST API", func() (bool, string) {
		rest, err := jsAllocPort(agent, allocs[0], "http")
		if err != nil {
			return false, err.Error()
		}
		resp, err := client.Get("http://" + rest + "/v1/overview")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	}, func() { jsDumpAllocs(t, agent, cfg.Job) })
	jsStopJob(t, agent, cfg.Job, allocs, allocs[0])
}

// jsMustJobspec renders a jobspec or fails the test.
func jsMustJobspec(t *testing.T, render func(JobspecConfig) (string, error), cfg JobspecConfig) string {
	t.Helper()
	spec, err := render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// jsRunJob runs a jobspec with `nomad job run -detach`, makes sure it is
// purged when the test ends, and returns the ids of its allocations once
// there are want of them.
func jsRunJob(t *testing.T, agent *nomadtest.Agent, job, spec string, want int) []string {
	t.Helper()
	file := filepath.Join(t.TempDir(), job+".nomad.hcl")
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = agent.RunCLI("job", "stop", "-purge", "-detach", job) })
	if out, err := agent.RunCLI("job", "run", "-detach", file); err != nil {
		t.Fatalf("nomad job run: %v\n%s\n%s", err, out, spec)
	}
	var ids []string
	jsWaitUntil(t, 60*time.Second, fmt.Sprintf("%d allocations of %s", want, job), func() (bool, string) {
		stubs, _, err := agent.Client().Jobs().Allocations(job, false, nil)
		if err != nil {
			return false, err.Error()
		}
		ids = ids[:0]
		for _, s := range stubs {
			ids = append(ids, s.ID)
		}
		return len(ids) == want, fmt.Sprintf("%d allocations", len(ids))
	}, func() { jsDumpAllocs(t, agent, job) })
	return ids
}

// jsStopJob stops and purges the job, then waits until its allocations are
// no longer running and no process whose executable path holds mark (the
// test's binary directory, or the allocation id) is left.
func jsStopJob(t *testing.T, agent *nomadtest.Agent, job string, allocs []string, mark string) {
	t.Helper()
	agent.CLI(t, "job", "stop", "-purge", job)
	jsWaitUntil(t, 60*time.Second, "the allocations to stop and their processes to exit", func() (bool, string) {
		for _, id := range allocs {
			a, _, err := agent.Client().Allocations().Info(id, nil)
			if err != nil && !strings.Contains(err.Error(), "404") {
				return false, err.Error()
			}
			if err == nil && !a.ClientTerminalStatus() {
				return false, fmt.Sprintf("allocation %s is %s", id, a.ClientStatus)
			}
		}
		if procs := jsProcessesOf(mark); len(procs) > 0 {
			return false, fmt.Sprintf("processes left: %v", procs)
		}
		return true, ""
	}, nil)
}

// jsProcessesOf lists the processes whose executable path contains mark.
func jsProcessesOf(mark string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.Contains(exe, mark) {
			out = append(out, e.Name()+" "+exe)
		}
	}
	return out
}

// jsBuildBinaries builds packages (paths from the module root) into a
// temporary directory and returns each binary's path by the last element
// of its package path.
func jsBuildBinaries(t *testing.T, pkgs ...string) map[string]string {
	t.Helper()
	root, err := toolbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := map[string]string{}
	for _, pkg := range pkgs {
		name := filepath.Base(pkg)
		bin := filepath.Join(dir, name)
		if name == "s3" {
			bin = filepath.Join(dir, "sluice-backend-s3")
		}
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
		out[name] = bin
	}
	return out
}

// jsJobManagerHasNomadProvider reports whether the JobManager already has
// the Nomad provider's flags.
func jsJobManagerHasNomadProvider(t *testing.T, bin string) bool {
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	has := strings.Contains(string(out), "-nomad-addr")
	t.Logf("jobmanager --help lists --nomad-addr: %v", has)
	return has
}

// jsGet fetches url and returns the status code and body.
func jsGet(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// jsWaitUntil polls cond every 100ms until it holds, failing the test after
// timeout with cond's last word and what dump logs.
func jsWaitUntil(t *testing.T, timeout time.Duration, what string, cond func() (bool, string), dump func()) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if dump != nil {
				dump()
			}
			t.Fatalf("waited %v for %s; last: %s", timeout, what, why)
		}
		<-tick.C
	}
}

// jsDumpAllocs logs the status and the task logs of a job's allocations.
func jsDumpAllocs(t *testing.T, agent *nomadtest.Agent, job string) {
	t.Helper()
	out, err := agent.RunCLI("job", "status", job)
	t.Logf("nomad job status %s: %v\n%s", job, err, out)
	stubs, _, err := agent.Client().Jobs().Allocations(job, true, nil)
	if err != nil {
		t.Logf("listing the allocations: %v", err)
		return
	}
	for _, s := range stubs {
		status, _ := agent.RunCLI("alloc", "status", s.ID)
		t.Logf("allocation %s:\n%s", s.ID, status)
		for task := range s.TaskStates {
			logs, err := agent.RunCLI("alloc", "logs", "-stderr", s.ID, task)
			t.Logf("stderr of %s in %s (%v):\n%s", task, s.ID, err, jsTail(logs, 40))
		}
	}
}

// jsTail returns the last n lines of s.
func jsTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
