package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/jobmanager/api"
)

// TestCompletion checks the shell scripts and that JOB arguments complete
// with the JobManager's job ids, running ones only where only those make
// sense, and that an unreachable JobManager completes nothing, silently.
func TestCompletion(t *testing.T) {
	addr := fixtureAPI(t)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		e := newTestEnv(nil)
		if code := e.run("completion", shell); code != exitOK || !strings.Contains(e.out.String(), "jmctl") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, e.out.Len())
		}
	}
	e := newTestEnv(map[string]string{jobManagerEnv: addr})
	if code := e.run("__complete", "info", ""); code != exitOK {
		t.Fatalf("__complete info: exit %d: %s", code, e.err.String())
	}
	if !strings.Contains(e.out.String(), "7f3a9c01\t") {
		t.Errorf("info completes with\n%s\nwant the fixture's job ids", e.out.String())
	}
	e = newTestEnv(map[string]string{jobManagerEnv: "127.0.0.1:1"})
	if code := e.run("__complete", "cancel", ""); code != exitOK || strings.Contains(e.out.String(), "\t") || strings.Contains(e.err.String(), "jmctl:") {
		t.Errorf("completion with no JobManager: exit %d, out %q, err %q", code, e.out.String(), e.err.String())
	}
}

// TestCancelWait follows a cancelled job through cancelling to cancelled.
func TestCancelWait(t *testing.T) {
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(api.JobSummary{ID: r.PathValue("id"), State: "cancelling"})
	})
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		st := "cancelling"
		if polls.Add(1) > 2 {
			st = "cancelled"
		}
		_ = json.NewEncoder(w).Encode(api.JobDetail{JobSummary: api.JobSummary{ID: r.PathValue("id"), State: st}})
	})
	addr := newAPI(t, mux)
	e := newTestEnv(map[string]string{jobManagerEnv: addr})
	if code := e.run("cancel", "--wait", "j1"); code != exitOK {
		t.Fatalf("cancel --wait: exit %d: %s", code, e.err.String())
	}
	if got, want := e.out.String(), "job j1: cancelling\njob j1: cancelled\n"; got != want {
		t.Errorf("cancel --wait printed %q, want %q", got, want)
	}
	e = newTestEnv(map[string]string{jobManagerEnv: addr})
	polls.Store(-1000)
	if code := e.run("cancel", "--wait", "--timeout", "300ms", "j1"); code != exitFailed || !strings.Contains(e.err.String(), "still cancelling after 300ms") {
		t.Errorf("cancel --wait past its timeout: exit %d, stderr %q", code, e.err.String())
	}
}
