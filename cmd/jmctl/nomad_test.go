package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/nomad"
)

// jobspecBase are flags that make a valid HA jobspec.
var jobspecBase = []string{"nomad", "jobspec", "--jobmanager-binary", "/opt/sluice/jobmanager",
	"--state-backend", "s3", "--state-backend-setting", "bucket=sluice"}

func TestNomadJobspecUsageErrors(t *testing.T) {
	dir := t.TempDir()
	with := func(extra ...string) []string { return append(append([]string{}, jobspecBase...), extra...) }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"nomad", "jobspec"}, []string{"no JobManager binary", "--jobmanager-binary PATH", "--state-backend", "jmctl nomad jobspec --help"}},
		{with("--no-ha", "--consul", "10.0.0.1:8500"), []string{"--consul is for high availability", "--no-ha"}},
		{with("--no-ha", "--jobmanagers", "2"), []string{"--jobmanagers 2 with --no-ha"}},
		{with("--driver", "java"), []string{`--driver "java"`, "raw_exec, exec or docker"}},
		{with("extra"), []string{`unexpected argument "extra"`, "after --"}},
		{with("--constraint", "x"), []string{"--constraint", "ATTRIBUTE OPERATOR VALUE"}},
		{with("--state-backend-setting", "bucket"), []string{`--state-backend-setting "bucket"`, "key=value"}},
		{with("--output", "a", "--output-dir", "b"), []string{"--output and --output-dir"}},
		{with("--taskmanagers", "2", "--taskmanager-binary", "/x", "--output", filepath.Join(dir, "x")), []string{"--output-dir DIR"}},
		{with("--provider", "standalone", "--nomad-addr", "http://x:4646"), []string{"--nomad-addr is for --provider nomad"}},
		{with("--taskmanagers", "2", "--nomad-driver", "exec"), []string{"--nomad-driver is for --provider nomad"}},
		{with("--taskmanagers", "2"), []string{"--taskmanager-binary PATH"}},
		{with("--jobmanager-binary", "", "--jobmanager-artifact", "https://x/jm"), []string{"--jobmanager-checksum sha256:HEX"}},
		{with("--http-port", "many"), []string{`invalid argument "many"`, "jmctl nomad jobspec --help"}},
		{with("--bogus"), []string{"unknown flag: --bogus"}},
		{[]string{"nomad", "bogus"}, []string{`unknown command "bogus"`, "jmctl nomad --help"}},
	} {
		e := newTestEnv(nil)
		if code := e.run(tc.args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, exitUsage, e.err.String())
		}
		checkError(t, e, tc.want...)
		if e.out.Len() > 0 {
			t.Errorf("%v printed a jobspec despite the error:\n%s", tc.args, e.out.String())
		}
	}
}

// TestNomadJobspecFlags: every flag reaches the configuration, and the
// output is the library's.
func TestNomadJobspecFlags(t *testing.T) {
	e := newTestEnv(nil)
	code := e.run("nomad", "jobspec", "--job", "jm", "--datacenters", "dc1,dc2", "--namespace", "ns", "--region", "eu",
		"--node-pool", "big", "--constraint", "${attr.kernel.name} = linux", "--constraint", "distinct_hosts",
		"--driver", "exec", "--service-provider", "nomad", "--service-name", "sjm",
		"--jobmanager-artifact", "https://example.com/jm", "--jobmanager-checksum", "sha256:"+strings.Repeat("ab", 32),
		"--jobmanagers", "3", "--http-port", "8081", "--rpc-port", "6123", "--cpu", "700", "--memory", "900",
		"--consul", "10.0.0.1:8500", "--cluster", "prod", "--state-backend", "s3",
		"--state-backend-setting", "bucket=b", "--state-backend-setting", "prefix=p=q",
		"--secrets-variable", "nomad/jobs/jm", "--nomad-addr", "http://10.0.0.1:4646", "--nomad-datacenters", "dc3",
		"--nomad-namespace", "tm", "--nomad-region", "us", "--nomad-node-pool", "small", "--nomad-driver", "docker",
		"--nomad-docker-image", "img", "--nomad-artifact-url", "http://jm:8081", "--slots", "4", "--taskmanager-memory", "2147483648")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	want := nomad.DefaultJobspecConfig()
	want.Job, want.Datacenters, want.Namespace, want.Region, want.NodePool = "jm", []string{"dc1", "dc2"}, "ns", "eu", "big"
	want.Constraints = []nomad.Constraint{{Attribute: "${attr.kernel.name}", Operator: "=", Value: "linux"}, {Operator: "distinct_hosts", Value: "true"}}
	want.Driver, want.ServiceProvider, want.ServiceName = "exec", "nomad", "sjm"
	want.JobManager = nomad.JobspecBinary{Artifact: "https://example.com/jm", Checksum: "sha256:" + strings.Repeat("ab", 32)}
	want.JobManagers, want.HTTPPort, want.RPCPort, want.CPU, want.MemoryMB = 3, 8081, 6123, 700, 900
	want.Consul, want.Cluster, want.StateBackend = "10.0.0.1:8500", "prod", "s3"
	want.StateBackendSettings = map[string]string{"bucket": "b", "prefix": "p=q"}
	want.SecretsVariable = "nomad/jobs/jm"
	want.NomadAddr, want.NomadDatacenters, want.NomadNamespace, want.NomadRegion = "http://10.0.0.1:4646", []string{"dc3"}, "tm", "us"
	want.NomadNodePool, want.NomadDriver, want.NomadDockerImage, want.NomadArtifactURL = "small", "docker", "img", "http://jm:8081"
	want.Slots, want.TaskManagerMemory = 4, 2<<30
	spec, err := nomad.JobManagerJobspec(want)
	if err != nil {
		t.Fatal(err)
	}
	if e.out.String() != spec {
		t.Errorf("jmctl printed another jobspec than the flags' configuration gives:\n--- jmctl\n%s\n--- want\n%s", e.out.String(), spec)
	}
	if e.err.Len() > 0 {
		t.Errorf("stderr: %q", e.err.String())
	}
}

func TestNomadJobspecPool(t *testing.T) {
	// A pool makes the provider standalone unless --provider says
	// otherwise; the job's arguments follow --; single-dash flags work.
	e := newTestEnv(nil)
	args := append(append([]string{}, jobspecBase...), "-taskmanagers", "2", "--taskmanager-binary", "/opt/wordcount", "--", "--input", "/data/x")
	if code := e.run(args...); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	cfg := nomad.DefaultJobspecConfig()
	cfg.JobManager.Path, cfg.StateBackend, cfg.StateBackendSettings = "/opt/sluice/jobmanager", "s3", map[string]string{"bucket": "sluice"}
	cfg.Provider, cfg.TaskManagers, cfg.TaskManager.Path, cfg.TaskManagerArgs = nomad.JobspecProviderStandalone, 2, "/opt/wordcount", []string{"--input", "/data/x"}
	jm, err := nomad.JobManagerJobspec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := nomad.TaskManagerPoolJobspec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := jm + "\n# ---\n\n" + pool; e.out.String() != want {
		t.Errorf("stdout is not the two jobs separated by # ---:\n%s", e.out.String())
	}
}

func TestNomadJobspecFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "jm.nomad.hcl")
	e := newTestEnv(nil)
	if code := e.run(append(append([]string{}, jobspecBase...), "--output", file)...); code != exitOK {
		t.Fatalf("--output: exit %d: %s", code, e.err.String())
	}
	checkSpecFile(t, file, 0o644, `job "sluice-jobmanager"`)
	if e.out.Len() > 0 || e.err.Len() > 0 {
		t.Errorf("--output printed %q %q", e.out.String(), e.err.String())
	}

	// Secrets in plain text: the files are private and jmctl warns.
	out := filepath.Join(dir, "jobs")
	e = newTestEnv(nil)
	args := append(append([]string{}, jobspecBase...), "--output-dir", out, "--consul-token", "s3cr3t",
		"--state-backend-setting", "secret_access_key=k", "--taskmanagers", "1", "--taskmanager-binary", "/opt/wc", "--provider", "standalone")
	if code := e.run(args...); code != exitOK {
		t.Fatalf("--output-dir: exit %d: %s", code, e.err.String())
	}
	jmFile, poolFile := filepath.Join(out, "sluice-jobmanager.nomad.hcl"), filepath.Join(out, "sluice-taskmanagers.nomad.hcl")
	checkSpecFile(t, jmFile, 0o600, `SLUICE_CONSUL_TOKEN = "s3cr3t"`)
	checkSpecFile(t, poolFile, 0o600, `job "sluice-taskmanagers"`)
	if want := "wrote " + jmFile + "\nwrote " + poolFile + "\n"; e.out.String() != want {
		t.Errorf("stdout %q, want %q", e.out.String(), want)
	}
	for _, w := range []string{"jmctl: warning:", "--consul-token", "--state-backend-setting secret_access_key", "--secrets-variable"} {
		if !strings.Contains(e.err.String(), w) {
			t.Errorf("stderr %q lacks %q", e.err.String(), w)
		}
	}
}

// checkSpecFile checks a written jobspec's mode and that it holds want.
func checkSpecFile(t *testing.T, path string, perm os.FileMode, want string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != perm {
		t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), perm)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), want) {
		t.Errorf("%s lacks %q:\n%s", path, want, data)
	}
}

func TestNomadHelp(t *testing.T) {
	for _, args := range [][]string{{"nomad"}, {"nomad", "--help"}, {"nomad", "jobspec", "--help"}, {"help", "nomad", "jobspec"}} {
		e := newTestEnv(nil)
		if code := e.run(args...); code != exitOK {
			t.Errorf("%v: exit %d", args, code)
		}
		if !strings.Contains(e.out.String(), "Usage:") || !strings.Contains(e.out.String(), "Example") {
			t.Errorf("%v printed no usage with examples:\n%s", args, e.out.String())
		}
	}
	e := newTestEnv(nil)
	e.run("nomad", "jobspec", "--help")
	for _, flag := range []string{"--jobmanager-binary", "--jobmanager-artifact", "--no-ha", "--consul", "--state-backend-setting",
		"--secrets-variable", "--provider", "--nomad-addr", "--taskmanagers", "--taskmanager-binary", "--constraint", "--output-dir"} {
		if !strings.Contains(e.out.String(), flag+" ") {
			t.Errorf("help lacks %s", flag)
		}
	}
	if strings.Contains(e.out.String(), "--consul-token string") || strings.Contains(e.out.String(), "SLUICE_CONSUL)") {
		t.Errorf("jobspec's help shows the global --consul flags it shadows:\n%s", e.out.String())
	}
}
