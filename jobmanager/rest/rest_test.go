package rest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/artifacts"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/rest"
)

func newServer(t *testing.T) (*httptest.Server, *jobmanager.JobManager) {
	t.Helper()
	jm := jobmanager.New(jobmanager.Config{})
	t.Cleanup(func() { jm.Close() })
	store, err := artifacts.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	submit := func(ctx context.Context, req api.SubmitRequest) (string, error) {
		g, err := jobgraph.Parse(req.Graph)
		if err != nil {
			return "", err
		}
		if _, err := store.Path(req.Artifact); err != nil {
			return "", err
		}
		return jm.Submit(ctx, jobmanager.Submission{Graph: g})
	}
	h, err := rest.New(rest.Config{JobManager: jm, Artifacts: store, Submit: submit, MaxArtifactBytes: 1 << 10, MaxBodyBytes: 1 << 12})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, jm
}

func do(t *testing.T, method, url string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func validGraph(t *testing.T) []byte {
	t.Helper()
	g := &jobgraph.Graph{Version: jobgraph.FormatVersion, Name: "g", Operators: []jobgraph.Operator{
		{UID: "a", Name: "src", Kind: "source", Parallelism: 1, MaxParallelism: 128, SlotSharingGroup: "default", Chaining: jobgraph.ChainAlways},
	}}
	data, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	srv, _ := newServer(t)
	bin := []byte("#!/bin/sh\n")
	sum := sha256.Sum256(bin)
	digest := hex.EncodeToString(sum[:])
	if code, body := do(t, "PUT", srv.URL+"/v1/artifacts/"+digest, bin); code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	submit := func(req api.SubmitRequest) []byte { b, _ := json.Marshal(req); return b }
	cases := []struct {
		name, method, path string
		body               []byte
		status             int
		want               string
	}{
		{"unknown job", "GET", "/v1/jobs/nope", nil, 404, "no job"},
		{"cancel unknown job", "POST", "/v1/jobs/nope/cancel", nil, 404, "no job"},
		{"malformed body", "POST", "/v1/jobs", []byte("{not json"), 400, "malformed request body"},
		{"unknown field", "POST", "/v1/jobs", []byte(`{"graph": {}, "bogus": 1}`), 400, "unknown field"},
		{"two values", "POST", "/v1/jobs", []byte(`{} {}`), 400, "more than one JSON value"},
		{"oversized body", "POST", "/v1/jobs", bytes.Repeat([]byte(" "), 1<<13), 413, "request body over"},
		{"invalid graph", "POST", "/v1/jobs", submit(api.SubmitRequest{Graph: []byte(`{"version": 1}`), Artifact: digest}), 400, "job graph"},
		{"unknown artifact", "POST", "/v1/jobs", submit(api.SubmitRequest{Graph: validGraph(t), Artifact: strings.Repeat("0", 64)}), 400, "artifact not found"},
		{"digest mismatch", "PUT", "/v1/artifacts/" + strings.Repeat("a", 64), []byte("x"), 400, "does not match"},
		{"traversal digest", "GET", "/v1/artifacts/..%2F..%2Fetc%2Fpasswd", nil, 400, "invalid artifact digest"},
		{"artifact too large", "PUT", "/v1/artifacts/" + strings.Repeat("b", 64), bytes.Repeat([]byte("x"), 2<<10), 413, "too large"},
		{"missing artifact", "GET", "/v1/artifacts/" + strings.Repeat("c", 64), nil, 404, "upload it"},
		{"no route", "GET", "/v1/nothing", nil, 404, "no route"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, tc.method, srv.URL+tc.path, tc.body)
			var e api.Error
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body is not JSON: %q", body)
			}
			if code != tc.status || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("%d %q, want %d containing %q", code, e.Error, tc.status, tc.want)
			}
		})
	}
	// After all that the JobManager still serves, and the stored artifact
	// is intact.
	if code, body := do(t, "GET", srv.URL+"/v1/artifacts/"+digest, nil); code != 200 || body != string(bin) {
		t.Fatalf("artifact after bad requests: %d %q", code, body)
	}
	if code, _ := do(t, "GET", srv.URL+"/v1/overview", nil); code != 200 {
		t.Fatalf("overview: %d", code)
	}
}

func TestSubmitListCancel(t *testing.T) {
	srv, jm := newServer(t)
	bin := []byte("binary")
	sum := sha256.Sum256(bin)
	digest := hex.EncodeToString(sum[:])
	c, err := api.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if code, _ := do(t, "PUT", srv.URL+"/v1/artifacts/"+digest, bin); code != 201 {
		t.Fatal("upload failed")
	}
	id, err := c.Submit(ctx, api.SubmitRequest{Graph: validGraph(t), Artifact: digest})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].ID != id || jobs[0].State != "created" {
		t.Fatalf("jobs %+v, %v", jobs, err)
	}
	s, err := c.Cancel(ctx, id)
	if err != nil || s.State != "cancelled" {
		t.Fatalf("cancel: %+v, %v", s, err)
	}
	// Cancelling again is a conflict, not a crash.
	var apiErr *api.APIError
	if _, err := c.Cancel(ctx, id); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
		t.Fatalf("second cancel: %v", err)
	}
	if st, _ := jm.Status(id); st.State != jobmanager.StateCancelled {
		t.Fatalf("job is %s", st.State)
	}
}

// TestSavepointPathsCannotEscape: savepoint locations that would leave
// their directory or the backend's namespace are refused with 400 before
// anything is read or deleted.
func TestSavepointPathsCannotEscape(t *testing.T) {
	srv, _ := newServer(t)
	for _, loc := range []string{"file:///var/sluice/../../etc", "../x", "savepoints/../../x", "/etc/passwd", "file://relative/dir"} {
		body, _ := json.Marshal(api.DisposeRequest{Location: loc})
		code, out := do(t, "POST", srv.URL+"/v1/savepoints/dispose", body)
		if code != http.StatusBadRequest || !strings.Contains(out, "invalid savepoint location") {
			t.Errorf("dispose %q: %d %s", loc, code, out)
		}
	}
}
