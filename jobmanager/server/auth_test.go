package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/auth"
	"github.com/sluicehq/sluice/jobmanager/rest"
)

const (
	mgmtToken   = "management-0123456789abcdef"
	readToken   = "reader-0123456789abcdef"
	submitToken = "submitter-0123456789abcdef"
)

// startAuthJobManager starts a JobManager with a management token and an
// ACL file of a reader and a submitter.
func startAuthJobManager(t *testing.T, extra ...string) *cluster {
	t.Helper()
	acl := filepath.Join(t.TempDir(), "acl.hcl")
	if err := os.WriteFile(acl, []byte(fmt.Sprintf(`
token "reader" {
  secret = %q
  rights = ["read"]
}
token "ci" {
  secret = %q
  rights = ["submit"]
}
`, readToken, submitToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	return startJobManager(t, append([]string{"--token", mgmtToken, "--acl-file", acl}, extra...)...)
}

// call sends one request to the JobManager's REST API with token.
func call(t *testing.T, c *cluster, method, path, token string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.rest+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEveryRouteChecksItsRight goes over every route of the REST API:
// without a token it is refused with 401, with a token that lacks its
// right with 403, each with a JSON error saying what is needed; with the
// right it gets past the check. /metrics needs read; /v1/health and the
// dashboard's files need nothing.
func TestEveryRouteChecksItsRight(t *testing.T) {
	c := startAuthJobManager(t)
	tokens := map[auth.Right]string{auth.Read: readToken, auth.Submit: submitToken, auth.Manage: mgmtToken}
	weaker := map[auth.Right]string{auth.Submit: readToken, auth.Manage: submitToken}
	fill := strings.NewReplacer("{digest}", strings.Repeat("0", 64), "{id}", "nosuchjob", "{n}", "1")
	routes := rest.Routes()
	routes = append(routes, rest.Route{Pattern: "GET /metrics", Rights: []auth.Right{auth.Read}})
	for _, rt := range routes {
		method, pattern, _ := strings.Cut(rt.Pattern, " ")
		path := fill.Replace(pattern)
		need := rt.Rights[0]
		t.Run(rt.Pattern, func(t *testing.T) {
			code, body := call(t, c, method, path, "", []byte("{}"))
			if code != http.StatusUnauthorized || method != http.MethodHead && !strings.Contains(body, "Authorization: Bearer") {
				t.Errorf("without a token: %d %s", code, body)
			}
			code, _ = call(t, c, method, path, "wrong-0123456789abcdef", []byte("{}"))
			if code != http.StatusUnauthorized {
				t.Errorf("with an unknown token: %d", code)
			}
			if tok, ok := weaker[need]; ok {
				code, body := call(t, c, method, path, tok, []byte("{}"))
				if code != http.StatusForbidden || method != http.MethodHead && !strings.Contains(body, need.String()) {
					t.Errorf("with a token lacking %s: %d %s", need, code, body)
				}
			}
			code, body = call(t, c, method, path, tokens[need], []byte("{}"))
			if code == http.StatusUnauthorized || code == http.StatusForbidden {
				t.Errorf("with a %s token: %d %s", need, code, body)
			}
		})
	}
	for _, open := range []string{"/v1/health", "/", "/ui/app.js"} {
		if code, body := call(t, c, "GET", open, "", nil); code != http.StatusOK {
			t.Errorf("GET %s without a token: %d %s", open, code, body)
		}
	}
	// Reading with a submit token works (submit includes read).
	if code, _ := call(t, c, "GET", "/v1/jobs", submitToken, nil); code != http.StatusOK {
		t.Errorf("GET /v1/jobs with a submit token: %d", code)
	}
}

// TestTokensEndToEnd runs a job with tokens on: jmctl with the submit
// token submits it, the local provider's TaskManagers register with their
// job token, a TaskManager with a wrong token is refused, and jmctl
// without a token fails with exit 3 and says how to give one.
func TestTokensEndToEnd(t *testing.T) {
	c := startAuthJobManager(t, "--slots", "2")
	output := filepath.Join(t.TempDir(), "sums")
	c.token = submitToken
	out, code := c.jmctl(t, "submit", bins.testjob, "--", "--records", "20000", "--parallelism", "2", "--output", output)
	if code != 0 {
		t.Fatalf("jmctl submit with a submit token: exit %d\n%s", code, out)
	}
	if got, want := readSums(t, output), expectedSums(20000); !maps.Equal(got, want) {
		t.Fatalf("sums differ from plain Go:\n got %v\nwant %v", got, want)
	}
	c.token = ""
	out, code = c.jmctl(t, "list")
	if code != 3 || !strings.Contains(out, "--token") {
		t.Errorf("jmctl list without a token: exit %d: %s", code, out)
	}
	c.token = readToken
	out, code = c.jmctl(t, "submit", "--detached", bins.testjob, "--", "--records", "10")
	if code != 3 || !strings.Contains(out, "submit") {
		t.Errorf("jmctl submit with a read token: exit %d: %s", code, out)
	}
	// A TaskManager started by hand with a wrong token is refused and
	// says so; with the management token it registers.
	c.token = "wrong-0123456789abcdef"
	bad := c.startTaskManager(t, "tm-bad", 1, bins.testjob, "--records", "10")
	select {
	case <-bad.done:
	case <-time.After(30 * time.Second):
		t.Fatal("a TaskManager with a wrong token kept running")
	}
	if !strings.Contains(bad.out.String(), "Unauthenticated") && !strings.Contains(bad.out.String(), "not known") {
		t.Errorf("the refused TaskManager said:\n%s", bad.out.String())
	}
	c.token = mgmtToken
	c.startTaskManager(t, "tm-good", 1, bins.testjob, "--records", "10")
	c.waitTaskManagers(t, 1)
	tms, err := c.client.TaskManagers(t.Context())
	if err != nil || len(tms) != 1 || tms[0].ID != "tm-good" {
		t.Fatalf("TaskManagers %+v (%v), want only tm-good", tms, err)
	}
}

// TestNoTokenMeansLoopbackOnly: without a token the JobManager refuses to
// listen beyond loopback, saying why and what to do; with one it serves.
func TestNoTokenMeansLoopbackOnly(t *testing.T) {
	addr := freeAddrs(t, 1)[0]
	port := addr[strings.LastIndexByte(addr, ':'):]
	p := start(t, "jobmanager", nil, bins.jobmanager, "--http-addr", "0.0.0.0"+port, "--rpc-addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("a JobManager without a token listens on 0.0.0.0")
	}
	if out := p.out.String(); !strings.Contains(out, "not a loopback address") || !strings.Contains(out, "--token") {
		t.Errorf("it said:\n%s", out)
	}
	start(t, "jobmanager", nil, bins.jobmanager, "--http-addr", "0.0.0.0"+port, "--rpc-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--token", mgmtToken)
	local := &cluster{rest: "127.0.0.1" + port}
	waitFor(t, 20*time.Second, "the JobManager with a token to serve on 0.0.0.0", func() bool {
		req, _ := http.NewRequest("GET", "http://"+local.rest+"/v1/overview", nil)
		req.Header.Set("Authorization", "Bearer "+mgmtToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var o api.Overview
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&o) == nil
	})
}
