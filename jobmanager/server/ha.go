package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/auth"
	"github.com/sluicehq/sluice/jobmanager/checkpoint"
	"github.com/sluicehq/sluice/jobmanager/ha"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/savepoint"
	"github.com/sluicehq/sluice/plugins"
)

// ErrLeadershipLost is what Run returns when this JobManager stopped
// leading: it has stopped every leader activity, and its supervisor
// restarts it as a standby.
var ErrLeadershipLost = errors.New("leadership lost")

// haService is what the server needs of its HA implementation.
type haService interface {
	ha.Elector
	ha.Discovery
	ha.Store
}

// highAvailability is the server's leader state and HA store use.
type highAvailability struct {
	svc     haService
	durable bool // Consul: jobs and checkpoints are recorded for the next leader

	mu      sync.Mutex
	epoch   uint64
	leading bool
	jobs    map[string]ha.JobRecord
	latest  map[string]string // job id -> metadata object of its pointer
}

func (h *highAvailability) state() (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.epoch, h.leading
}

func (h *highAvailability) currentEpoch() uint64 {
	e, _ := h.state()
	return e
}

// admit refuses TaskManagers while this JobManager is a standby.
func (s *Server) admit() error {
	if _, leading := s.ha.state(); leading {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if l, err := s.ha.svc.Leader(ctx); err == nil && l.RPC != "" {
		return fmt.Errorf("JobManager %s is a standby; the leader is %s at %s", s.cfg.ID, l.ID, l.RPC)
	}
	return fmt.Errorf("JobManager %s is a standby and no JobManager leads yet; retry", s.cfg.ID)
}

// standbyGate answers REST requests on a standby with the leader's
// address: a 307 redirect to the same path there, with a JSON body naming
// it, or 503 when no JobManager leads.
func (s *Server) standbyGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/health":
			s.health(w, r)
			return
		case "/metrics": // a standby's own, not the leader's
			s.auth.Require(s.metrics.handler, auth.Read).ServeHTTP(w, r)
			return
		}
		if _, leading := s.ha.state(); leading {
			next.ServeHTTP(w, r)
			return
		}
		l, err := s.ha.svc.Leader(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if err != nil || l.REST == "" {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(api.Error{Error: fmt.Sprintf("JobManager %s is a standby and no JobManager leads yet; retry in a moment", s.cfg.ID)})
			return
		}
		target := l.RESTURL() + r.URL.RequestURI() // https when the leader serves TLS
		w.Header().Set("Location", target)
		w.Header().Set("X-Sluice-Leader", l.REST)
		w.WriteHeader(http.StatusTemporaryRedirect)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"error":  fmt.Sprintf("JobManager %s is a standby; the leader is %s at %s", s.cfg.ID, l.ID, l.REST),
			"leader": l.REST,
		})
	})
}

// Health is the body of GET /v1/health.
type Health struct {
	ID     string `json:"id"`
	Status string `json:"status"` // "leader" or "standby"
}

// health answers GET /v1/health with 200 on a leader and on a standby
// alike (both are healthy processes; a standby redirects everything
// else), for the health checks of service registrations.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(api.Error{Error: "GET /v1/health only"})
		return
	}
	h := Health{ID: s.cfg.ID, Status: "standby"}
	if _, leading := s.ha.state(); leading {
		h.Status = "leader"
	}
	_ = json.NewEncoder(w).Encode(h)
}

// lead campaigns for leadership, then recovers the jobs the previous
// leader ran and serves until leadership is lost or ctx ends.
func (s *Server) lead(ctx context.Context) error {
	me := ha.Leader{ID: s.cfg.ID, REST: s.advertise(s.HTTPAddr()), RPC: s.advertise(s.RPCAddr()), Scheme: s.scheme}
	epoch, lost, err := s.ha.svc.Campaign(ctx, me)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("campaigning for leadership: %w", err)
	}
	// Jobs are recovered before the leader answers: its REST API and
	// TaskManagers see every job from the start.
	s.ha.mu.Lock()
	s.ha.epoch = epoch
	s.ha.mu.Unlock()
	if s.ha.durable {
		if err := s.recoverJobs(ctx, epoch); err != nil {
			s.log.Error("recovering the jobs of the previous leader", "err", err)
		}
	}
	s.ha.mu.Lock()
	s.ha.leading = true
	s.ha.mu.Unlock()
	s.log.Info("leading", "id", s.cfg.ID, "epoch", epoch)
	select {
	case <-ctx.Done():
		_ = s.ha.svc.Resign(context.Background())
		return nil
	case <-lost:
	}
	// Before anything else: no more scheduling, commands or pointers.
	s.ha.mu.Lock()
	s.ha.leading = false
	s.ha.mu.Unlock()
	s.log.Error("leadership lost; stopping every leader activity", "id", s.cfg.ID, "epoch", epoch)
	return ErrLeadershipLost
}

// newJobID makes the id of a job submitted to an HA cluster, so that it is
// recorded before the job starts.
func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recordSubmission stores a job and its binary for the next leader.
func (s *Server) recordSubmission(ctx context.Context, rec ha.JobRecord, artifactPath string) error {
	if !s.ha.durable {
		return nil
	}
	epoch, leading := s.ha.state()
	if !leading {
		return ha.ErrFenced
	}
	name := ha.ArtifactObject(rec.Artifact)
	objs, err := s.backend.List(ctx, name)
	if err != nil {
		return fmt.Errorf("storing the artifact for the next leader: %w", err)
	}
	if len(objs) == 0 {
		f, err := os.Open(artifactPath)
		if err != nil {
			return err
		}
		_, err = s.backend.Put(ctx, name, f)
		f.Close()
		if err != nil && !errors.Is(err, plugins.ErrExists) {
			return fmt.Errorf("storing the artifact for the next leader: %w", err)
		}
	}
	if err := s.ha.svc.PutJob(ctx, epoch, rec); err != nil {
		return fmt.Errorf("recording the job in the HA store: %w", err)
	}
	s.ha.mu.Lock()
	s.ha.jobs[rec.ID] = rec
	s.ha.mu.Unlock()
	return nil
}

// recordCheckpoint writes a completed checkpoint's metadata to the state
// backend and points the HA store at it (fenced by the epoch).
func (s *Server) recordCheckpoint(jobID string, g *jobgraph.Graph, cp *checkpoint.Checkpoint) error {
	epoch, leading := s.ha.state()
	if !leading {
		return ha.ErrFenced
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	meta := &savepoint.Metadata{Format: savepoint.Format, Version: savepoint.Version, JobID: jobID, JobName: g.Name,
		Checkpoint: cp.ID, Created: time.Now().UTC(), Fingerprint: g.Fingerprint, Operators: savepoint.FromCheckpoint(cp, g)}
	data, err := meta.Marshal()
	if err != nil {
		return err
	}
	name := ha.CheckpointMetadataObject(jobID, epoch, cp.ID)
	if _, err := s.backend.Put(ctx, name, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing checkpoint metadata %s: %w", name, err)
	}
	if err := s.ha.svc.PutPointer(ctx, epoch, jobID, ha.Pointer{Checkpoint: cp.ID, Metadata: name, Epoch: epoch}); err != nil {
		_ = s.backend.Delete(context.WithoutCancel(ctx), name)
		return err
	}
	s.ha.mu.Lock()
	prev := s.ha.latest[jobID]
	s.ha.latest[jobID] = name
	s.ha.mu.Unlock()
	if prev != "" {
		_ = s.backend.Delete(ctx, prev)
	}
	return nil
}

// jobEnded marks a job ended in the HA store, so that no leader runs it
// again.
func (s *Server) jobEnded(st jobmanager.JobStatus) {
	epoch, leading := s.ha.state()
	s.ha.mu.Lock()
	rec, ok := s.ha.jobs[st.ID]
	s.ha.mu.Unlock()
	if !ok || !leading {
		return
	}
	rec.Ended, rec.State = true, string(st.State)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.ha.svc.PutJob(ctx, epoch, rec); err != nil {
		s.log.Warn("marking the job ended in the HA store", "job", st.ID, "err", err)
	}
}

// recoverJobs restarts every job the HA store holds that has not ended,
// from its latest completed checkpoint.
func (s *Server) recoverJobs(ctx context.Context, epoch uint64) error {
	recs, err := s.ha.svc.Jobs(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Ended {
			continue
		}
		if err := s.recoverJob(ctx, rec); err != nil {
			s.log.Error("recovering a job", "job", rec.ID, "name", rec.Name, "err", err)
			continue
		}
		s.log.Info("job recovered", "job", rec.ID, "name", rec.Name, "epoch", epoch)
	}
	return nil
}

func (s *Server) recoverJob(ctx context.Context, rec ha.JobRecord) error {
	if _, err := s.store.Path(rec.Artifact); err != nil {
		r, err := s.backend.Get(ctx, ha.ArtifactObject(rec.Artifact))
		if err != nil {
			return fmt.Errorf("fetching artifact %s from the state backend: %w", rec.Artifact, err)
		}
		limit := s.cfg.MaxArtifactBytes
		if limit <= 0 {
			limit = 1 << 30 // the REST API's default
		}
		_, err = s.store.Put(rec.Artifact, r, limit)
		r.Close()
		if err != nil {
			return fmt.Errorf("storing artifact %s: %w", rec.Artifact, err)
		}
	}
	req := api.SubmitRequest{Graph: rec.Graph, Artifact: rec.Artifact, Args: rec.Args, Parallelism: rec.Parallelism,
		FromSavepoint: rec.FromSavepoint, AllowNonRestoredState: rec.AllowNonRestoredState}
	var restore *jobmanager.Restore
	p, ok, err := s.ha.svc.Pointer(ctx, rec.ID)
	if err != nil {
		return fmt.Errorf("reading the checkpoint pointer: %w", err)
	}
	if ok {
		meta, err := s.readMetadata(ctx, p.Metadata)
		if err != nil {
			return fmt.Errorf("checkpoint %d: %w", p.Checkpoint, err)
		}
		restore = &jobmanager.Restore{Location: fmt.Sprintf("checkpoint %d", p.Checkpoint), Operators: meta.Operators, Checkpoint: true}
		req.FromSavepoint, req.AllowNonRestoredState = "", false
		s.ha.mu.Lock()
		s.ha.latest[rec.ID] = p.Metadata
		s.ha.mu.Unlock()
	}
	s.ha.mu.Lock()
	s.ha.jobs[rec.ID] = rec
	s.ha.mu.Unlock()
	_, err = s.start(ctx, req, rec.ID, restore)
	return err
}

func (s *Server) readMetadata(ctx context.Context, name string) (*savepoint.Metadata, error) {
	r, err := s.backend.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return savepoint.Parse(data)
}
