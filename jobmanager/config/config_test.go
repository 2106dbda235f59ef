package config

import (
	"flag"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/jobmanager/server"
	"github.com/sluicehq/sluice/nomad"
)

func TestExampleFile(t *testing.T) {
	f, err := Load("testdata/example.hcl")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	want := server.DefaultConfig()
	want.HTTPAddr, want.RPCAddr, want.DataDir = "0.0.0.0:8081", "0.0.0.0:6123", "/var/lib/sluice"
	want.Provider, want.SlotsPerTaskManager, want.TaskManagerMemory = "nomad", 4, 2<<30
	want.SlotTimeout, want.HeartbeatInterval, want.HeartbeatTimeout = 2*time.Minute, time.Second, 5*time.Second
	want.Restart = restart.Config{Kind: restart.FixedDelay, Attempts: 3, Delay: time.Second}
	want.StateBackend = "s3"
	want.StateBackendSettings = map[string]string{"bucket": "sluice", "prefix": "prod", "region": "eu-west-1"}
	want.Consul, want.Cluster = "127.0.0.1:8500", "prod"
	want.Nomad = nomad.ProviderConfig{
		Address: "http://127.0.0.1:4646", Datacenters: []string{"dc1"}, Driver: "raw_exec",
		Constraints: []nomad.Constraint{{Attribute: "${attr.kernel.name}", Operator: "=", Value: "linux"}},
		CPUPerSlot:  nomad.DefaultCPUPerSlot, MemoryOverheadMB: nomad.DefaultMemoryOverhead,
	}
	c.Logger, want.Logger = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config from the example:\n got %+v\nwant %+v", c, want)
	}
}

// TestDefaults checks that Defaults, which the reference and --help show,
// are the defaults the JobManager runs with.
func TestDefaults(t *testing.T) {
	fromDefaults, err := Defaults().Config()
	if err != nil {
		t.Fatal(err)
	}
	fromNothing, err := File{}.Config()
	if err != nil {
		t.Fatal(err)
	}
	fromDefaults.Logger, fromNothing.Logger = nil, nil
	// Fields the defaults spell out but an empty file leaves to the
	// server and the provider (which read zero as the same default).
	fromDefaults.Nomad.Address, fromDefaults.Nomad.Datacenters = "", nil
	fromDefaults.Cluster = ""
	if fromDefaults.MaxArtifactBytes != 1<<30 {
		t.Errorf("default max_artifact_size %d, want the REST API's 1GiB", fromDefaults.MaxArtifactBytes)
	}
	fromDefaults.MaxArtifactBytes = 0 // the REST API's default for zero
	if d := restart.DefaultConfig(); fromNothing.Restart != d {
		t.Errorf("restart of an empty file: %+v, want %+v", fromNothing.Restart, d)
	}
	fromDefaults.Restart = fromNothing.Restart // the rest are the kinds' defaults for zero
	if fromDefaults.StateBackendSettings != nil {
		t.Errorf("default settings %v", fromDefaults.StateBackendSettings)
	}
	if !reflect.DeepEqual(fromDefaults, fromNothing) {
		t.Errorf("Defaults().Config() differs from an empty file's:\n got %+v\nwant %+v", fromDefaults, fromNothing)
	}
	if fromNothing.HTTPAddr != server.DefaultConfig().HTTPAddr || fromNothing.TaskManagerMemory != 1<<30 {
		t.Errorf("an empty file does not give server.DefaultConfig: %+v", fromNothing)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings of the error
	}{
		{"unknown setting", "http_addr = \"x:1\"\nslot = 4\n",
			[]string{`jm.hcl:2,1: Unknown setting "slot" at the top level`, `did you mean "slots"?`, "known here: advertise_host,", "restart { }"}},
		{"unknown setting in a block", "restart {\n  attempt = 3\n}\n",
			[]string{`jm.hcl:2,3: Unknown setting "attempt" in the restart block`, `did you mean "attempts"?`, "known here: attempts, delay,"}},
		{"unknown block", "consol {\n}\n",
			[]string{`jm.hcl:1,1: Unknown block "consol" at the top level`, `did you mean "consul"?`}},
		{"unknown without suggestion", "zzzzzzzz = 1\n", []string{`Unknown setting "zzzzzzzz"`, "known here:"}},
		{"block written as an attribute", "heartbeat = { interval = \"1s\" }\n",
			[]string{"jm.hcl:1,1: heartbeat is a block", `write it without "="`}},
		{"attribute written as a block", "slots {\n}\n", []string{"jm.hcl:1,1: slots is not a block", `write it with "=": slots = 4`}},
		{"wrong type", "slots = \"four\"\n",
			[]string{"jm.hcl:1,10: Invalid value for slots", "a number is required", "slots takes a whole number"}},
		{"list instead of string", "data_dir = [\"a\"]\n", []string{"jm.hcl:1,12: Invalid value for data_dir", "data_dir takes a string"}},
		{"bad duration", "slot_timeout = \"2x\"\n",
			[]string{`jm.hcl:1,16: Invalid value for slot_timeout; "2x" is not a duration; use Go's syntax, e.g. "500ms"`}},
		{"duration without a unit", "heartbeat {\n  timeout = 30\n}\n",
			[]string{`jm.hcl:2,13: Invalid value for heartbeat.timeout; "30": a duration needs a unit; write e.g. "30s"`}},
		{"negative duration", "slot_timeout = \"-1s\"\n", []string{`Invalid value for slot_timeout; "-1s" is negative`}},
		{"bad size unit", "taskmanager_memory = \"2 gigs\"\n",
			[]string{`jm.hcl:1,22: Invalid value for taskmanager_memory; "2 gigs": unknown unit "gigs"; use B, KB,`, "KiB, MiB, GiB or TiB"}},
		{"negative number", "slots = -2\n", []string{"jm.hcl:1,9: Invalid value for slots; -2 is negative"}},
		{"unknown provider", "provider = \"kubernetes\"\n",
			[]string{`jm.hcl:1,12: Invalid value for provider; "kubernetes" is not one of "local", "standalone" or "nomad"`}},
		{"unknown restart strategy", "restart {\n  strategy = \"sometimes\"\n}\n",
			[]string{`jm.hcl:2,14: Invalid value for restart.strategy; unknown restart strategy "sometimes"; want fixed-delay,`}},
		{"restart delays", "restart {\n  strategy = \"exponential-delay\"\n  initial_delay = \"10s\"\n  max_delay = \"1s\"\n}\n",
			[]string{"jm.hcl:1,1: Invalid restart block; max_delay (1s) is below initial_delay (10s)"}},
		{"jitter", "restart {\n  jitter = 2\n}\n", []string{"Invalid value for restart.jitter; 2 is outside [0, 1]"}},
		{"log level", "log_level = \"loud\"\n", []string{`Invalid value for log_level; "loud" is not a log level; use debug, info, warn or error`}},
		{"log format", "log_format = \"xml\"\n", []string{`jm.hcl:1,14: Invalid value for log_format; "xml" is not one of "text" or "json"`}},
		{"nomad driver", "nomad {\n  driver = \"podman\"\n}\n", []string{`jm.hcl:2,12: Invalid value for nomad.driver; "podman" is not one of "raw_exec", "exec" or "docker"`}},
		{"empty constraint", "nomad {\n  constraint {\n    value = \"linux\"\n  }\n}\n", []string{"Invalid value for nomad.constraint; a constraint needs an attribute and an operator"}},
		{"duplicate block", "heartbeat {\n}\nheartbeat {\n}\n", []string{"jm.hcl:3,1: Duplicate heartbeat block"}},
		{"state backend without name", "state_backend {\n}\n", []string{"jm.hcl:1,15: Missing name for state_backend"}},
		{"syntax error", "slots = 4\nhttp_addr = \n", []string{"jm.hcl:2,"}},
		{"variables", "data_dir = \"${HOME}/sluice\"\n", []string{"jm.hcl:1,15: Invalid value for data_dir; Variables may not be used here"}},
		{"several problems at once", "slot = 4\nslot_timeout = \"2x\"\nprovider = \"k8s\"\n",
			[]string{"jm.hcl:1,1: Unknown setting \"slot\"", "\njm.hcl:2,16: Invalid value for slot_timeout", "\njm.hcl:3,12: Invalid value for provider"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "jm.hcl")
			if err == nil {
				t.Fatalf("no error for:\n%s", tt.src)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error is a %T, want *Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%s", w, err)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if err == nil || !strings.Contains(err.Error(), "nope.hcl") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("error %v, want one naming the missing file", err)
	}
}

// TestLoadOrder: files merge in order, a directory's *.hcl files in name
// order, block by block and setting by setting.
func TestLoadOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := write("base.hcl", "slots = 2\nrestart {\n  strategy = \"failure-rate\"\n  max_failures = 5\n}\nstate_backend \"s3\" {\n  settings = { bucket = \"a\", region = \"r\" }\n}\n")
	write("conf.d/20-late.hcl", "slots = 8\n")
	write("conf.d/10-early.hcl", "slots = 6\nrestart {\n  interval = \"5m\"\n}\n")
	write("conf.d/notes.txt", "not = hcl at all {")
	write("conf.d/30-settings.hcl", "state_backend \"s3\" {\n  settings = { bucket = \"b\" }\n}\n")
	f, err := Load(base, filepath.Join(dir, "conf.d"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.SlotsPerTaskManager != 8 {
		t.Errorf("slots %d, want 8 (the last file in name order)", c.SlotsPerTaskManager)
	}
	if c.Restart.Kind != restart.FailureRate || c.Restart.MaxFailures != 5 || c.Restart.Interval != 5*time.Minute {
		t.Errorf("restart %+v, want failure-rate, 5 failures per 5m (merged from two files)", c.Restart)
	}
	if want := map[string]string{"bucket": "b", "region": "r"}; !maps.Equal(c.StateBackendSettings, want) {
		t.Errorf("settings %v, want %v", c.StateBackendSettings, want)
	}
	// Problems in several files are all reported, each with its file.
	bad1 := write("bad1.hcl", "slot = 1\n")
	bad2 := write("bad2.hcl", "provider = \"x\"\n")
	_, err = Load(bad1, bad2)
	if err == nil || !strings.Contains(err.Error(), bad1+":1,1") || !strings.Contains(err.Error(), bad2+":1,12") {
		t.Errorf("error %v, want both files' problems", err)
	}
}

// resolve runs the flags on args with the environment env over the files.
func resolve(t *testing.T, args []string, env map[string]string) (server.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("jobmanager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fl := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return server.Config{}, err
	}
	f, err := fl.Resolve(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		return server.Config{}, err
	}
	return f.Config()
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "jm.hcl")
	src := `slots = 3
consul {
  address = "file:8500"
  token   = "file-token"
}
restart {
  strategy      = "exponential-delay"
  initial_delay = "2s"
}
state_backend "s3" {
  settings = { bucket = "file-bucket", region = "file-region" }
}
nomad {
  datacenters = ["dc1", "dc2"]
  constraint {
    attribute = "attr.kernel.name"
    value     = "linux"
  }
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c server.Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c server.Config) {
			d := server.DefaultConfig()
			if c.SlotsPerTaskManager != d.SlotsPerTaskManager || c.Consul != "" || c.StateBackend != "memory" || c.Restart != d.Restart {
				t.Errorf("got %+v, want the defaults", c)
			}
		}},
		{"env over default", nil, map[string]string{"SLUICE_CONSUL": "env:8500", "NOMAD_TOKEN": "env-nomad"}, func(t *testing.T, c server.Config) {
			if c.Consul != "env:8500" || c.Nomad.Token != "env-nomad" {
				t.Errorf("consul %q, nomad token %q: want the environment's", c.Consul, c.Nomad.Token)
			}
		}},
		{"file over default", []string{"--config", file}, nil, func(t *testing.T, c server.Config) {
			if c.SlotsPerTaskManager != 3 || c.Consul != "file:8500" || c.ConsulToken != "file-token" {
				t.Errorf("got slots %d consul %q token %q: want the file's", c.SlotsPerTaskManager, c.Consul, c.ConsulToken)
			}
			if c.HTTPAddr != server.DefaultConfig().HTTPAddr {
				t.Errorf("http addr %q: want the default, the file does not set it", c.HTTPAddr)
			}
		}},
		{"env over file", []string{"--config", file}, map[string]string{"SLUICE_CONSUL_TOKEN": "env-token", "SLUICE_CONSUL": ""}, func(t *testing.T, c server.Config) {
			if c.ConsulToken != "env-token" {
				t.Errorf("token %q: want the environment's", c.ConsulToken)
			}
			if c.Consul != "file:8500" {
				t.Errorf("consul %q: an empty variable must not override the file", c.Consul)
			}
		}},
		{"flag over env over file", []string{"--config", file, "--consul-token", "flag-token", "--slots", "5"}, map[string]string{"SLUICE_CONSUL_TOKEN": "env-token"}, func(t *testing.T, c server.Config) {
			if c.ConsulToken != "flag-token" || c.SlotsPerTaskManager != 5 {
				t.Errorf("token %q slots %d: want the flags'", c.ConsulToken, c.SlotsPerTaskManager)
			}
			if c.Consul != "file:8500" {
				t.Errorf("consul %q: want the file's", c.Consul)
			}
		}},
		{"flags only count when given", []string{"--http-addr", "127.0.0.1:9000", "--config", file}, nil, func(t *testing.T, c server.Config) {
			if c.SlotsPerTaskManager != 3 {
				t.Errorf("slots %d: --slots was not given, want the file's 3", c.SlotsPerTaskManager)
			}
		}},
		{"a flag overrides one setting of a block", []string{"--config", file, "--restart-max-delay", "5m"}, nil, func(t *testing.T, c server.Config) {
			if r := c.Restart; r.Kind != restart.ExponentialDelay || r.InitialDelay != 2*time.Second || r.MaxDelay != 5*time.Minute {
				t.Errorf("restart %+v: want the file's strategy and initial delay with the flag's max delay", r)
			}
		}},
		{"settings merge key by key", []string{"--config", file, "--state-backend-setting", "bucket=flag-bucket"}, nil, func(t *testing.T, c server.Config) {
			if want := map[string]string{"bucket": "flag-bucket", "region": "file-region"}; c.StateBackend != "s3" || !maps.Equal(c.StateBackendSettings, want) {
				t.Errorf("backend %q settings %v, want s3 with %v", c.StateBackend, c.StateBackendSettings, want)
			}
		}},
		{"lists are replaced", []string{"--config", file, "--nomad-datacenters", "dc3", "--nomad-constraint", "meta.tier = stream"}, nil, func(t *testing.T, c server.Config) {
			if !slices.Equal(c.Nomad.Datacenters, []string{"dc3"}) {
				t.Errorf("datacenters %v, want [dc3]", c.Nomad.Datacenters)
			}
			if want := []nomad.Constraint{{Attribute: "${meta.tier}", Operator: "=", Value: "stream"}}; !slices.Equal(c.Nomad.Constraints, want) {
				t.Errorf("constraints %v, want %v", c.Nomad.Constraints, want)
			}
		}},
		{"log level and format from the environment", nil, map[string]string{"SLUICE_LOG_LEVEL": "debug", "SLUICE_LOG_FORMAT": "json"}, func(t *testing.T, c server.Config) {
			if !c.Logger.Enabled(t.Context(), slog.LevelDebug) || c.LogFormat != "json" {
				t.Errorf("debug %v, format %q: want the environment's debug and json", c.Logger.Enabled(t.Context(), slog.LevelDebug), c.LogFormat)
			}
		}},
		{"log flags over the environment", []string{"--log-level", "warn", "--log-format", "text"}, map[string]string{"SLUICE_LOG_LEVEL": "debug", "SLUICE_LOG_FORMAT": "json"}, func(t *testing.T, c server.Config) {
			if c.Logger.Enabled(t.Context(), slog.LevelInfo) || c.LogFormat != "" {
				t.Errorf("info %v, format %q: want the flags' warn and text", c.Logger.Enabled(t.Context(), slog.LevelInfo), c.LogFormat)
			}
		}},
		{"later files override earlier ones", []string{"--config", file, "--config", writeTemp(t, "slots = 7\n")}, nil, func(t *testing.T, c server.Config) {
			if c.SlotsPerTaskManager != 7 || c.Consul != "file:8500" {
				t.Errorf("slots %d consul %q: want 7 from the second file, the consul address from the first", c.SlotsPerTaskManager, c.Consul)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := resolve(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func writeTemp(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "extra.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFlagsAsBefore checks that every flag the jobmanager had before
// configuration files still sets what it set.
func TestFlagsAsBefore(t *testing.T) {
	args := []string{
		"--http-addr", "0.0.0.0:1", "--rpc-addr", "0.0.0.0:2", "--data-dir", "/d", "--provider", "standalone",
		"--slots", "6", "--taskmanager-memory", "536870912", "--slot-timeout", "1500ms",
		"--heartbeat-interval", "200ms", "--heartbeat-timeout", "2s", "--buffer-timeout", "5ms",
		"--restart-strategy", "failure-rate", "--restart-attempts", "4", "--restart-delay", "100ms",
		"--restart-max-failures", "9", "--restart-interval", "3m", "--restart-initial-delay", "2s", "--restart-max-delay", "7m",
		"--state-backend", "/opt/backend", "--state-backend-setting", "bucket=b", "--state-backend-setting", "path_style=true",
		"--share-state-backend", "--id", "jm-1", "--consul", "c:8500", "--consul-token", "ct", "--cluster", "prod",
		"--advertise-host", "10.0.0.1", "--log-level", "debug", "--max-artifact-size", "2GiB", "--stream-window", "4MiB",
		"--nomad-addr", "http://n:4646", "--nomad-token", "nt", "--nomad-region", "eu", "--nomad-namespace", "ns",
		"--nomad-datacenters", "dc1, dc2", "--nomad-node-pool", "pool", "--nomad-driver", "docker", "--nomad-docker-image", "img",
		"--nomad-constraint", "attr.kernel.name = linux", "--nomad-constraint", "distinct_hosts",
		"--nomad-cpu-per-slot", "700", "--nomad-memory-overhead", "64", "--nomad-artifact-url", "http://jm:8081",
	}
	c, err := resolve(t, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := server.DefaultConfig()
	want.HTTPAddr, want.RPCAddr, want.DataDir, want.Provider = "0.0.0.0:1", "0.0.0.0:2", "/d", "standalone"
	want.SlotsPerTaskManager, want.TaskManagerMemory, want.SlotTimeout = 6, 512<<20, 1500*time.Millisecond
	want.HeartbeatInterval, want.HeartbeatTimeout, want.Exchange.BufferTimeout = 200*time.Millisecond, 2*time.Second, 5*time.Millisecond
	want.Restart = restart.Config{Kind: restart.FailureRate, Attempts: 4, Delay: 100 * time.Millisecond, MaxFailures: 9,
		Interval: 3 * time.Minute, InitialDelay: 2 * time.Second, MaxDelay: 7 * time.Minute}
	want.StateBackend, want.StateBackendSettings, want.ShareStateBackend = "/opt/backend", map[string]string{"bucket": "b", "path_style": "true"}, true
	want.ID, want.Consul, want.ConsulToken, want.Cluster, want.AdvertiseHost = "jm-1", "c:8500", "ct", "prod", "10.0.0.1"
	want.MaxArtifactBytes, want.StreamWindow = 2<<30, 4<<20
	want.Nomad = nomad.ProviderConfig{Address: "http://n:4646", Token: "nt", Region: "eu", Namespace: "ns",
		Datacenters: []string{"dc1", "dc2"}, NodePool: "pool", Driver: "docker", DockerImage: "img",
		Constraints: []nomad.Constraint{{Attribute: "${attr.kernel.name}", Operator: "=", Value: "linux"}, {Operator: "distinct_hosts", Value: "true"}},
		CPUPerSlot:  700, MemoryOverheadMB: 64, ArtifactBaseURL: "http://jm:8081"}
	if !c.Logger.Enabled(t.Context(), -4) {
		t.Errorf("--log-level debug: the logger does not log debug")
	}
	c.Logger, want.Logger = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("from the flags:\n got %+v\nwant %+v", c, want)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--restart-strategy", "sometimes"}, `invalid value "sometimes" for flag -restart-strategy: unknown restart strategy`},
		{[]string{"--log-level", "loud"}, `"loud" is not a log level`},
		{[]string{"--log-format", "xml"}, `"xml" is not one of "text" or "json"`},
		{[]string{"--slot-timeout", "soon"}, `"soon" is not a duration`},
		{[]string{"--taskmanager-memory", "lots"}, `"lots" is not a size`},
		{[]string{"--slots", "x"}, `"x" is not a whole number`},
		{[]string{"--state-backend-setting", "bucket"}, `"bucket" is not key=value`},
		{[]string{"--nomad-constraint", "attr.x"}, `want "ATTRIBUTE OPERATOR VALUE"`},
		{[]string{"--provider", "k8s"}, `"k8s" is not one of "local", "standalone" or "nomad"`},
		{[]string{"--config", "/does/not/exist.hcl"}, "/does/not/exist.hcl"},
	} {
		_, err := resolve(t, tt.args, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want one saying %q", tt.args, err, tt.want)
		}
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[Size]int64{
		"1073741824": 1 << 30, "512MiB": 512 << 20, "2GiB": 2 << 30, "2gib": 2 << 30, "1.5GiB": 3 << 29,
		"1KB": 1000, "1 MB": 1e6, "10B": 10, "1TiB": 1 << 40, " 4KiB ": 4096,
	} {
		got, err := in.Bytes()
		if err != nil || got != want {
			t.Errorf("Size(%q).Bytes() = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []Size{"", "MiB", "-1", "2XB", "1.2.3GiB", "99999999999TiB"} {
		if n, err := in.Bytes(); err == nil {
			t.Errorf("Size(%q).Bytes() = %d, want an error", in, n)
		}
	}
	for n, want := range map[int64]Size{1 << 30: "1GiB", 3 << 29: "1536MiB", 1000: "1000", 4096: "4KiB", 0: "0"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := FormatSize(n).Bytes(); err != nil || back != n {
			t.Errorf("FormatSize(%d) reads back as %d, %v", n, back, err)
		}
	}
}

func TestDurations(t *testing.T) {
	for d, want := range map[time.Duration]Duration{2 * time.Minute: "2m", 10 * time.Millisecond: "10ms", time.Hour: "1h", 1500 * time.Millisecond: "1500ms", 0: "0s", 1500 * time.Microsecond: "1.5ms"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := FormatDuration(d).Duration(); err != nil || back != d {
			t.Errorf("FormatDuration(%v) reads back as %v, %v", d, back, err)
		}
	}
	if d, err := Duration("0").Duration(); err != nil || d != 0 {
		t.Errorf(`Duration("0") = %v, %v; want 0`, d, err)
	}
}

// TestEveryFieldIsDescribed: every setting has a description for --help
// (usage_gen.go is generated; internal/docgen's test checks it is fresh).
func TestEveryFieldIsDescribed(t *testing.T) {
	for _, f := range Fields() {
		if f.Flag != "" && descriptions[f.Path] == "" {
			t.Errorf("flag --%s (%s) has no description; run go run ./internal/docgen", f.Flag, f.Path)
		}
	}
}

// TestOperationsGuideExamples: the configuration snippets of
// docs/operations.md are valid files.
func TestOperationsGuideExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```hcl\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("no hcl blocks in docs/operations.md")
	}
	for i, b := range blocks {
		src, _, _ := strings.Cut(b, "```")
		if _, err := Parse([]byte(src), "operations.md"); err != nil {
			t.Errorf("hcl block %d of docs/operations.md: %v\n%s", i+1, err, src)
		}
	}
}

// TestTLSSettings: the tls block, its flags and its environment variables
// set server.Config.TLS, with the usual precedence.
func TestTLSSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tls.hcl")
	if err := os.WriteFile(file, []byte(`tls {
  cert_file = "/etc/sluice/jm.pem"
  key_file  = "/etc/sluice/jm-key.pem"
  ca_file   = "/etc/sluice/ca.pem"
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := resolve(t, []string{"--config", file, "--tls-key", "/flag/key.pem"}, map[string]string{"SLUICE_TLS_CA": "/env/ca.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != "/etc/sluice/jm.pem" || c.TLS.KeyFile != "/flag/key.pem" || c.TLS.CAFile != "/env/ca.pem" {
		t.Errorf("TLS = %+v; want the file's certificate, the flag's key and the environment's CA", c.TLS)
	}
	c, err = resolve(t, []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, map[string]string{"SLUICE_TLS_CERT": "/env/c.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.CertFile != "c.pem" || c.TLS.KeyFile != "k.pem" || c.TLS.CAFile != "" {
		t.Errorf("TLS = %+v; want the flags'", c.TLS)
	}
}

func TestStreamWindowOutOfRange(t *testing.T) {
	for _, v := range []string{"64KiB", "2GiB"} {
		_, err := resolve(t, []string{"--stream-window", v}, nil)
		if err == nil || !strings.Contains(err.Error(), "stream_window: "+v+" is outside 256KiB to 1GiB") {
			t.Errorf("--stream-window %s: %v", v, err)
		}
	}
}
