package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/api"
)

// fixtureAPI is a fake JobManager that answers with the JSON files under
// testdata/api, and 404 for any job but 7f3a9c01.
func fixtureAPI(t *testing.T) string {
	t.Helper()
	serve := func(file string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			data, err := os.ReadFile(filepath.Join("testdata", "api", file))
			if err != nil {
				t.Error(err)
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(data)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", serve("jobs.json"))
	mux.HandleFunc("GET /v1/taskmanagers", serve("taskmanagers.json"))
	mux.HandleFunc("GET /v1/overview", serve("overview.json"))
	job := serve("job.json")
	mux.HandleFunc("GET /v1/jobs/7f3a9c01/checkpoints", serve("checkpoints.json"))
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "7f3a9c01" {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(api.Error{Error: "unknown job " + r.PathValue("id")})
			return
		}
		job(w, r)
	})
	return newAPI(t, mux)
}

// checkGolden compares got with testdata/name.golden, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	addr := fixtureAPI(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"list", []string{"list"}},
		{"list_json", []string{"list", "--json"}},
		{"info", []string{"info", "7f3a9c01"}},
		{"info_json", []string{"-json", "info", "7f3a9c01"}},
		{"taskmanagers", []string{"taskmanagers"}},
		{"taskmanagers_json", []string{"taskmanagers", "-json"}},
		{"checkpoints", []string{"checkpoints", "7f3a9c01"}},
		{"checkpoints_json", []string{"checkpoints", "-json", "7f3a9c01"}},
		{"overview", []string{"overview"}},
		{"overview_json", []string{"overview", "--json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			e := newTestEnv(map[string]string{jobManagerEnv: addr})
			if code := e.run(tc.args...); code != exitOK {
				t.Fatalf("jmctl %s: exit %d, stderr %q", strings.Join(tc.args, " "), code, e.err.String())
			}
			if e.err.Len() > 0 {
				t.Errorf("stderr: %q", e.err.String())
			}
			checkGolden(t, tc.golden, e.out.String())
			if strings.HasSuffix(tc.golden, "_json") && !json.Valid(e.out.Bytes()) {
				t.Errorf("-json output is not JSON")
			}
		})
	}
}

// TestJSONMatchesAPI checks that -json prints what the API sent, field for
// field.
func TestJSONMatchesAPI(t *testing.T) {
	addr := fixtureAPI(t)
	for file, args := range map[string][]string{
		"jobs.json":         {"list", "--json"},
		"job.json":          {"info", "--json", "7f3a9c01"},
		"taskmanagers.json": {"taskmanagers", "--json"},
		"checkpoints.json":  {"checkpoints", "--json", "7f3a9c01"},
		"overview.json":     {"overview", "--json"},
	} {
		e := newTestEnv(nil)
		if code := e.run(append(args, "--jobmanager", addr)...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, e.err.String())
		}
		raw, err := os.ReadFile(filepath.Join("testdata", "api", file))
		if err != nil {
			t.Fatal(err)
		}
		var want, got any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(e.out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if !jsonEqual(want, got) {
			t.Errorf("%v printed\n%s\nwhich differs from the API's %s", args, e.out.String(), raw)
		}
	}
}

// jsonEqual compares decoded JSON, treating "" and absent the same (the
// API omits empty optional fields) and times by their instant.
func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(normalizeJSON(a))
	jb, _ := json.Marshal(normalizeJSON(b))
	return string(ja) == string(jb)
}

func normalizeJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if s, ok := x.(string); ok && s == "" {
				continue
			}
			out[k] = normalizeJSON(x)
		}
		return out
	case []any:
		for i := range v {
			v[i] = normalizeJSON(v[i])
		}
		return v
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
		}
		return v
	default:
		return v
	}
}

func TestEmptyTables(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"jobs":null}`)) })
	mux.HandleFunc("GET /v1/taskmanagers", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"taskmanagers":[]}`)) })
	addr := newAPI(t, mux)
	for args, want := range map[string]string{
		"list":                "no jobs; submit one with `jmctl submit BINARY`\n",
		"list --json":         "{\n  \"jobs\": []\n}\n",
		"taskmanagers":        "no TaskManagers registered; start one with `taskmanager`\n",
		"taskmanagers --json": "{\n  \"taskmanagers\": []\n}\n",
	} {
		e := newTestEnv(nil)
		if code := e.run(append(strings.Fields(args), "--jobmanager", addr)...); code != exitOK {
			t.Errorf("%s: exit %d", args, code)
		}
		if e.out.String() != want {
			t.Errorf("%s printed %q, want %q", args, e.out.String(), want)
		}
	}
}
