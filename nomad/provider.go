package nomad

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/sluicehq/sluice/jobmanager/provider"
)

// Names inside the Nomad job of a Sluice job's TaskManagers.
const (
	GroupName = "taskmanager"
	TaskName  = "taskmanager"
	// PortLabel is the dynamic port of the data plane.
	PortLabel = "data"
	// MetricsPortLabel is the dynamic port of the TaskManager's
	// Prometheus endpoint.
	MetricsPortLabel = "metrics"
	// binaryName is the artifact's file in the task's local/ folder.
	binaryName = "taskmanager"
	// Meta keys of the Nomad job.
	MetaJob      = "sluice_job"
	MetaCluster  = "sluice_cluster"
	MetaArtifact = "sluice_artifact"
)

// Sentinel errors, wrapped by Ensure's errors, for callers that branch.
var (
	// ErrUnreachable: no answer from Nomad's API.
	ErrUnreachable = errors.New("nomad is unreachable")
	// ErrPermission: Nomad refused the token.
	ErrPermission = errors.New("nomad refused the request")
	// ErrUnplaceable: no node can ever run the TaskManagers as asked
	// (no node in the datacenters or pool, or every node filtered out).
	ErrUnplaceable = errors.New("nomad cannot place the taskmanagers")
)

// Provider is the resource provider that asks Nomad for TaskManagers: one
// Nomad service job per Sluice job, with one task group whose count is the
// number of TaskManagers the job needs, each allocation running the job's
// own binary (its artifact, fetched from the JobManager with its sha256
// checksum) in TaskManager mode.
//
// Who restarts what: Nomad keeps the group at its count, and the
// JobManager keeps the job's tasks running. A TaskManager whose process
// exits is not restarted in place (restart attempts 0, mode fail: its
// tasks and its registration are gone with it, and a fresh process would
// reuse its identity). The allocation fails and Nomad reschedules a
// replacement without limit (after 5s, Nomad's shortest delay, growing
// exponentially to 1m);
// lost nodes and `nomad alloc stop` get replacements the same way. The
// JobManager sees the TaskManager lost (connection, heartbeat, or this
// provider's watch of the allocations), and its restart strategy restarts
// the job from its latest checkpoint once the replacement has registered.
// When the restart strategy gives up, the job fails and Release
// deregisters the Nomad job, which ends the rescheduling. An allocation
// that fails before its TaskManager registered (an artifact Nomad cannot
// fetch, a binary that does not start) is a failure of the job with
// Nomad's reason, which the restart strategy sees like any other: a
// transient cause heals on a retry, a lasting one fails the job once the
// strategy gives up.
//
// Allocations are watched with blocking queries, one goroutine per job.
//
// Its methods are safe for concurrent use.
type Provider struct {
	cfg    ProviderConfig
	client *api.Client
	log    *slog.Logger
	lost   *provider.LostQueue

	ctx    context.Context // ends with Close; watches run under it
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	watches map[string]*watch // Sluice job id → its watch
	wg      sync.WaitGroup
}

var _ provider.Provider = (*Provider)(nil)

// NewProvider returns a Nomad provider. It does not contact Nomad: an
// unreachable Nomad fails the jobs that need it, not the JobManager.
func NewProvider(cfg ProviderConfig) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	apiCfg := api.DefaultConfig()
	apiCfg.Address = cfg.Address
	apiCfg.SecretID = cfg.Token
	apiCfg.Region = cfg.Region
	apiCfg.Namespace = cfg.Namespace
	if cfg.HTTPClient != nil {
		apiCfg.HttpClient = cfg.HTTPClient
	}
	client, err := api.NewClient(apiCfg)
	if err != nil {
		return nil, fmt.Errorf("nomad: client for %s: %w", cfg.Address, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Provider{
		cfg: cfg, client: client, log: cfg.Logger.With("provider", "nomad"),
		lost: provider.NewLostQueue(), ctx: ctx, cancel: cancel,
		watches: make(map[string]*watch),
	}, nil
}

// Name returns "nomad".
func (*Provider) Name() string { return "nomad" }

// NomadJobID returns the id of the Nomad job of a Sluice job.
func (p *Provider) NomadJobID(jobID string) string { return p.cfg.JobPrefix + jobID }

// Ensure registers (or updates) the job's Nomad job with a count of
// req.TaskManagers and waits until Nomad's scheduler has evaluated it. It
// fails when Nomad is unreachable, refuses the token, or can place the
// TaskManagers on no node at all; when nodes exist but lack free
// resources now, it returns nil and the job waits for its slots (Pending
// says why). It returns no ids: Nomad names the allocations later, and
// each TaskManager's id is "<first 8 characters of the job id>-tm-<first 8
// characters of its allocation id>".
func (p *Provider) Ensure(ctx context.Context, req provider.Request) ([]string, error) {
	if req.JobID == "" {
		return nil, errors.New("nomad: request has no job id")
	}
	if req.Artifact == "" {
		return nil, fmt.Errorf("nomad: request for job %s has no artifact digest; Nomad fetches the binary by it", req.JobID)
	}
	if req.TaskManagers < 0 {
		return nil, fmt.Errorf("nomad: request for job %s asks for %d taskmanagers; want 0 or more", req.JobID, req.TaskManagers)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, provider.ErrClosed
	}
	p.mu.Unlock()

	job := p.job(req)
	nomadID := *job.ID
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	resp, meta, err := p.client.Jobs().Register(job, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return nil, p.explain(fmt.Sprintf("register Nomad job %s", nomadID), err)
	}
	if resp.Warnings != "" {
		p.log.Warn("nomad warned about the taskmanager job", "nomad_job", nomadID, "warnings", resp.Warnings)
	}
	w := p.watchJob(req.JobID, nomadID, meta.LastIndex)
	p.log.Info("taskmanagers asked of nomad", "job", req.JobID, "nomad_job", nomadID, "count", req.TaskManagers, "eval", resp.EvalID)
	if resp.EvalID == "" {
		return nil, nil
	}
	pending, err := p.awaitPlacement(ctx, resp.EvalID, req)
	w.setPending(pending)
	if err != nil {
		p.deregister(req.JobID, nomadID)
		return nil, err
	}
	if pending != nil {
		p.log.Warn("nomad cannot place every taskmanager yet; the job waits for slots", "job", req.JobID, "nomad_job", nomadID, "why", pending)
	}
	return nil, nil
}

// job builds the Nomad job of req.
func (p *Provider) job(req provider.Request) *api.Job {
	id := p.NomadJobID(req.JobID)
	job := api.NewServiceJob(id, id, p.cfg.Region, 50)
	if p.cfg.Namespace != "" {
		job.Namespace = ptr(p.cfg.Namespace)
	}
	job.Datacenters = append([]string(nil), p.cfg.Datacenters...)
	if p.cfg.NodePool != "" {
		job.NodePool = ptr(p.cfg.NodePool)
	}
	job.SetMeta(MetaJob, req.JobID)
	job.SetMeta(MetaCluster, p.cfg.Cluster)
	job.SetMeta(MetaArtifact, req.Artifact)
	for _, c := range p.cfg.Constraints {
		job.Constrain(api.NewConstraint(c.Attribute, c.Operator, c.Value))
	}

	group := api.NewTaskGroup(GroupName, req.TaskManagers)
	group.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: PortLabel}, {Label: MetricsPortLabel}}}}
	group.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr("fail")}
	group.ReschedulePolicy = &api.ReschedulePolicy{
		Unlimited: ptr(true), Attempts: ptr(0), Interval: ptr(time.Duration(0)),
		Delay: ptr(5 * time.Second), DelayFunction: ptr("exponential"), MaxDelay: ptr(time.Minute),
	}

	task := api.NewTask(TaskName, p.cfg.Driver)
	command := "${NOMAD_TASK_DIR}/" + binaryName
	task.SetConfig("command", command)
	if len(req.Args) > 0 {
		task.SetConfig("args", append([]string(nil), req.Args...))
	}
	if p.cfg.Driver == DriverDocker {
		task.SetConfig("image", p.cfg.DockerImage)
		// Host networking: the data plane listens on the address it
		// advertises, as it does with the other drivers.
		task.SetConfig("network_mode", "host")
	}
	task.Env = map[string]string{}
	for _, kv := range req.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			task.Env[k] = v
		}
	}
	task.Env[provider.EnvTaskManagerID] = idPrefix(req.JobID) + "-tm-${NOMAD_SHORT_ALLOC_ID}"
	task.Env["SLUICE_DATA_ADDR"] = "${NOMAD_ADDR_" + PortLabel + "}"
	task.Env["SLUICE_METRICS_ADDR"] = "${NOMAD_ADDR_" + MetricsPortLabel + "}"
	task.Artifacts = []*api.TaskArtifact{p.artifact(req.Artifact, binaryName, req.ArtifactToken)}
	for _, f := range req.Files {
		task.Artifacts = append(task.Artifacts, p.artifact(f.Digest, f.Name, req.ArtifactToken))
	}
	slots := max(req.SlotsPerTaskManager, 1)
	memMB := int((req.MemoryPerTaskManager + 1<<20 - 1) >> 20)
	task.Require(&api.Resources{CPU: ptr(slots * p.cfg.CPUPerSlot), MemoryMB: ptr(memMB + p.cfg.MemoryOverheadMB)})
	task.KillTimeout = ptr(p.cfg.KillTimeout)
	task.KillSignal = "SIGTERM"
	group.AddTask(task)
	job.AddTaskGroup(group)
	return job
}

// artifact is the download of the stored binary digest into local/name,
// checked against its sha256, with token as its bearer token if any.
func (p *Provider) artifact(digest, name, token string) *api.TaskArtifact {
	a := &api.TaskArtifact{
		GetterSource:  ptr(p.cfg.ArtifactBaseURL + "/v1/artifacts/" + digest),
		GetterOptions: map[string]string{"checksum": "sha256:" + digest},
		GetterMode:    ptr("file"),
		RelativeDest:  ptr("local/" + name),
	}
	if token != "" {
		a.GetterHeaders = map[string]string{"Authorization": "Bearer " + token}
	}
	return a
}

// idPrefix returns the first 8 characters of jobID, as the local
// provider's TaskManager ids start.
func idPrefix(jobID string) string {
	if len(jobID) > 8 {
		return jobID[:8]
	}
	return jobID
}

// TaskManagerID is the id the TaskManager of an allocation registers with.
func TaskManagerID(jobID, allocID string) string {
	return idPrefix(jobID) + "-tm-" + idPrefix(allocID)
}

// awaitPlacement follows the evaluation until the scheduler is done with
// it. It returns an error wrapping ErrUnplaceable when no node can run
// the group at all, and a non-nil pending cause when nodes are merely
// full.
func (p *Provider) awaitPlacement(ctx context.Context, evalID string, req provider.Request) (pending, err error) {
	var index uint64
	for {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second}).WithContext(ctx)
		eval, meta, err := p.client.Evaluations().Info(evalID, q)
		if err != nil {
			return nil, p.explain(fmt.Sprintf("follow Nomad evaluation %s of job %s", evalID, req.JobID), err)
		}
		index = meta.LastIndex
		switch eval.Status {
		case "pending", "blocked", "":
			continue
		case "complete":
		default: // failed, canceled
			return nil, fmt.Errorf("nomad: evaluation %s of job %s ended %s: %s", evalID, req.JobID, eval.Status, eval.StatusDescription)
		}
		m := eval.FailedTGAllocs[GroupName]
		if m == nil {
			return nil, nil
		}
		why := describePlacement(m)
		if m.NodesEvaluated == 0 || m.NodesFiltered >= m.NodesEvaluated {
			pool := p.cfg.NodePool
			if pool == "" {
				pool = "default"
			}
			return nil, fmt.Errorf("%w of job %s: %s; the job asks for datacenters %s, node pool %q and driver %q: check --nomad-datacenters, --nomad-node-pool, --nomad-constraint and the nodes' drivers",
				ErrUnplaceable, req.JobID, why, strings.Join(p.cfg.Datacenters, ","), pool, p.cfg.Driver)
		}
		return fmt.Errorf("nomad has placed %d of %d taskmanagers: %s", req.TaskManagers-eval.QueuedAllocations[GroupName], req.TaskManagers, why), nil
	}
}

// describePlacement says why Nomad could not place allocations, from its
// metrics, in the words of `nomad job status`.
func describePlacement(m *api.AllocationMetric) string {
	var parts []string
	if m.NodesEvaluated == 0 {
		dcs := make([]string, 0, len(m.NodesAvailable))
		for dc, n := range m.NodesAvailable {
			dcs = append(dcs, fmt.Sprintf("%s: %d", dc, n))
		}
		s := "no eligible client node"
		if len(dcs) > 0 {
			s += " (nodes available: " + strings.Join(dcs, ", ") + ")"
		}
		parts = append(parts, s)
	} else {
		parts = append(parts, fmt.Sprintf("%d nodes evaluated, %d filtered, %d exhausted", m.NodesEvaluated, m.NodesFiltered, m.NodesExhausted))
	}
	for c, n := range m.ConstraintFiltered {
		parts = append(parts, fmt.Sprintf("constraint %q filtered %d", c, n))
	}
	for c, n := range m.ClassFiltered {
		parts = append(parts, fmt.Sprintf("class %q filtered %d", c, n))
	}
	for d, n := range m.DimensionExhausted {
		parts = append(parts, fmt.Sprintf("%s exhausted on %d", d, n))
	}
	return strings.Join(parts, "; ")
}

// explain turns an API error into one that says what to do.
func (p *Provider) explain(what string, err error) error {
	var ure api.UnexpectedResponseError
	if errors.As(err, &ure) && ure.HasStatusCode() {
		switch code := ure.StatusCode(); {
		case code == 403:
			ns := p.cfg.Namespace
			if ns == "" {
				ns = "default"
			}
			return fmt.Errorf("nomad: %s: %w: %s; the token (--nomad-token or NOMAD_TOKEN) needs the submit-job and read-job capabilities in namespace %q",
				what, ErrPermission, strings.TrimSpace(ure.Body()), ns)
		default:
			return fmt.Errorf("nomad: %s: Nomad answered %d: %s", what, code, strings.TrimSpace(ure.Body()))
		}
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("nomad: %s: %w", what, err)
	}
	return fmt.Errorf("nomad: %s: %w at %s: %v; check --nomad-addr and that the Nomad agent runs", what, ErrUnreachable, p.cfg.Address, err)
}

// Pending says why Nomad has not placed every TaskManager of the job, or
// nil; the JobManager adds it to a slot timeout's message.
func (p *Provider) Pending(jobID string) error {
	p.mu.Lock()
	w := p.watches[jobID]
	p.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.getPending()
}

// Release deregisters the job's Nomad job (Nomad stops its allocations,
// and keeps the stopped job for its usual garbage collection) and stops
// watching it. No Lost event of the job is delivered after it returns.
func (p *Provider) Release(jobID string) error {
	p.mu.Lock()
	w := p.watches[jobID]
	delete(p.watches, jobID)
	p.lost.Purge(jobID)
	p.mu.Unlock()
	if w == nil {
		return nil
	}
	w.stop()
	return p.deregister(jobID, w.nomadID)
}

// deregister stops the Nomad job.
func (p *Provider) deregister(jobID, nomadID string) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.CallTimeout)
	defer cancel()
	if _, _, err := p.client.Jobs().Deregister(nomadID, false, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		err = p.explain(fmt.Sprintf("deregister Nomad job %s", nomadID), err)
		p.log.Warn("deregistering the taskmanager job", "job", jobID, "nomad_job", nomadID, "err", err)
		return err
	}
	p.log.Info("taskmanager job deregistered", "job", jobID, "nomad_job", nomadID)
	return nil
}

// Lost delivers TaskManagers whose allocations ended unreleased.
func (p *Provider) Lost() <-chan provider.Lost { return p.lost.C() }

// Close stops watching. It leaves the Nomad jobs registered: jobs end by
// Release, and in a highly available cluster the next leader adopts them.
func (p *Provider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.watches = map[string]*watch{}
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	p.lost.Close()
	return nil
}

// ptr returns a pointer to v, for the api package's optional fields.
func ptr[T any](v T) *T { return &v }
