package ha

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

var digest = strings.Repeat("ab", 32)

func TestObjectNames(t *testing.T) {
	if got := ArtifactObject(digest); got != "artifacts/"+digest {
		t.Errorf("ArtifactObject = %q", got)
	}
	if got := CheckpointMetadataObject("0f3a", 1, 17); got != "ha/0f3a/e1/chk-17/_metadata" {
		t.Errorf("CheckpointMetadataObject = %q", got)
	}
	// Both are valid state-backend names, so they can be pointer targets.
	if err := validatePointer(Pointer{Checkpoint: 1, Metadata: CheckpointMetadataObject("0f3a", 1, 1)}); err != nil {
		t.Error(err)
	}
	if err := validatePointer(Pointer{Checkpoint: 1, Metadata: ArtifactObject(digest)}); err != nil {
		t.Error(err)
	}
}

func TestKeys(t *testing.T) {
	k := newKeys("sluice", "prod")
	if k.leader != "sluice/prod/leader" || k.job("j1") != "sluice/prod/jobs/j1" || k.pointer("j1") != "sluice/prod/checkpoints/j1" {
		t.Errorf("keys = %+v", k)
	}
}

func TestLeaderRoundTrip(t *testing.T) {
	l := Leader{ID: "jm-1", REST: "10.0.0.1:8081", RPC: "jm1.example:6123"}
	b, err := encodeLeader(l)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"format":"sluice-leader/1"`) {
		t.Errorf("value %s has no format field", b)
	}
	got, err := decodeLeader(b)
	if err != nil || got != l {
		t.Errorf("decode = %+v, %v; want %+v", got, err, l)
	}
}

// TestLeaderScheme: a leader whose REST API serves TLS says so with a
// scheme, which a record without one (written before TLS) lacks: http.
func TestLeaderScheme(t *testing.T) {
	l := Leader{ID: "jm-1", REST: "10.0.0.1:8081", RPC: "10.0.0.1:6123", Scheme: "https"}
	b, err := encodeLeader(l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeLeader(b)
	if err != nil || got != l || got.RESTURL() != "https://10.0.0.1:8081" {
		t.Errorf("decode = %+v (%s), %v; want %+v", got, got.RESTURL(), err, l)
	}
	old, err := decodeLeader([]byte(`{"format":"sluice-leader/1","id":"a","rest":"h:1","rpc":"h:2"}`))
	if err != nil || old.RESTURL() != "http://h:1" {
		t.Errorf("a record without a scheme: %+v (%s), %v", old, old.RESTURL(), err)
	}
	if b, _ := encodeLeader(Leader{ID: "a", REST: "h:1", RPC: "h:2"}); strings.Contains(string(b), "scheme") {
		t.Errorf("a plain leader's record %s names a scheme", b)
	}
}

func TestDecodeLeaderRefuses(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"empty", ``, "empty value"},
		{"not JSON", `10.0.0.1:8081`, "not JSON"},
		{"array", `["a"]`, "not JSON"},
		{"no format", `{"id":"a","rest":"h:1","rpc":"h:2"}`, "no format field"},
		{"other version", `{"format":"sluice-leader/2","id":"a","rest":"h:1","rpc":"h:2"}`, "another version"},
		{"other format", `{"format":"vault-leader/1","id":"a","rest":"h:1","rpc":"h:2"}`, `format "vault-leader/1"`},
		{"format not a string", `{"format":1}`, "not JSON"},
		{"no id", `{"format":"sluice-leader/1","rest":"h:1","rpc":"h:2"}`, "id is empty"},
		{"no rest", `{"format":"sluice-leader/1","id":"a","rpc":"h:2"}`, "REST address"},
		{"no port", `{"format":"sluice-leader/1","id":"a","rest":"h","rpc":"h:2"}`, "REST address"},
		{"bad port", `{"format":"sluice-leader/1","id":"a","rest":"h:99999","rpc":"h:2"}`, "port"},
		{"no host", `{"format":"sluice-leader/1","id":"a","rest":":8081","rpc":"h:2"}`, "no host"},
		{"unspecified host", `{"format":"sluice-leader/1","id":"a","rest":"h:1","rpc":"0.0.0.0:2"}`, "unspecified"},
		{"trailing data", `{"format":"sluice-leader/1","id":"a","rest":"h:1","rpc":"h:2"} {}`, "after top-level value"},
		{"id with slash", `{"format":"sluice-leader/1","id":"a/b","rest":"h:1","rpc":"h:2"}`, "character"},
		{"bad scheme", `{"format":"sluice-leader/1","id":"a","rest":"h:1","rpc":"h:2","scheme":"ftp"}`, "scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeLeader([]byte(tc.value))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decodeLeader(%s) = %v; want an error with %q", tc.value, err, tc.want)
			}
		})
	}
}

func TestLeaderFromPair(t *testing.T) {
	value, _ := encodeLeader(Leader{ID: "a", REST: "h:1", RPC: "h:2"})
	key := "sluice/c/leader"
	if _, err := leaderFromPair(key, nil); err != ErrNoLeader {
		t.Errorf("no key: %v", err)
	}
	if _, err := leaderFromPair(key, &api.KVPair{Key: key, Value: value, ModifyIndex: 9}); err != ErrNoLeader {
		t.Errorf("released lock: %v", err)
	}
	l, err := leaderFromPair(key, &api.KVPair{Key: key, Value: value, Session: "s", ModifyIndex: 9})
	if err != nil || l.ID != "a" || l.Epoch != 9 {
		t.Errorf("held lock: %+v, %v", l, err)
	}
	_, err = leaderFromPair(key, &api.KVPair{Key: key, Value: []byte("hello"), Session: "s", ModifyIndex: 9})
	if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), key) {
		t.Errorf("foreign value: %v; want ErrForeign naming the key", err)
	}
}

func job(id string) JobRecord {
	return JobRecord{
		ID: id, Name: "wordcount", Graph: json.RawMessage(`{"tasks":[]}`), Artifact: digest,
		Args: []string{"--in", "x"}, Parallelism: 2, Submitted: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		State: "running",
	}
}

func TestJobRoundTrip(t *testing.T) {
	j := job("0f3a")
	b, err := encodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"format":"sluice-job/1"`) {
		t.Errorf("value %s has no format field", b)
	}
	got, err := decodeJob("0f3a", b)
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(got)
	jb, _ := json.Marshal(j)
	if string(gb) != string(jb) {
		t.Errorf("round trip:\n got %s\nwant %s", gb, jb)
	}
}

func TestDecodeJobRefuses(t *testing.T) {
	good, _ := encodeJob(job("j1"))
	for _, tc := range []struct{ name, id, value, want string }{
		{"other key", "j2", string(good), `under the key of job "j2"`},
		{"garbage", "j1", "\x00\x01", "not JSON"},
		{"pointer", "j1", `{"format":"sluice-pointer/1","checkpoint":1,"metadata":"m","epoch":1}`, "want \"sluice-job/1\""},
		{"newer", "j1", strings.Replace(string(good), "sluice-job/1", "sluice-job/2", 1), "another version"},
		{"no graph", "j1", `{"format":"sluice-job/1","id":"j1"}`, "no graph"},
		{"bad digest", "j1", `{"format":"sluice-job/1","id":"j1","graph":{},"artifact":"xyz"}`, "digest"},
		{"negative parallelism", "j1", `{"format":"sluice-job/1","id":"j1","graph":{},"parallelism":-1}`, "negative"},
		{"wrong type", "j1", `{"format":"sluice-job/1","id":"j1","graph":{},"args":"x"}`, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeJob(tc.id, []byte(tc.value))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decodeJob = %v; want an error with %q", err, tc.want)
			}
		})
	}
}

func TestEncodeJobRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*JobRecord)
		want string
	}{
		{"no id", func(j *JobRecord) { j.ID = "" }, "job id is empty"},
		{"id with slash", func(j *JobRecord) { j.ID = "a/b" }, "character"},
		{"dot dot", func(j *JobRecord) { j.ID = ".." }, "not allowed"},
		{"no graph", func(j *JobRecord) { j.Graph = nil }, "no graph"},
		{"bad graph", func(j *JobRecord) { j.Graph = json.RawMessage("{") }, "not valid JSON"},
		{"uppercase digest", func(j *JobRecord) { j.Artifact = strings.ToUpper(digest) }, "lowercase"},
		{"huge", func(j *JobRecord) { j.Args = []string{strings.Repeat("x", maxValue)} }, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := job("j1")
			tc.mod(&j)
			_, err := encodeJob(j)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("encodeJob = %v; want an error with %q", err, tc.want)
			}
		})
	}
	j := job("j1")
	j.Artifact = "" // jobs of the in-process cluster have no artifact
	if _, err := encodeJob(j); err != nil {
		t.Errorf("job without artifact: %v", err)
	}
}

func TestPointerRoundTrip(t *testing.T) {
	p := Pointer{Checkpoint: 7, Metadata: CheckpointMetadataObject("j1", 1, 7), Epoch: 42}
	b, err := encodePointer(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"format":"sluice-pointer/1"`) {
		t.Errorf("value %s has no format field", b)
	}
	got, err := decodePointer(b)
	if err != nil || got != p {
		t.Errorf("decode = %+v, %v; want %+v", got, err, p)
	}
	for _, tc := range []struct{ value, want string }{
		{`{"format":"sluice-pointer/1","checkpoint":0,"metadata":"m","epoch":1}`, "ids start at 1"},
		{`{"format":"sluice-pointer/1","checkpoint":1,"metadata":"../etc/passwd","epoch":1}`, "metadata object"},
		{`{"format":"sluice-pointer/1","checkpoint":1,"metadata":"m"}`, "no epoch"},
		{`{"format":"sluice-pointer/0","checkpoint":1,"metadata":"m","epoch":1}`, "another version"},
		{`{"checkpoint":1,"metadata":"m","epoch":1}`, "no format"},
	} {
		if _, err := decodePointer([]byte(tc.value)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decodePointer(%s) = %v; want an error with %q", tc.value, err, tc.want)
		}
	}
}

func TestValidAddr(t *testing.T) {
	for _, a := range []string{"127.0.0.1:1", "[::1]:8081", "jm.example.com:65535"} {
		if err := validAddr("REST", a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"", "h", ":1", "h:0", "h:x", "[::]:80", "0.0.0.0:80", "h:65536"} {
		if err := validAddr("REST", a); err == nil {
			t.Errorf("%q accepted", a)
		}
	}
}

func TestConsulConfigValidate(t *testing.T) {
	ok := ConsulConfig{Address: "127.0.0.1:8500"}.withDefaults()
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	if ok.Cluster != "default" || ok.Prefix != "sluice" || ok.ServiceName != "sluice-jobmanager" ||
		ok.LockDelay != time.Second || ok.SessionTTL != 10*time.Second || ok.CheckTTL != 2*time.Second ||
		ok.Grace != 5*time.Second || ok.StartTimeout != 30*time.Second {
		t.Errorf("defaults: %+v", ok)
	}
	for _, a := range []string{"http://127.0.0.1:8500", "https://consul.example:8501", "https://consul.example:8501/"} {
		if err := (ConsulConfig{Address: a}).withDefaults().validate(); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, tc := range []struct {
		cfg  ConsulConfig
		want string
	}{
		{ConsulConfig{}, "address is required"},
		{ConsulConfig{Address: "consul"}, `Consul address "consul"`},
		{ConsulConfig{Address: "unix:///tmp/consul.sock"}, `scheme "unix"`},
		{ConsulConfig{Address: "h:1", Cluster: "a/b"}, "cluster"},
		{ConsulConfig{Address: "h:1", Prefix: "a//b"}, "prefix"},
		{ConsulConfig{Address: "h:1", SessionTTL: time.Second}, "session TTL"},
		{ConsulConfig{Address: "h:1", LockDelay: 2 * time.Minute}, "lock delay"},
		{ConsulConfig{Address: "h:1", CheckTTL: time.Millisecond}, "check TTL"},
		{ConsulConfig{Address: "h:1", Grace: -1}, "grace"},
	} {
		err := tc.cfg.withDefaults().validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want an error with %q", tc.cfg, err, tc.want)
		}
	}
	// A prefix given with slashes around is trimmed.
	if c := (ConsulConfig{Address: "h:1", Prefix: "/teams/a/"}).withDefaults(); c.Prefix != "teams/a" || c.validate() != nil {
		t.Errorf("prefix %q", c.Prefix)
	}
}

func TestSortJobs(t *testing.T) {
	a, b, c := job("b"), job("a"), job("c")
	c.Submitted = a.Submitted.Add(-time.Hour)
	js := []JobRecord{a, b, c}
	sortJobs(js)
	if js[0].ID != "c" || js[1].ID != "a" || js[2].ID != "b" {
		t.Errorf("order %s %s %s", js[0].ID, js[1].ID, js[2].ID)
	}
}
