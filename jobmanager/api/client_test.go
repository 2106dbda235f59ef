package api

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts a server for mux and a client of it.
func newServer(t *testing.T, mux *http.ServeMux) *Client {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestNewClientAddresses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"localhost:8081", "http://localhost:8081"},
		{"http://jm.service.consul:8081", "http://jm.service.consul:8081"},
		{"https://jm.example.com", "https://jm.example.com"},
		{"https://jm.example.com/sluice/", "https://jm.example.com/sluice"},
		{" [::1]:8081 ", "http://[::1]:8081"},
	} {
		c, err := NewClient(tc.in)
		if err != nil {
			t.Errorf("NewClient(%q): %v", tc.in, err)
			continue
		}
		if got := c.Addr(); got != tc.want {
			t.Errorf("NewClient(%q).Addr() = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "   ", "ftp://host:21", "http://", "http://host/?q=1", "http://user:pw@host", "http://host#frag"} {
		if _, err := NewClient(bad); err == nil {
			t.Errorf("NewClient(%q) succeeded, want an error", bad)
		}
	}
}

func TestWithHTTPClient(t *testing.T) {
	var used bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"jobs":[]}`)), Header: http.Header{}}, nil
	})}
	c, err := NewClient("jm:8081", WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Jobs(context.Background()); err != nil || !used {
		t.Fatalf("Jobs: err %v, custom client used %v", err, used)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var (
	t0      = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	summary = JobSummary{ID: "j1", Name: "wordcount", State: "running", Start: t0, Subtasks: 4, Restarts: 1}
)

func TestSubmit(t *testing.T) {
	mux := http.NewServeMux()
	var got SubmitRequest
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		writeJSON(w, http.StatusCreated, SubmitResponse{ID: "j1"})
	})
	c := newServer(t, mux)
	req := SubmitRequest{Graph: json.RawMessage(`{"version":1}`), Artifact: "ab12", Args: []string{"--top", "3"}, Parallelism: 2}
	id, err := c.Submit(context.Background(), req)
	if err != nil || id != "j1" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Errorf("server got %+v, want %+v", got, req)
	}
	if _, err := c.Submit(context.Background(), SubmitRequest{Artifact: "ab"}); err == nil {
		t.Error("Submit without a graph succeeded")
	}
	if _, err := c.Submit(context.Background(), SubmitRequest{Graph: req.Graph}); err == nil {
		t.Error("Submit without an artifact succeeded")
	}
}

func TestJobs(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, JobList{Jobs: []JobSummary{summary}})
	})
	c := newServer(t, mux)
	jobs, err := c.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || !reflect.DeepEqual(jobs[0], summary) {
		t.Errorf("Jobs = %+v", jobs)
	}
}

func TestJobEscapesID(t *testing.T) {
	mux := http.NewServeMux()
	var rawPath string
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		rawPath = r.URL.EscapedPath()
		d := JobDetail{JobSummary: summary, Attempt: 2, Tasks: []Subtask{{Task: "t", Name: "Source", Parallelism: 1, State: "running", RecordsIn: 5}}}
		d.ID = r.PathValue("id")
		writeJSON(w, 200, d)
	})
	c := newServer(t, mux)
	d, err := c.Job(context.Background(), "a/b c")
	if err != nil {
		t.Fatal(err)
	}
	if rawPath != "/v1/jobs/a%2Fb%20c" {
		t.Errorf("path %q, want the id escaped", rawPath)
	}
	if d.ID != "a/b c" || d.Attempt != 2 || len(d.Tasks) != 1 || d.Tasks[0].RecordsIn != 5 {
		t.Errorf("Job = %+v", d)
	}
	for _, bad := range []string{"", ".", ".."} {
		if _, err := c.Job(context.Background(), bad); err == nil {
			t.Errorf("Job(%q) succeeded", bad)
		}
	}
}

func TestCancel(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		s := summary
		s.ID, s.State = r.PathValue("id"), "cancelling"
		writeJSON(w, http.StatusAccepted, s)
	})
	c := newServer(t, mux)
	s, err := c.Cancel(context.Background(), "j7")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "j7" || s.State != "cancelling" {
		t.Errorf("Cancel = %+v", s)
	}
}

func TestTaskManagersAndOverview(t *testing.T) {
	tm := TaskManager{ID: "tm1", DataAddress: "10.0.0.1:6121", Slots: []Slot{{Index: 0, Job: "j1", MemoryBytes: 1 << 20}}, ManagedMemory: 1 << 21, LastHeartbeat: t0}
	ov := Overview{TaskManagers: 1, Slots: 2, FreeSlots: 1, Jobs: map[string]int{"running": 1}, Version: "v0"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/taskmanagers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, TaskManagerList{TaskManagers: []TaskManager{tm}})
	})
	mux.HandleFunc("GET /v1/overview", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, ov) })
	c := newServer(t, mux)
	tms, err := c.TaskManagers(context.Background())
	if err != nil || len(tms) != 1 || !reflect.DeepEqual(tms[0], tm) {
		t.Errorf("TaskManagers = %+v, %v", tms, err)
	}
	o, err := c.Overview(context.Background())
	if err != nil || !reflect.DeepEqual(*o, ov) {
		t.Errorf("Overview = %+v, %v", o, err)
	}
}

func TestAPIErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, Error{Error: "unknown job " + r.PathValue("id")})
	})
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusBadRequest, Error{Error: "invalid graph"})
	})
	mux.HandleFunc("GET /v1/taskmanagers", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>\nmore", http.StatusBadGateway)
	})
	mux.HandleFunc("GET /v1/overview", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"` + strings.Repeat("x", 2*MaxErrorBytes) + `"}`))
	})
	c := newServer(t, mux)
	ctx := context.Background()

	_, err := c.Job(ctx, "nope")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Message != "unknown job nope" {
		t.Fatalf("Job error = %#v", err)
	}
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreachable) {
		t.Errorf("errors.Is(%v, ErrNotFound) false", err)
	}
	if want := "job nope: JobManager answered 404 Not Found: unknown job nope"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}

	_, err = c.Submit(ctx, SubmitRequest{Graph: json.RawMessage(`{}`), Artifact: "ab"})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Message != "invalid graph" || errors.Is(err, ErrNotFound) {
		t.Errorf("Submit error = %#v", err)
	}
	_, err = c.TaskManagers(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.Message != "<html>bad gateway</html>" {
		t.Errorf("TaskManagers error = %#v", err)
	}
	// An error body over the limit is cut, so it is no JSON: the message is
	// its start, bounded.
	_, err = c.Overview(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || len(apiErr.Message) > 300 {
		t.Errorf("Overview error = %v", err)
	}
}

func TestResponseBodyBounded(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jobs":[],"pad":"`))
		_, _ = w.Write([]byte(strings.Repeat("x", MaxResponseBytes)))
		_, _ = w.Write([]byte(`"}`))
	})
	mux.HandleFunc("GET /v1/overview", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`not json`))
	})
	c := newServer(t, mux)
	if _, err := c.Jobs(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("Jobs of an oversized answer: %v", err)
	}
	if _, err := c.Overview(context.Background()); err == nil || !strings.Contains(err.Error(), "decode answer") {
		t.Errorf("Overview of garbage: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Jobs(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Jobs error = %v, want ErrUnreachable", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("an unreachable JobManager gave an APIError")
	}
	for _, want := range []string{"http://" + addr, "`jobmanager`", "--jobmanager", "SLUICE_JOBMANAGER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}
}

func TestCancelledContextIsNotUnreachable(t *testing.T) {
	mux := http.NewServeMux()
	c := newServer(t, mux)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Jobs(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnreachable) {
		t.Errorf("Jobs with a cancelled context: %v", err)
	}
}

// artifactServer is a fake artifact store that records the requests it got.
type artifactServer struct {
	mu     sync.Mutex
	stored map[string][]byte
	calls  []string // "METHOD digest"
}

func (a *artifactServer) routes(t *testing.T, mux *http.ServeMux) {
	mux.HandleFunc("HEAD /v1/artifacts/{sha}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.calls = append(a.calls, "HEAD "+r.PathValue("sha"))
		if _, ok := a.stored[r.PathValue("sha")]; !ok {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	mux.HandleFunc("PUT /v1/artifacts/{sha}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		sum := sha256.Sum256(body)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.calls = append(a.calls, "PUT "+r.PathValue("sha"))
		if hex.EncodeToString(sum[:]) != r.PathValue("sha") {
			writeJSON(w, http.StatusBadRequest, Error{Error: "digest mismatch"})
			return
		}
		if r.ContentLength != int64(len(body)) {
			t.Errorf("Content-Length %d, body %d bytes", r.ContentLength, len(body))
		}
		a.stored[r.PathValue("sha")] = body
		w.WriteHeader(http.StatusCreated)
	})
}

func TestUploadArtifact(t *testing.T) {
	store := &artifactServer{stored: map[string][]byte{}}
	mux := http.NewServeMux()
	store.routes(t, mux)
	c := newServer(t, mux)

	content := []byte(strings.Repeat("\x7fELF job binary ", 10000))
	path := filepath.Join(t.TempDir(), "job")
	if err := os.WriteFile(path, content, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])

	digest, err := c.UploadArtifact(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if digest != want {
		t.Errorf("digest %s, want %s", digest, want)
	}
	if got := string(store.stored[want]); got != string(content) {
		t.Errorf("stored %d bytes, want the file's %d", len(got), len(content))
	}
	// Uploading again only asks.
	if _, err := c.UploadArtifact(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"HEAD " + want, "PUT " + want, "HEAD " + want}
	if !reflect.DeepEqual(store.calls, wantCalls) {
		t.Errorf("calls %v, want %v", store.calls, wantCalls)
	}

	if _, err := c.UploadArtifact(context.Background(), filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("upload of a missing file: %v", err)
	}
	if _, err := c.UploadArtifact(context.Background(), t.TempDir()); err == nil {
		t.Errorf("upload of a directory succeeded")
	}
}

func TestUploadArtifactHeadError(t *testing.T) {
	mux := http.NewServeMux()
	var puts int
	mux.HandleFunc("HEAD /v1/artifacts/{sha}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	mux.HandleFunc("PUT /v1/artifacts/{sha}", func(w http.ResponseWriter, r *http.Request) { puts++ })
	c := newServer(t, mux)
	path := filepath.Join(t.TempDir(), "job")
	if err := os.WriteFile(path, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := c.UploadArtifact(context.Background(), path)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Errorf("upload with a failing HEAD: %v", err)
	}
	if puts != 0 {
		t.Errorf("PUT after a failed HEAD")
	}
}

// TestWithTLS: an https JobManager is reached with a TLS configuration
// that trusts its certificate, and refused without one.
func TestWithTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jobs":[]}`)
	}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c, err := NewClient(srv.URL, WithTLS(&tls.Config{RootCAs: roots}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.hc.CloseIdleConnections()
	if !strings.HasPrefix(c.Addr(), "https://") {
		t.Fatalf("Addr %s", c.Addr())
	}
	if _, err := c.Jobs(context.Background()); err != nil {
		t.Fatalf("Jobs over https with the server's CA: %v", err)
	}
	plain, _ := NewClient(srv.URL)
	defer plain.hc.CloseIdleConnections()
	if _, err := plain.Jobs(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Jobs over https without the server's CA: %v", err)
	}
}
