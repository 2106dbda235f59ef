package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/artifacts"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/jobmanager/rest"
)

// FuzzRequests sends arbitrary methods, paths and bodies to the REST API's
// handler, as any client could: every answer must be a JSON error or a
// success, never a panic or a 5xx, and the API must keep answering.
func FuzzRequests(f *testing.F) {
	jm := jobmanager.New(jobmanager.Config{Snapshots: memstore.New()})
	defer jm.Close()
	store, err := artifacts.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
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
		f.Fatal(err)
	}
	sub, _ := json.Marshal(api.SubmitRequest{Graph: []byte(`{"version":1,"name":"g","operators":[]}`), Artifact: strings.Repeat("0", 64), Parallelism: 2})
	f.Add("POST", "/v1/jobs", sub)
	f.Add("POST", "/v1/jobs", []byte(`{"graph": {}, "bogus": 1}`))
	f.Add("POST", "/v1/jobs/x/savepoints", []byte(`{"target":"file:///../../etc"}`))
	f.Add("POST", "/v1/jobs/x/stop", []byte(`{"target":"savepoints/../x"}`))
	f.Add("POST", "/v1/savepoints/dispose", []byte(`{"location":"/etc/passwd"}`))
	f.Add("PUT", "/v1/artifacts/"+strings.Repeat("a", 64), []byte("x"))
	f.Add("GET", "/v1/artifacts/..%2F..%2Fetc%2Fpasswd", []byte(nil))
	f.Add("GET", "/v1/jobs/x/savepoints/-1", []byte(nil))
	f.Add("DELETE", "/v1/jobs", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n#?") || method == "" || strings.ContainsAny(method, " \t\r\n/") {
			return // not an HTTP request line a server would parse
		}
		req, err := http.NewRequest(method, "http://jm"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s answered %d: %s", method, path, w.Code, w.Body.String())
		}
		if w.Code >= 400 && method != http.MethodHead && strings.HasPrefix(path, "/v1/") {
			var e api.Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s answered %d with a body that is no JSON error: %q", method, path, w.Code, w.Body.String())
			}
		}
		w = httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/overview", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("the API stopped answering: overview %d", w.Code)
		}
	})
}
