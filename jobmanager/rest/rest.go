// Package rest serves the JobManager's REST API under /v1/ (see package api
// for the routes and types): artifact upload and download, job submission,
// listing, detail and cancellation, TaskManagers and an overview. Every
// request body is size-limited, and every error is a JSON body with a 4xx or
// 5xx status that says what to do.
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/artifacts"
	"github.com/sluicehq/sluice/jobmanager/auth"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/savepoint"
)

// Version is reported by GET /v1/overview.
var Version = "dev"

// SubmitFunc turns a validated request into a running job and returns its id.
type SubmitFunc func(ctx context.Context, req api.SubmitRequest) (string, error)

// RescaleFunc starts the rescale of job id to req and returns the progress
// of the savepoint it takes.
type RescaleFunc func(ctx context.Context, id string, req api.RescaleRequest) (jobmanager.SavepointStatus, error)

// Config configures the handler.
type Config struct {
	JobManager *jobmanager.JobManager
	Artifacts  *artifacts.Store
	Submit     SubmitFunc
	// Rescale, if set, serves POST /v1/jobs/{id}/rescale; nil answers
	// 501.
	Rescale RescaleFunc
	// MaxArtifactBytes bounds an upload (default 1 GiB).
	MaxArtifactBytes int64
	// MaxBodyBytes bounds every other request body (default 16 MiB).
	MaxBodyBytes int64
	Logger       *slog.Logger
	// Cluster is the cluster's name, reported by GET /v1/overview.
	Cluster string
	// Auth, if set, checks every request's token against its route's
	// rights (see Routes); nil lets everything through.
	Auth *auth.Authorizer
}

// Route is one endpoint of the API and the rights that may call it (any
// one of them).
type Route struct {
	Pattern string // as http.ServeMux takes it: "METHOD /path"
	Rights  []auth.Right
}

// Routes lists the API's endpoints with their rights: reading needs read,
// uploading a binary and starting work on the cluster submit, ending jobs
// and deleting savepoints manage. A TaskManager's job token may fetch
// artifacts (Nomad does, for the TaskManagers it starts).
func Routes() []Route {
	read, submit, manage := []auth.Right{auth.Read}, []auth.Right{auth.Submit}, []auth.Right{auth.Manage}
	return []Route{
		{"PUT /v1/artifacts/{digest}", submit},
		{"HEAD /v1/artifacts/{digest}", []auth.Right{auth.Read, auth.TaskManager}},
		{"GET /v1/artifacts/{digest}", []auth.Right{auth.Read, auth.TaskManager}},
		{"POST /v1/jobs", submit},
		{"GET /v1/jobs", read},
		{"GET /v1/jobs/{id}", read},
		{"GET /v1/jobs/{id}/graph", read},
		{"POST /v1/jobs/{id}/cancel", manage},
		{"GET /v1/jobs/{id}/checkpoints", read},
		{"POST /v1/jobs/{id}/savepoints", submit},
		{"POST /v1/jobs/{id}/stop", manage},
		{"POST /v1/jobs/{id}/rescale", manage},
		{"GET /v1/jobs/{id}/savepoints/{n}", read},
		{"POST /v1/savepoints/dispose", manage},
		{"GET /v1/taskmanagers", read},
		{"GET /v1/overview", read},
	}
}

// New returns the API handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.JobManager == nil || cfg.Artifacts == nil || cfg.Submit == nil {
		return nil, errors.New("rest: JobManager, Artifacts and Submit are required")
	}
	if cfg.MaxArtifactBytes <= 0 {
		cfg.MaxArtifactBytes = 1 << 30
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &handler{cfg: cfg, log: cfg.Logger.With("component", "rest")}
	handlers := map[string]http.HandlerFunc{
		"PUT /v1/artifacts/{digest}":       h.putArtifact,
		"HEAD /v1/artifacts/{digest}":      h.headArtifact,
		"GET /v1/artifacts/{digest}":       h.getArtifact,
		"POST /v1/jobs":                    h.submit,
		"GET /v1/jobs":                     h.listJobs,
		"GET /v1/jobs/{id}":                h.job,
		"GET /v1/jobs/{id}/graph":          h.graph, // graph.go
		"POST /v1/jobs/{id}/cancel":        h.cancel,
		"GET /v1/jobs/{id}/checkpoints":    h.checkpoints,
		"POST /v1/jobs/{id}/savepoints":    h.savepoint(false),
		"POST /v1/jobs/{id}/stop":          h.savepoint(true),
		"POST /v1/jobs/{id}/rescale":       h.rescale,
		"GET /v1/jobs/{id}/savepoints/{n}": h.savepointStatus,
		"POST /v1/savepoints/dispose":      h.dispose,
		"GET /v1/taskmanagers":             h.taskManagers,
		"GET /v1/overview":                 h.overview,
	}
	mux := http.NewServeMux()
	for _, rt := range Routes() {
		var hf http.Handler = handlers[rt.Pattern]
		if cfg.Auth != nil {
			hf = cfg.Auth.Require(hf, rt.Rights...)
		}
		mux.Handle(rt.Pattern, hf)
		delete(handlers, rt.Pattern)
	}
	if len(handlers) > 0 {
		return nil, fmt.Errorf("rest: handlers without a route: %v", slices.Sorted(maps.Keys(handlers)))
	}
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no route %s %s; see GET /v1/overview and the API documentation", r.Method, r.URL.Path))
	})
	return mux, nil
}

type handler struct {
	cfg Config
	log *slog.Logger
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, api.Error{Error: err.Error()})
}

func (h *handler) putArtifact(w http.ResponseWriter, r *http.Request) {
	d := r.PathValue("digest")
	created, err := h.cfg.Artifacts.Put(d, r.Body, h.cfg.MaxArtifactBytes)
	switch {
	case errors.Is(err, artifacts.ErrInvalidDigest), errors.Is(err, artifacts.ErrDigestMismatch):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, artifacts.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("%w; the JobManager accepts artifacts up to %d bytes", err, h.cfg.MaxArtifactBytes))
	case err != nil:
		h.log.Error("storing an artifact", "digest", d, "err", err)
		writeError(w, http.StatusInternalServerError, err)
	case created:
		writeJSON(w, http.StatusCreated, map[string]string{"artifact": d})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"artifact": d})
	}
}

func (h *handler) artifactPath(w http.ResponseWriter, r *http.Request) (string, bool) {
	p, err := h.cfg.Artifacts.Path(r.PathValue("digest"))
	switch {
	case errors.Is(err, artifacts.ErrInvalidDigest):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, artifacts.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Errorf("%w; upload it with PUT /v1/artifacts/{sha256}", err))
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	default:
		return p, true
	}
	return "", false
}

func (h *handler) headArtifact(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.artifactPath(w, r); ok {
		w.WriteHeader(http.StatusOK)
	}
}

func (h *handler) getArtifact(w http.ResponseWriter, r *http.Request) {
	p, ok := h.artifactPath(w, r)
	if !ok {
		return
	}
	f, err := os.Open(p)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, r.PathValue("digest"), time.Time{}, f) // artifacts never change
}

// decode reads a JSON body strictly: size-limited, no unknown fields, one value.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes", h.cfg.MaxBodyBytes))
		} else {
			writeError(w, http.StatusBadRequest, fmt.Errorf("malformed request body: %v", err))
		}
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, errors.New("malformed request body: more than one JSON value"))
		return false
	}
	return true
}

func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	if !h.decode(w, r, &req) {
		return
	}
	id, err := h.cfg.Submit(r.Context(), req)
	if err != nil {
		status := http.StatusBadRequest
		var internal *InternalError
		if errors.As(err, &internal) {
			status = http.StatusInternalServerError
		}
		writeError(w, status, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.SubmitResponse{ID: id})
}

// InternalError marks a submission error that is the JobManager's fault.
type InternalError struct{ Err error }

func (e *InternalError) Error() string { return e.Err.Error() }
func (e *InternalError) Unwrap() error { return e.Err }

func (h *handler) listJobs(w http.ResponseWriter, r *http.Request) {
	list := api.JobList{Jobs: []api.JobSummary{}}
	for _, st := range h.cfg.JobManager.List() {
		list.Jobs = append(list.Jobs, summary(st))
	}
	writeJSON(w, http.StatusOK, list)
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) (jobmanager.JobStatus, bool) {
	id := r.PathValue("id")
	st, err := h.cfg.JobManager.Status(id)
	if errors.Is(err, jobmanager.ErrUnknownJob) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no job %q; list jobs with GET /v1/jobs", id))
		return st, false
	}
	return st, true
}

func (h *handler) job(w http.ResponseWriter, r *http.Request) {
	st, ok := h.status(w, r)
	if !ok {
		return
	}
	sub, _ := h.cfg.JobManager.Submission(st.ID)
	d := api.JobDetail{JobSummary: summary(st), Fingerprint: sub.Graph.Fingerprint, Artifact: sub.Artifact, Args: sub.Args,
		Attempt: st.Attempt, Tasks: []api.Subtask{}, Exceptions: []api.Exception{}}
	for _, t := range st.Tasks {
		d.Tasks = append(d.Tasks, api.Subtask{Task: t.Task, Name: t.Name, Subtask: t.Subtask, Parallelism: t.Parallelism,
			TaskManager: t.TaskManager, Slot: t.Slot, State: string(t.State), RecordsIn: t.RecordsIn, RecordsOut: t.RecordsOut, Backpressure: t.Backpressure, Error: t.Error})
	}
	for _, e := range st.Exceptions {
		d.Exceptions = append(d.Exceptions, api.Exception{Time: e.Time, Attempt: e.Attempt, Error: e.Error})
	}
	writeJSON(w, http.StatusOK, d)
}

func (h *handler) cancel(w http.ResponseWriter, r *http.Request) {
	st, ok := h.status(w, r)
	if !ok {
		return
	}
	if st.State.Terminal() {
		writeError(w, http.StatusConflict, fmt.Errorf("job %s has already %s", st.ID, st.State))
		return
	}
	_ = h.cfg.JobManager.Cancel(st.ID)
	st, _ = h.cfg.JobManager.Status(st.ID)
	writeJSON(w, http.StatusAccepted, summary(st))
}

func (h *handler) checkpoints(w http.ResponseWriter, r *http.Request) {
	st, ok := h.status(w, r)
	if !ok {
		return
	}
	cps, _ := h.cfg.JobManager.Checkpoints(st.ID)
	list := api.CheckpointList{Checkpoints: []api.Checkpoint{}}
	for _, cp := range cps {
		status := string(cp.Status)
		if cp.Status == checkpoint.Completed && !cp.Savepoint && !cp.Recorded {
			status = "recording" // acknowledged by every subtask; the pointer is being written
		}
		c := api.Checkpoint{ID: cp.ID, Savepoint: cp.Savepoint, Status: status, Attempt: cp.Attempt,
			Triggered: cp.Triggered, Ended: cp.Ended, DurationMs: cp.Duration().Milliseconds(), Reason: cp.Reason,
			Subtasks: []api.CheckpointSubtask{}}
		for _, a := range cp.AckList {
			c.Size += a.Size
			c.Subtasks = append(c.Subtasks, api.CheckpointSubtask{Task: a.Subtask.Task, Subtask: a.Subtask.Index, Size: a.Size,
				SyncMs: a.SyncDuration.Milliseconds(), AsyncMs: a.AsyncDuration.Milliseconds(), AlignmentMs: a.Alignment.Milliseconds()})
		}
		list.Checkpoints = append(list.Checkpoints, c)
	}
	writeJSON(w, http.StatusOK, list)
}

// savepoint triggers a savepoint, and with stop stops the job after it.
func (h *handler) savepoint(stop bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, ok := h.status(w, r)
		if !ok {
			return
		}
		var req api.SavepointRequest
		if r.ContentLength != 0 && !h.decode(w, r, &req) {
			return
		}
		sp, err := h.cfg.JobManager.TriggerSavepoint(st.ID, req.Target, stop)
		switch {
		case errors.Is(err, savepoint.ErrLocation), errors.Is(err, savepoint.ErrExists):
			writeError(w, http.StatusBadRequest, err)
		case errors.Is(err, jobmanager.ErrNotRunning), errors.Is(err, checkpoint.ErrSavepointInProgress):
			writeError(w, http.StatusConflict, err)
		case err != nil:
			writeError(w, http.StatusInternalServerError, err)
		default:
			writeJSON(w, http.StatusAccepted, apiSavepoint(sp))
		}
	}
}

func (h *handler) rescale(w http.ResponseWriter, r *http.Request) {
	st, ok := h.status(w, r)
	if !ok {
		return
	}
	var req api.RescaleRequest
	if !h.decode(w, r, &req) {
		return
	}
	if h.cfg.Rescale == nil {
		writeError(w, http.StatusNotImplemented, errors.New("this JobManager cannot rescale jobs"))
		return
	}
	if req.Parallelism < 1 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("parallelism %d: want 1 or more", req.Parallelism))
		return
	}
	sp, err := h.cfg.Rescale(r.Context(), st.ID, req)
	var internal *InternalError
	switch {
	case errors.As(err, &internal):
		writeError(w, http.StatusInternalServerError, err)
	case errors.Is(err, jobmanager.ErrUnknownJob):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, jobmanager.ErrNotRunning), errors.Is(err, checkpoint.ErrSavepointInProgress):
		writeError(w, http.StatusConflict, err)
	case errors.Is(err, jobmanager.ErrNoBackend):
		writeError(w, http.StatusConflict, fmt.Errorf("%w; a rescale goes through a savepoint", err))
	case err != nil:
		writeError(w, http.StatusBadRequest, err)
	default:
		writeJSON(w, http.StatusAccepted, apiSavepoint(sp))
	}
}

func (h *handler) savepointStatus(w http.ResponseWriter, r *http.Request) {
	st, ok := h.status(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("savepoint %q: want the number the trigger returned", r.PathValue("n")))
		return
	}
	sp, err := h.cfg.JobManager.Savepoint(st.ID, n)
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	writeJSON(w, http.StatusOK, apiSavepoint(sp))
}

func apiSavepoint(sp jobmanager.SavepointStatus) api.Savepoint {
	return api.Savepoint{ID: sp.ID, JobID: sp.JobID, Location: sp.Location, Stop: sp.Stop, Status: sp.Status, Error: sp.Error,
		Checkpoint: sp.Checkpoint, Size: sp.Size, Triggered: sp.Triggered, Ended: sp.Ended}
}

func (h *handler) dispose(w http.ResponseWriter, r *http.Request) {
	var req api.DisposeRequest
	if !h.decode(w, r, &req) {
		return
	}
	err := h.cfg.JobManager.DisposeSavepoint(r.Context(), req.Location)
	switch {
	case errors.Is(err, savepoint.ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, savepoint.ErrLocation), errors.Is(err, savepoint.ErrFormat):
		writeError(w, http.StatusBadRequest, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	default:
		writeJSON(w, http.StatusOK, req)
	}
}

func (h *handler) taskManagers(w http.ResponseWriter, r *http.Request) {
	list := api.TaskManagerList{TaskManagers: []api.TaskManager{}}
	for _, tm := range h.cfg.JobManager.TaskManagers() {
		list.TaskManagers = append(list.TaskManagers, taskManager(tm))
	}
	writeJSON(w, http.StatusOK, list)
}

func taskManager(tm jobmanager.TaskManagerStatus) api.TaskManager {
	out := api.TaskManager{ID: tm.Info.ID, DataAddress: tm.Info.DataAddress, MetricsAddress: tm.Info.MetricsAddress, Artifact: tm.Info.Artifact, Fingerprint: tm.Info.Fingerprint,
		ManagedMemory: tm.Info.ManagedMemory, Registered: tm.Registered, LastHeartbeat: tm.LastHeartbeat}
	share := int64(0)
	if tm.Info.Slots > 0 {
		share = tm.Info.ManagedMemory / int64(tm.Info.Slots)
	}
	for i := range tm.Info.Slots {
		s := api.Slot{Index: i, Job: tm.SlotJobs[i], MemoryBytes: share}
		if u, ok := tm.Usage[i]; ok {
			s.NetworkBytes, s.StateBytes = u.NetworkBytes, u.StateBytes
		}
		if s.Job == "" {
			out.FreeSlots++
		}
		out.Slots = append(out.Slots, s)
	}
	return out
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	o := api.Overview{Jobs: map[string]int{}, Version: Version, Cluster: h.cfg.Cluster}
	for _, tm := range h.cfg.JobManager.TaskManagers() {
		o.TaskManagers++
		o.Slots += tm.Info.Slots
		o.FreeSlots += tm.Info.Slots - len(tm.SlotJobs)
	}
	for _, st := range h.cfg.JobManager.List() {
		o.Jobs[string(st.State)]++
	}
	writeJSON(w, http.StatusOK, o)
}

func summary(st jobmanager.JobStatus) api.JobSummary {
	return api.JobSummary{ID: st.ID, Name: st.Name, State: string(st.State), Start: st.Start, End: st.End,
		Subtasks: len(st.Tasks), Restarts: st.Restarts, Error: firstLine(st.Error), RestoredFrom: st.RestoredFrom}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
