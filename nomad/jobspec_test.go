package nomad

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// jsUpdate (-update) rewrites the golden files under testdata:
// go test ./nomad -run TestJobspecGolden -update.
var jsUpdate = flag.Bool("update", false, "rewrite the golden files under testdata")

const jsTestChecksum = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// jsNasty is a user value that HCL must escape: template sequences, quotes,
// a backslash, a newline and non-ASCII text.
const jsNasty = "a${b}c%{d}\"q\\\nz é"

// jsVariants are the configurations the golden files, the parse test
// and the real-Nomad tests cover, by name.
func jsVariants() map[string]JobspecConfig {
	ha := DefaultJobspecConfig()
	ha.JobManager.Path = "/usr/local/bin/jobmanager"
	ha.StateBackend = "s3"
	ha.StateBackendSettings = map[string]string{"bucket": "sluice", "prefix": "prod", "secret_access_key": jsNasty}
	ha.SecretsVariable = "nomad/jobs/sluice-jobmanager"
	ha.ConsulToken = "consul-" + jsNasty
	ha.NomadToken = "nomad-token"

	artifact := DefaultJobspecConfig()
	artifact.HA = false
	artifact.JobManager = JobspecBinary{Artifact: "https://example.com/sluice/jobmanager?v=1", Checksum: jsTestChecksum}
	artifact.Namespace, artifact.Region, artifact.NodePool = "streaming", "global", "default"
	artifact.Datacenters = []string{"dc1", "dc2"}
	artifact.Constraints = []Constraint{
		{Attribute: "${attr.kernel.name}", Operator: "=", Value: "linux"},
		{Attribute: "${meta.tier}", Operator: "regexp", Value: "^stream"},
		{Operator: "distinct_hosts", Value: "true"},
	}
	artifact.HTTPPort, artifact.RPCPort = 8081, 6123
	artifact.NomadDatacenters = []string{"dc2"}
	artifact.NomadDriver = DriverExec

	exec := DefaultJobspecConfig()
	exec.Driver = DriverExec
	exec.JobManager.Path = "/usr/local/bin/jobmanager"
	exec.StateBackend = "s3"
	exec.StateBackendSettings = map[string]string{"bucket": "sluice"}
	exec.Consul = "${attr.unique.network.ip-address}:8500"
	exec.Cluster = "prod"
	exec.CPU, exec.MemoryMB = 1000, 1024
	exec.HTTPPort = 8081
	exec.NomadArtifactURL = "http://sluice-jobmanager.service.consul:8081"

	docker := DefaultJobspecConfig()
	docker.Driver = DriverDocker
	docker.JobManager = JobspecBinary{Image: "ghcr.io/sluicehq/sluice:1.0", Path: "/usr/local/bin/jobmanager"}
	docker.StateBackend = "s3"
	docker.StateBackendSettings = map[string]string{"bucket": "sluice"}
	docker.ServiceProvider = ServiceProviderNomad
	docker.NomadDriver, docker.NomadDockerImage = DriverDocker, "gcr.io/distroless/base-debian12"

	pool := DefaultJobspecConfig()
	pool.JobManager.Path = "/opt/sluice/jobmanager"
	pool.StateBackend = "/opt/sluice/sluice-backend-s3"
	pool.StateBackendSettings = map[string]string{"bucket": "sluice"}
	pool.Provider = JobspecProviderStandalone
	pool.TaskManagers = 3
	pool.TaskManager = JobspecBinary{Artifact: "https://example.com/jobs/wordcount", Checksum: jsTestChecksum}
	pool.TaskManagerArgs = []string{"--input", "/data/book.txt", "--parallelism", "4", "--verbose", jsNasty}
	pool.Slots, pool.TaskManagerMemory = 4, 2<<30
	pool.SecretsVariable = "nomad/jobs/sluice"

	poolNoHA := DefaultJobspecConfig()
	poolNoHA.HA = false
	poolNoHA.JobManager.Path = "/opt/sluice/jobmanager"
	poolNoHA.Provider = JobspecProviderStandalone
	poolNoHA.ServiceProvider = ServiceProviderNomad
	poolNoHA.TaskManagers = 2
	poolNoHA.TaskManager.Path = "/opt/sluice/wordcount"
	poolNoHA.TaskManagerCPU = 750

	return map[string]JobspecConfig{
		"ha": ha, "artifact": artifact, "exec": exec, "docker": docker, "pool": pool, "pool_noha": poolNoHA,
	}
}

// jsRenderVariant returns the jobspecs of a variant: the JobManagers' and,
// with a pool, the pool's.
func jsRenderVariant(t *testing.T, cfg JobspecConfig) []string {
	t.Helper()
	jm, err := JobManagerJobspec(cfg)
	if err != nil {
		t.Fatalf("JobManagerJobspec: %v", err)
	}
	out := []string{jm}
	if cfg.TaskManagers > 0 {
		pool, err := TaskManagerPoolJobspec(cfg)
		if err != nil {
			t.Fatalf("TaskManagerPoolJobspec: %v", err)
		}
		out = append(out, pool)
	}
	return out
}

func TestJobspecGolden(t *testing.T) {
	for name, cfg := range jsVariants() {
		t.Run(name, func(t *testing.T) {
			for i, spec := range jsRenderVariant(t, cfg) {
				file := name
				if i == 1 {
					file += "_pool"
				}
				jsCheckGolden(t, file, spec)
			}
		})
	}
}

// jsCheckGolden compares got with testdata/jobspec_name.golden, or rewrites
// it with -update.
func jsCheckGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "jobspec_"+name+".golden")
	if *jsUpdate {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./nomad -run TestJobspecGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s", path, got)
	}
}

// TestJobspecParses parses every variant with HCL's own parser and
// evaluates it as Nomad does: Nomad's runtime interpolations stay as text,
// so every string must come back exactly as meant, user values verbatim.
func TestJobspecParses(t *testing.T) {
	for name, cfg := range jsVariants() {
		t.Run(name, func(t *testing.T) {
			specs := jsRenderVariant(t, cfg)
			job := jsParseJob(t, specs[0])
			if job.label != cfg.Job {
				t.Errorf("job %q, want %q", job.label, cfg.Job)
			}
			task := job.path(t, "group", "task")
			args := task.path(t, "config").strings(t, "args")
			want := []string{"--http-addr", "${NOMAD_ADDR_http}", "--rpc-addr", "${NOMAD_ADDR_rpc}",
				"--data-dir", "${NOMAD_TASK_DIR}/data", "--id", "${NOMAD_ALLOC_ID}"}
			if cfg.JobManager.Artifact != "" {
				want = append([]string{"-c", jsChmodWrapper, "${NOMAD_TASK_DIR}/jobmanager"}, want...)
			}
			if !slices.Equal(args[:len(want)], want) {
				t.Errorf("args start %q, want %q", args[:len(want)], want)
			}
			for k, v := range cfg.StateBackendSettings {
				if !slices.Contains(args, k+"="+v) {
					t.Errorf("args %q lack the setting %q", args, k+"="+v)
				}
			}
			if cfg.HA && !slices.Contains(args, cfg.Consul) {
				t.Errorf("args %q lack --consul %q", args, cfg.Consul)
			}
			if cfg.ConsulToken != "" {
				if got := task.path(t, "env").str(t, "SLUICE_CONSUL_TOKEN"); got != cfg.ConsulToken {
					t.Errorf("SLUICE_CONSUL_TOKEN %q, want %q", got, cfg.ConsulToken)
				}
			}
			for _, c := range cfg.Constraints {
				found := false
				for _, b := range job.all("constraint") {
					found = found || (b.strOr("attribute") == c.Attribute && b.strOr("operator") == c.Operator && b.strOr("value") == c.Value)
				}
				if !found {
					t.Errorf("no constraint block %+v", c)
				}
			}
			if len(specs) < 2 {
				return
			}
			pool := jsParseJob(t, specs[1])
			ptask := pool.path(t, "group", "task")
			var pargs []string
			if len(cfg.TaskManagerArgs) > 0 || cfg.TaskManager.Artifact != "" {
				pargs = ptask.path(t, "config").strings(t, "args")
			}
			if !slices.Equal(pargs[len(pargs)-len(cfg.TaskManagerArgs):], cfg.TaskManagerArgs) {
				t.Errorf("pool args %q do not end with the job's arguments %q", pargs, cfg.TaskManagerArgs)
			}
			env := ptask.path(t, "env")
			if got := env.str(t, "SLUICE_TASKMANAGER_ID"); got != "${NOMAD_JOB_NAME}-${NOMAD_ALLOC_INDEX}-${NOMAD_SHORT_ALLOC_ID}" {
				t.Errorf("SLUICE_TASKMANAGER_ID %q", got)
			}
		})
	}
}

func TestJobspecDefaultsAndCounts(t *testing.T) {
	v := jsVariants()
	for name, want := range map[string]string{"ha": "2", "artifact": "1", "pool": "2"} {
		job := jsParseJob(t, jsRenderVariant(t, v[name])[0])
		if got := job.path(t, "group").value(t, "count"); got.AsBigFloat().String() != want {
			t.Errorf("%s: count %s, want %s", name, got.AsBigFloat().String(), want)
		}
	}
	jm := jsRenderVariant(t, v["ha"])[0]
	for _, absent := range []string{"namespace", "region", "node_pool", "artifact", "image"} {
		if strings.Contains(jm, "\n  "+absent+" ") || strings.Contains(jm, absent+" {") {
			t.Errorf("the default jobspec has %s, which is only written when set:\n%s", absent, jm)
		}
	}
	for _, want := range []string{"port \"http\" {}", "port \"rpc\" {}", "# Generated by `jmctl nomad jobspec`", "nomad job run sluice-jobmanager.nomad.hcl", `path     = "/v1/health"`} {
		if !strings.Contains(jm, want) {
			t.Errorf("the default jobspec lacks %q", want)
		}
	}
	if strings.Contains(jm, "$${NOMAD") {
		t.Errorf("a Nomad interpolation was escaped:\n%s", jm)
	}
	noHA := jsRenderVariant(t, v["artifact"])[0]
	for _, absent := range []string{"--consul", "--cluster", "cluster-"} {
		if strings.Contains(noHA, absent) {
			t.Errorf("the --no-ha jobspec has %q", absent)
		}
	}
	for _, want := range []string{"static = 8081", "static = 6123", `namespace   = "streaming"`, `node_pool   = "default"`, `"--nomad-driver", "exec"`, `"--nomad-datacenters", "dc2"`, `"--nomad-namespace", "streaming"`} {
		if !strings.Contains(noHA, want) {
			t.Errorf("the artifact jobspec lacks %q", want)
		}
	}
	standalone := jsRenderVariant(t, v["pool"])[0]
	if strings.Contains(standalone, "--nomad-") || !strings.Contains(standalone, `"--provider", "standalone"`) {
		t.Errorf("the standalone jobspec has Nomad provider flags or lacks --provider standalone")
	}
}

func TestJobspecValidate(t *testing.T) {
	base := jsVariants()["ha"]
	for _, tc := range []struct {
		name string
		edit func(*JobspecConfig)
		want []string
	}{
		{"no binary", func(c *JobspecConfig) { c.JobManager.Path = "" }, []string{"--jobmanager-binary PATH", "--jobmanager-artifact URL"}},
		{"both binaries", func(c *JobspecConfig) { c.JobManager.Artifact = "https://x/jm"; c.JobManager.Checksum = jsTestChecksum }, []string{"not both"}},
		{"relative path", func(c *JobspecConfig) { c.JobManager.Path = "bin/jobmanager" }, []string{"--jobmanager-binary \"bin/jobmanager\"", "absolute path"}},
		{"artifact without checksum", func(c *JobspecConfig) { c.JobManager = JobspecBinary{Artifact: "https://x/jm"} }, []string{"--jobmanager-checksum sha256:HEX"}},
		{"bad checksum", func(c *JobspecConfig) { c.JobManager = JobspecBinary{Artifact: "https://x/jm", Checksum: "md5:abc"} }, []string{"--jobmanager-checksum \"md5:abc\"", "64 hex digits"}},
		{"checksum without artifact", func(c *JobspecConfig) { c.JobManager.Checksum = jsTestChecksum }, []string{"--jobmanager-checksum is for --jobmanager-artifact"}},
		{"artifact not a URL", func(c *JobspecConfig) { c.JobManager = JobspecBinary{Artifact: "jobmanager", Checksum: jsTestChecksum} }, []string{"--jobmanager-artifact \"jobmanager\""}},
		{"HA on memory", func(c *JobspecConfig) { c.StateBackend = "memory" }, []string{"--state-backend", "--no-ha"}},
		{"HA without backend", func(c *JobspecConfig) { c.StateBackend = ""; c.StateBackendSettings = nil }, []string{"--state-backend s3"}},
		{"settings without backend", func(c *JobspecConfig) { c.HA = false; c.StateBackend = "" }, []string{"--state-backend-setting without --state-backend"}},
		{"two leaders without HA", func(c *JobspecConfig) { c.HA = false; c.JobManagers = 2 }, []string{"--jobmanagers 2 with --no-ha"}},
		{"bad job", func(c *JobspecConfig) { c.Job = "my job" }, []string{"--job \"my job\""}},
		{"no datacenters", func(c *JobspecConfig) { c.Datacenters = nil }, []string{"--datacenters is empty"}},
		{"bad namespace", func(c *JobspecConfig) { c.Namespace = "a/b" }, []string{"--namespace \"a/b\""}},
		{"bad driver", func(c *JobspecConfig) { c.Driver = "java" }, []string{"--driver \"java\"", "raw_exec, exec or docker"}},
		{"docker without image", func(c *JobspecConfig) { c.Driver = DriverDocker }, []string{"--jobmanager-image IMAGE"}},
		{"image without docker", func(c *JobspecConfig) { c.JobManager.Image = "x" }, []string{"--jobmanager-image is for --driver docker"}},
		{"same ports", func(c *JobspecConfig) { c.HTTPPort, c.RPCPort = 8081, 8081 }, []string{"--http-port and --rpc-port"}},
		{"port range", func(c *JobspecConfig) { c.RPCPort = 70000 }, []string{"--rpc-port 70000"}},
		{"memory", func(c *JobspecConfig) { c.MemoryMB = 5 }, []string{"--memory 5"}},
		{"consul", func(c *JobspecConfig) { c.Consul = "consul" }, []string{"--consul \"consul\"", "host:port"}},
		{"cluster", func(c *JobspecConfig) { c.Cluster = "a/b" }, []string{"--cluster \"a/b\""}},
		{"provider", func(c *JobspecConfig) { c.Provider = "local" }, []string{"--provider \"local\"", "standalone"}},
		{"nomad addr", func(c *JobspecConfig) { c.NomadAddr = "nomad:4646" }, []string{"--nomad-addr \"nomad:4646\""}},
		{"nomad driver", func(c *JobspecConfig) { c.NomadDriver = "qemu" }, []string{"--nomad-driver \"qemu\""}},
		{"nomad docker without image", func(c *JobspecConfig) { c.NomadDriver = DriverDocker }, []string{"--nomad-docker-image IMAGE"}},
		{"nomad image without docker", func(c *JobspecConfig) { c.NomadDockerImage = "x" }, []string{"--nomad-docker-image is for --nomad-driver docker"}},
		{"nomad artifact url", func(c *JobspecConfig) { c.NomadArtifactURL = "jm:8081" }, []string{"--nomad-artifact-url \"jm:8081\""}},
		{"slots", func(c *JobspecConfig) { c.Slots = 0 }, []string{"--slots 0"}},
		{"variable", func(c *JobspecConfig) { c.SecretsVariable = "nomad/jobs/x\"y" }, []string{"--secrets-variable"}},
		{"setting key", func(c *JobspecConfig) { c.StateBackendSettings = map[string]string{"a b": "c"} }, []string{"--state-backend-setting \"a b=c\""}},
		{"service", func(c *JobspecConfig) { c.ServiceName = "sluice_jm" }, []string{"--service-name \"sluice_jm\""}},
		{"constraint operator", func(c *JobspecConfig) {
			c.Constraints = []Constraint{{Attribute: "${attr.x}", Operator: "~", Value: "y"}}
		}, []string{"unknown operator \"~\""}},
		{"constraint bare attribute", func(c *JobspecConfig) { c.Constraints = []Constraint{{Attribute: "attr.x", Operator: "=", Value: "y"}} }, []string{"${attr.x}"}},
		{"constraint regexp", func(c *JobspecConfig) {
			c.Constraints = []Constraint{{Attribute: "${attr.x}", Operator: "regexp", Value: "("}}
		}, []string{"does not compile"}},
		{"pool with nomad provider", func(c *JobspecConfig) { c.TaskManagers = 1; c.TaskManager.Path = "/x" }, []string{"--taskmanagers with --provider nomad"}},
		{"pool without binary", func(c *JobspecConfig) { c.Provider = JobspecProviderStandalone; c.TaskManagers = 1 }, []string{"--taskmanager-binary PATH"}},
		{"pool binary without pool", func(c *JobspecConfig) { c.TaskManager.Path = "/x" }, []string{"--taskmanagers is 0"}},
		{"pool job clash", func(c *JobspecConfig) {
			c.Provider, c.TaskManagers, c.TaskManager.Path, c.PoolJob = JobspecProviderStandalone, 1, "/x", c.Job
		}, []string{"--taskmanager-job \"sluice-jobmanager\" is also --job"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.StateBackendSettings = map[string]string{"bucket": "b"}
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, err2 := JobManagerJobspec(c); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("JobManagerJobspec returned %v, not Validate's error", err2)
			}
		})
	}
	for name, cfg := range jsVariants() {
		if err := cfg.Validate(); err != nil {
			t.Errorf("variant %s: %v", name, err)
		}
	}
	if _, err := TaskManagerPoolJobspec(base); err == nil || !strings.Contains(err.Error(), "--taskmanagers is 0") {
		t.Errorf("TaskManagerPoolJobspec without a pool: %v", err)
	}
	if err := DefaultJobspecConfig().Validate(); err == nil {
		t.Error("the defaults validate without a binary and a state backend")
	}
}

func TestJobspecHCLHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              `"plain"`,
		"${NOMAD_ADDR_http}": `"${NOMAD_ADDR_http}"`,
		"http://${attr.unique.network.ip-address}:4646": `"http://${attr.unique.network.ip-address}:4646"`,
		"${meta.rack}-${node.unique.id}":                `"${meta.rack}-${node.unique.id}"`,
		"${foo} %{if}":                                  `"$${foo} %%{if}"`,
		"${attr.x":                                      `"$${attr.x"`,
		"":                                              `""`,
	} {
		if got := string(jsWithRefs(in).tokens().Bytes()); got != want {
			t.Errorf("jsWithRefs(%q) = %s, want %s", in, got, want)
		}
	}
	if got := string(jsLit("${NOMAD_ADDR_http}").tokens().Bytes()); got != `"$${NOMAD_ADDR_http}"` {
		t.Errorf("jsLit did not escape: %s", got)
	}
	if got := string(jsComment("a\nb = 1\r").Bytes); got != "# a b = 1 \n" {
		t.Errorf("a newline in a comment was kept: %q", got)
	}
	if !SecretSetting("secret_access_key") || !SecretSetting("session_token") || SecretSetting("bucket") || SecretSetting("access_key_id") {
		t.Error("SecretSetting misjudges the s3 settings")
	}
	for in, want := range map[string]string{"https://x/a/wordcount?v=2": "wordcount", "https://x/": "job", "s3::https://b/k/tm.bin": "tm.bin"} {
		if got := jsPoolProgramName(JobspecBinary{Artifact: in}); got != want {
			t.Errorf("jsPoolProgramName(%q) = %q, want %q", in, got, want)
		}
	}
}

// jsHCLBlock is a parsed block, for the tests.
type jsHCLBlock struct {
	label string
	body  *hclsyntax.Body
}

// jsParseJob parses a jobspec and returns its job block.
func jsParseJob(t *testing.T, spec string) jsHCLBlock {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL([]byte(spec), "job.nomad.hcl")
	if diags.HasErrors() {
		t.Fatalf("the jobspec does not parse: %v\n%s", diags, spec)
	}
	body := f.Body.(*hclsyntax.Body)
	if len(body.Blocks) != 1 || body.Blocks[0].Type != "job" || len(body.Blocks[0].Labels) != 1 {
		t.Fatalf("the jobspec holds %d blocks, not one job", len(body.Blocks))
	}
	return jsHCLBlock{body.Blocks[0].Labels[0], body.Blocks[0].Body}
}

// path follows the first block of each type.
func (b jsHCLBlock) path(t *testing.T, types ...string) jsHCLBlock {
	t.Helper()
	for _, typ := range types {
		all := b.all(typ)
		if len(all) == 0 {
			t.Fatalf("no %s block", typ)
		}
		b = all[0]
	}
	return b
}

// all returns the blocks of a type.
func (b jsHCLBlock) all(typ string) []jsHCLBlock {
	var out []jsHCLBlock
	for _, blk := range b.body.Blocks {
		if blk.Type == typ {
			out = append(out, jsHCLBlock{strings.Join(blk.Labels, " "), blk.Body})
		}
	}
	return out
}

// value evaluates an attribute as Nomad's parser does: every variable it
// refers to evaluates to its own interpolation text.
func (b jsHCLBlock) value(t *testing.T, name string) cty.Value {
	t.Helper()
	a, ok := b.body.Attributes[name]
	if !ok {
		t.Fatalf("no attribute %s", name)
	}
	v, diags := a.Expr.Value(jsRuntimeContext(a.Expr.Variables()))
	if diags.HasErrors() {
		t.Fatalf("%s: %v", name, diags)
	}
	return v
}

func (b jsHCLBlock) str(t *testing.T, name string) string {
	t.Helper()
	return b.value(t, name).AsString()
}

// strOr returns a string attribute, or "" without it.
func (b jsHCLBlock) strOr(name string) string {
	a, ok := b.body.Attributes[name]
	if !ok {
		return ""
	}
	v, diags := a.Expr.Value(jsRuntimeContext(a.Expr.Variables()))
	if diags.HasErrors() {
		return ""
	}
	return v.AsString()
}

func (b jsHCLBlock) strings(t *testing.T, name string) []string {
	t.Helper()
	var out []string
	for _, v := range b.value(t, name).AsValueSlice() {
		out = append(out, v.AsString())
	}
	return out
}

// jsRuntimeContext binds each traversal to the text "${traversal}", as
// Nomad leaves its runtime interpolations for the client to resolve.
func jsRuntimeContext(traversals []hcl.Traversal) *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for _, tr := range traversals {
		names := []string{tr.RootName()}
		for _, step := range tr[1:] {
			if a, ok := step.(hcl.TraverseAttr); ok {
				names = append(names, a.Name)
			}
		}
		vars[names[0]] = jsNest(vars[names[0]], names[1:], "${"+strings.Join(names, ".")+"}")
	}
	return &hcl.EvalContext{Variables: vars}
}

// jsNest sets the string leaf at path in the object v (cty.NilVal for none).
func jsNest(v cty.Value, path []string, leaf string) cty.Value {
	if len(path) == 0 {
		return cty.StringVal(leaf)
	}
	attrs := map[string]cty.Value{}
	if v != cty.NilVal && v.Type().IsObjectType() {
		attrs = v.AsValueMap()
	}
	attrs[path[0]] = jsNest(attrs[path[0]], path[1:], leaf)
	return cty.ObjectVal(attrs)
}
