package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/jobmanager/api"
)

// checkError checks that stderr is exactly one line starting with "jmctl: "
// and containing every string of want.
func checkError(t *testing.T, e *testEnv, want ...string) {
	t.Helper()
	msg := e.err.String()
	if !strings.HasPrefix(msg, "jmctl: ") || !strings.HasSuffix(msg, "\n") || strings.Count(msg, "\n") != 1 {
		t.Errorf("stderr %q is not one line starting with \"jmctl: \"", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("stderr %q does not contain %q", msg, w)
		}
	}
}

func TestUnknownJob(t *testing.T) {
	addr := fixtureAPI(t)
	for _, cmd := range []string{"info", "cancel"} {
		e := newTestEnv(map[string]string{jobManagerEnv: addr})
		if code := e.run(cmd, "nope"); code != exitAPI {
			t.Errorf("%s of an unknown job: exit %d, want %d", cmd, code, exitAPI)
		}
		if want := "jmctl: no job nope; list jobs with `jmctl list`\n"; e.err.String() != want {
			t.Errorf("%s: stderr %q, want %q", cmd, e.err.String(), want)
		}
	}
}

func TestServerError(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(api.Error{Error: "store unavailable\nretry later"})
	})
	e := newTestEnv(nil)
	if code := e.run("list", "--jobmanager", newAPI(t, mux)); code != exitAPI {
		t.Errorf("exit %d, want %d", code, exitAPI)
	}
	checkError(t, e, "500 Internal Server Error", "store unavailable; retry later")
}

// deadAddr returns an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUnreachable(t *testing.T) {
	addr := deadAddr(t)
	for _, args := range [][]string{{"list"}, {"info", "x"}, {"cancel", "x"}, {"taskmanagers"}} {
		e := newTestEnv(map[string]string{jobManagerEnv: addr})
		if code := e.run(args...); code != exitUnreachable {
			t.Errorf("%v: exit %d, want %d", args, code, exitUnreachable)
		}
		checkError(t, e, "unreachable", addr, "`jobmanager`", "--jobmanager")
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "notexec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := deadAddr(t) // no command may get as far as the JobManager
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"submit", filepath.Join(dir, "missing")}, []string{"missing does not exist", "build it"}},
		{[]string{"submit", notExec}, []string{"notexec is not executable", "chmod +x"}},
		{[]string{"submit", dir}, []string{"is a directory"}},
		{[]string{"submit"}, []string{"submit needs the path of a job binary"}},
		{[]string{"submit", "--parallelism", "0", notExec}, []string{"--parallelism 0"}},
		{[]string{"submit", "--json", notExec}, []string{"--json needs --detached"}},
		{[]string{"info"}, []string{"info takes 1 argument(s), got 0"}},
		{[]string{"list", "extra"}, []string{"list takes 0 argument(s)"}},
		{[]string{"list", "--bogus"}, []string{"unknown flag: --bogus", "jmctl list --help"}},
		{[]string{"submit", "--parallelism", "many", notExec}, []string{"invalid argument \"many\""}},
		{[]string{"lsit"}, []string{`unknown command "lsit"`, `did you mean "list"?`}},
		{[]string{"list", "--jobmanager", "ftp://x"}, []string{"--jobmanager", "ftp"}},
	} {
		e := newTestEnv(map[string]string{jobManagerEnv: addr})
		if code := e.run(tc.args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, exitUsage, e.err.String())
		}
		checkError(t, e, tc.want...)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-help"}, {}, {"help", "submit"}, {"list", "-h"}, {"info", "--help"}, {"cancel", "--help"}, {"taskmanagers", "--help"}, {"submit", "--help"}} {
		e := newTestEnv(nil)
		if code := e.run(args...); code != exitOK {
			t.Errorf("%v: exit %d", args, code)
		}
		if !strings.Contains(e.out.String(), "Usage:") || !strings.Contains(e.out.String(), "Example") {
			t.Errorf("%v printed no usage with examples:\n%s", args, e.out.String())
		}
	}
	e := newTestEnv(nil)
	e.run("--help")
	for _, code := range []string{"0  success", "1  the job failed", "2  usage error", "3  the JobManager answered", "4  the JobManager is unreachable"} {
		if !strings.Contains(e.out.String(), code) {
			t.Errorf("root help does not document exit code %q", code)
		}
	}
}

func TestJobManagerAddress(t *testing.T) {
	// The flag wins over the environment, which wins over the default.
	addr := fixtureAPI(t)
	e := newTestEnv(map[string]string{jobManagerEnv: deadAddr(t)})
	if code := e.run("list", "--jobmanager", addr); code != exitOK {
		t.Errorf("--jobmanager did not override %s: exit %d %s", jobManagerEnv, code, e.err.String())
	}
	e = newTestEnv(nil)
	e.run("list", "--help")
	if !strings.Contains(e.out.String(), `(default "127.0.0.1:8081")`) {
		t.Errorf("default address not shown in help:\n%s", e.out.String())
	}
}

func TestCancel(t *testing.T) {
	var cancelled string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		cancelled = r.PathValue("id")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(api.JobSummary{ID: cancelled, Name: "wc", State: "cancelling", Start: testNow})
	})
	addr := newAPI(t, mux)
	e := newTestEnv(map[string]string{jobManagerEnv: addr})
	if code := e.run("cancel", "j1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if cancelled != "j1" || e.out.String() != "job j1: cancelling\n" {
		t.Errorf("cancelled %q, printed %q", cancelled, e.out.String())
	}
	e = newTestEnv(map[string]string{jobManagerEnv: addr})
	if code := e.run("cancel", "j2", "-json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	var s api.JobSummary
	if err := json.Unmarshal(e.out.Bytes(), &s); err != nil || s.State != "cancelling" {
		t.Errorf("cancel --json printed %q (%v)", e.out.String(), err)
	}
}
