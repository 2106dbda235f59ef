package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager/api"
)

// TestConfigFile starts the jobmanager binary with --config only: it
// listens where the file says, and starts the job's TaskManagers with the
// file's managed memory and the slots of the flag that overrides the
// file.
func TestConfigFile(t *testing.T) {
	addrs := freeAddrs(t, 2)
	dir := t.TempDir()
	file := filepath.Join(dir, "jobmanager.hcl")
	src := fmt.Sprintf(`http_addr = %q
rpc_addr  = %q
data_dir  = %q
provider  = "local"
slots     = 1   # overridden by --slots 2
taskmanager_memory = "96MiB"

heartbeat {
  interval = "200ms"
  timeout  = "2s"
}

restart {
  strategy = "none"
}
`, addrs[0], addrs[1], filepath.Join(dir, "data"))
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cluster{rest: addrs[0], rpc: addrs[1]}
	c.jm = start(t, "jobmanager", nil, bins.jobmanager, "--config", file, "--slots", "2")
	var err error
	if c.client, err = api.NewClient(c.rest); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the JobManager to serve at the file's http_addr", func() bool {
		_, err := c.client.Overview(context.Background())
		return err == nil
	})
	id := c.submit(t, bins.testjob, "--records", "-1", "--rate", "1000", "--parallelism", "3", "--output", t.TempDir())
	// Running: every subtask is deployed, so every TaskManager of the job
	// has registered.
	if d := c.waitJob(t, id, 30*time.Second, "running", "failed"); d.State != "running" {
		t.Fatalf("job %s: %s", d.State, d.Error)
	}
	tms, err := c.client.TaskManagers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tms) != 2 {
		t.Errorf("%d TaskManagers for 3 slots, want 2 of --slots 2 (the file's slots = 1 would make 3)", len(tms))
	}
	for _, tm := range tms {
		if len(tm.Slots) != 2 || tm.ManagedMemory != 96<<20 {
			t.Errorf("TaskManager %s: %d slots, %d bytes of managed memory; want 2 (the flag) and 96MiB (the file)", tm.ID, len(tm.Slots), tm.ManagedMemory)
		}
	}
	if _, err := c.client.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	c.waitJob(t, id, 20*time.Second, "cancelled")
}

// TestBadConfigFile: a file that does not check out stops the jobmanager
// at once, with status 1 and every problem with its file and line.
func TestBadConfigFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(file, []byte("slots = 2\nslot = 4\nrestart {\n  delay = \"soon\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"file", []string{"--config", file}, []string{
			file + `:2,1: Unknown setting "slot" at the top level; did you mean "slots"?`,
			file + `:4,11: Invalid value for restart.delay; "soon" is not a duration`,
		}},
		{"directory", []string{"--config", dir}, []string{file + ":2,1: Unknown setting"}},
		{"missing file", []string{"--config", filepath.Join(dir, "none.hcl")}, []string{"none.hcl: no such file or directory"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bins.jobmanager, tt.args...).CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 {
				t.Fatalf("jobmanager %v: %v, want exit status 1; output:\n%s", tt.args, err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
		})
	}
}
