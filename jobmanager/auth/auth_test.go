package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	readSecret   = "read-0123456789abcdef"
	submitSecret = "submit-0123456789abcdef"
	manageSecret = "manage-0123456789abcdef"
	tmSecret     = "tm-0123456789abcdef"
)

func newTestAuthorizer(t *testing.T, anonymousRead bool) *Authorizer {
	t.Helper()
	a, err := New(Config{AnonymousRead: anonymousRead, Tokens: []Token{
		{Name: "reader", Secret: readSecret, Rights: []Right{Read}},
		{Name: "ci", Secret: submitSecret, Rights: []Right{Submit}},
		{Name: "ops", Secret: manageSecret, Rights: []Right{Manage}},
		{Name: "tms", Secret: tmSecret, Rights: []Right{TaskManager}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCheckRights(t *testing.T) {
	a := newTestAuthorizer(t, false)
	secrets := map[string]string{"": "", "reader": readSecret, "ci": submitSecret, "ops": manageSecret, "tms": tmSecret, "stranger": "x-0123456789abcdef"}
	allowed := map[string][]Right{
		"":         nil,
		"reader":   {Read},
		"ci":       {Read, Submit},
		"ops":      {Read, Submit, Manage},
		"tms":      {TaskManager},
		"stranger": nil,
	}
	for who, secret := range secrets {
		for _, need := range []Right{Read, Submit, Manage, TaskManager} {
			_, err := a.Check(secret, need)
			want := false
			for _, r := range allowed[who] {
				want = want || r == need
			}
			if (err == nil) != want {
				t.Errorf("%s needing %s: %v, want allowed=%v", who, need, err, want)
			}
			switch {
			case err == nil:
			case who == "" || who == "stranger":
				if !errors.Is(err, ErrUnauthenticated) {
					t.Errorf("%s needing %s: %v, want ErrUnauthenticated", who, need, err)
				}
			case !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), need.String()):
				t.Errorf("%s needing %s: %v, want ErrForbidden naming the right", who, need, err)
			}
		}
	}
	open := newTestAuthorizer(t, true)
	if _, err := open.Check("", Read); err != nil {
		t.Errorf("anonymous read with AnonymousRead: %v", err)
	}
	if _, err := open.Check("", Submit); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("anonymous submit with AnonymousRead: %v", err)
	}
}

func TestDisabledAllowsEverything(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Enabled() {
		t.Fatal("enabled without tokens")
	}
	if _, err := a.Check("", Manage); err != nil {
		t.Fatal(err)
	}
}

func TestJobToken(t *testing.T) {
	a := newTestAuthorizer(t, false)
	tok := a.JobToken("job-1")
	if name, err := a.Check(tok, TaskManager); err != nil || !strings.Contains(name, "job-1") {
		t.Fatalf("job token: %q, %v", name, err)
	}
	if _, err := a.Check(tok, Read); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a job token may read: %v", err)
	}
	// Another JobManager of the cluster (same configuration) accepts it.
	if _, err := newTestAuthorizer(t, false).Check(tok, TaskManager); err != nil {
		t.Fatalf("a JobManager with the same tokens refuses it: %v", err)
	}
	// One with other secrets, or a forged MAC, does not.
	other, _ := New(Config{Tokens: []Token{{Name: "x", Secret: "other-0123456789abcdef", Rights: []Right{Manage}}}})
	for _, bad := range []string{tok[:len(tok)-2] + "00", strings.Replace(tok, "job-1", "job-2", 1), "sjt1.", "sjt1.x.zz"} {
		if _, err := a.Check(bad, TaskManager); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("forged %q: %v", bad, err)
		}
	}
	if _, err := other.Check(tok, TaskManager); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("another cluster accepts the token: %v", err)
	}
	off, _ := New(Config{})
	if off.JobToken("j") != "" {
		t.Error("a job token without authentication")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		tokens []Token
		want   string
	}{
		{[]Token{{Name: "a", Secret: "short", Rights: []Right{Read}}}, "at least 16"},
		{[]Token{{Secret: readSecret, Rights: []Right{Read}}}, "no name"},
		{[]Token{{Name: "a", Secret: readSecret}}, "no rights"},
		{[]Token{{Name: "a", Secret: readSecret, Rights: []Right{Read}}, {Name: "a", Secret: manageSecret, Rights: []Right{Read}}}, "two tokens"},
		{[]Token{{Name: "a", Secret: readSecret, Rights: []Right{Read}}, {Name: "b", Secret: readSecret, Rights: []Right{Read}}}, "same secret"},
	} {
		if _, err := New(Config{Tokens: tt.tokens}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.tokens, err, tt.want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "ops.token")
	if err := os.WriteFile(secretFile, []byte(manageSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "acl.hcl")
	if err := os.WriteFile(good, []byte(`
anonymous_read = true
token "ci" {
  secret = "`+submitSecret+`"
  rights = ["submit"]
}
token "ops" {
  secret_file = "`+secretFile+`"
  rights = ["manage", "taskmanager"]
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := LoadFile(good, &cfg); err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check("", Read); err != nil {
		t.Error(err)
	}
	if name, err := a.Check(manageSecret, TaskManager); err != nil || name != "ops" {
		t.Errorf("ops from secret_file: %q %v", name, err)
	}
	bad := filepath.Join(dir, "bad.hcl")
	for content, want := range map[string]string{
		`token "x" { rights = ["read"] }`:                                       "no secret",
		"token \"x\" {\n secret = \"s\"\n rights = [\"admin\"]\n}":              "unknown right \"admin\"",
		`token "x" { secret = "s" rights = ["read"] extra = 1 }`:                "bad.hcl:1",
		"token \"x\" {\n secret = \"s\"\n secret_file = \"f\"\n rights = []\n}": "both secret and secret_file",
	} {
		if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var cfg Config
		if err := LoadFile(bad, &cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadFile(%s) = %v, want %q", content, err, want)
		}
	}
}

func TestRequire(t *testing.T) {
	a := newTestAuthorizer(t, false)
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), Submit)
	for secret, want := range map[string]int{"": 401, "nope-0123456789abcdef": 401, readSecret: 403, submitSecret: 204, manageSecret: 204} {
		req := httptest.NewRequest("POST", "/v1/jobs", nil)
		if secret != "" {
			req.Header.Set(Header, "Bearer "+secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("token %q: %d, want %d", secret, w.Code, want)
		}
		if want >= 400 && !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("token %q: body %q is no JSON error", secret, w.Body.String())
		}
	}
}

func TestGRPCCheck(t *testing.T) {
	a := newTestAuthorizer(t, false)
	in := func(tok string) context.Context {
		md := metadata.Pairs()
		if tok != "" {
			md = metadata.Pairs(metadataKey, "Bearer "+tok)
		}
		return metadata.NewIncomingContext(context.Background(), md)
	}
	if err := a.checkContext(in(tmSecret), TaskManager); err != nil {
		t.Error(err)
	}
	if err := a.checkContext(in(""), TaskManager); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	if err := a.checkContext(in(submitSecret), TaskManager); status.Code(err) != codes.PermissionDenied {
		t.Errorf("submit token registering: %v", err)
	}
	md, err := Bearer(tmSecret).GetRequestMetadata(context.Background())
	if got := md[metadataKey]; err != nil || got != "Bearer "+tmSecret {
		t.Errorf("Bearer metadata %q (%v)", got, err)
	}
}
