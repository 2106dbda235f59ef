package s3store

import (
	"context"
	"errors"
	"maps"
	"net"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/plugins"
)

// TestConfigureErrors checks each kind of bad setting fails Configure with
// ErrSettings and a message that says what is wrong and what to do.
func TestConfigureErrors(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "exists")
	good := map[string]string{
		SettingBucket: "exists", SettingEndpoint: srv.Endpoint, SettingPathStyle: "true",
		SettingAccessKeyID: srv.AccessKey, SettingSecretAccessKey: srv.SecretKey,
	}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(good)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	closed := closedEndpoint(t)

	for _, tc := range []struct {
		name     string
		settings map[string]string
		mention  []string
	}{
		{"unknown setting", with("buckets", "x", "colour", "blue"), []string{`"buckets"`, `"colour"`, "unknown"}},
		{"no bucket", with(SettingBucket, ""), []string{`"bucket"`, "required"}},
		{"missing bucket", with(SettingBucket, "no-such-bucket"), []string{`"no-such-bucket"`, "does not exist", srv.Endpoint, "create it"}},
		{"wrong secret", with(SettingSecretAccessKey, "wrong"), []string{"secret access key does not match", `"secret_access_key"`}},
		{"unknown access key", with(SettingAccessKeyID, "nobody"), []string{"does not know the access key id", `"access_key_id"`}},
		{"unreachable endpoint", with(SettingEndpoint, closed), []string{"cannot reach " + closed, "endpoint", "running"}},
		{"endpoint without scheme", with(SettingEndpoint, "127.0.0.1:9000"), []string{`"endpoint"`, "http://"}},
		{"bad path_style", with(SettingPathStyle, "yes please"), []string{`"path_style"`, "true or false"}},
		{"half the credentials", with(SettingSecretAccessKey, ""), []string{`"access_key_id"`, `"secret_access_key"`, "both"}},
		{"token without keys", with(SettingAccessKeyID, "", SettingSecretAccessKey, "", SettingSessionToken, "t"), []string{`"session_token"`}},
		{"bad prefix", with(SettingPrefix, "a/../b"), []string{`"prefix"`}},
		{"long prefix", with(SettingPrefix, strings.Repeat("p", 513)), []string{`"prefix"`, "513 bytes", "512"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New().Configure(context.Background(), tc.settings)
			if !errors.Is(err, plugins.ErrSettings) {
				t.Fatalf("Configure: %v, want ErrSettings", err)
			}
			mustContain(t, err, tc.mention...)
			t.Log(err)
		})
	}

	t.Run("good", func(t *testing.T) {
		s := New()
		if err := s.Configure(context.Background(), with(SettingPrefix, "/a/b/", SettingRegion, "us-east-1")); err != nil {
			t.Fatal(err)
		}
		if tg := s.target.Load(); tg.prefix != "a/b" || tg.key("x") != "a/b/x" {
			t.Fatalf("prefix %q, key %q", tg.prefix, tg.key("x"))
		}
	})
}

// TestConfigureFromEnvironment uses the default AWS credential chain.
func TestConfigureFromEnvironment(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "envbucket")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	s := New()
	err := s.Configure(context.Background(), map[string]string{
		SettingBucket: "envbucket", SettingEndpoint: srv.Endpoint, SettingPathStyle: "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
}

// closedEndpoint is the URL of a loopback port nothing listens on.
func closedEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}
