package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/examples/nexmark"
	"go.uber.org/goleak"
)

// runMainEnv makes the test binary run main instead of the tests, for the
// tests that need a process of their own (plan mode exits).
const runMainEnv = "NEXMARK_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

func call(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	code = realMain(ctx, args, &out, &errs)
	return code, out.String(), errs.String()
}

func TestRunQ1(t *testing.T) {
	code, out, errs := call(t, "run", "--query", "q1", "--events", "10000")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// 46 of every 50 events are bids, and q1 emits every bid.
	if !strings.Contains(out, "q1 (") || !strings.Contains(out, "10000 events in") || !strings.Contains(out, "; 9200 rows") {
		t.Fatalf("summary:\n%s", out)
	}
}

func TestRunKeyedQueryAtParallelism2(t *testing.T) {
	code, out, errs := call(t, "run", "--query", "q3", "--events", "50000", "--parallelism", "2", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Q3 Join") || !strings.Contains(out, "2 subtasks") {
		t.Fatalf("summary:\n%s", out)
	}
}

func TestBenchPrintsATable(t *testing.T) {
	code, out, errs := call(t, "bench", "--events", "20000", "--queries", "q0,q2,q5", "--rounds", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"events/s/core", "plain events/s", "Flink 1.13", "155K", "175K", "22K"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in:\n%s", want, out)
		}
	}
	var rows int
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 8 && (f[0] == "q0" || f[0] == "q2" || f[0] == "q5") {
			rows++
		}
	}
	if rows != 3 {
		t.Fatalf("%d table rows, want 3:\n%s", rows, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, `no command "frobnicate"`},
		{[]string{"run", "--query", "q6"}, 2, `no query "q6"`},
		{[]string{"run", "--bogus"}, 2, "bogus"},
		{[]string{"bench", "--events", "0"}, 2, "--events must be positive"},
		{[]string{"bench", "--queries", "q0,qq"}, 2, `no query "qq"`},
	} {
		code, _, errs := call(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	for _, name := range nexmark.QueryNames() {
		if nexmark.Queries[name].Build != nil {
			continue
		}
		// A windowed query, until the stream API has windows.
		if code, _, errs := call(t, "run", "--query", name, "--events", "10"); code != 1 || !strings.Contains(errs, "needs windows") {
			t.Errorf("run --query %s: exit %d, stderr %q; want exit 1, needs windows", name, code, errs)
		}
	}
}

// TestPlanMode: as a job binary, nexmark prints its job graph with
// SLUICE_MODE=plan, which is how jmctl submits it to a cluster.
func TestPlanMode(t *testing.T) {
	cmd := exec.Command(os.Args[0], "run", "--query", "q4", "--parallelism", "3")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "SLUICE_MODE=plan")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var g struct {
		Name      string
		Operators []struct {
			Name        string
			Parallelism int
		}
	}
	if err := json.Unmarshal(out, &g); err != nil {
		t.Fatalf("plan is not JSON: %v\n%s", err, out)
	}
	if g.Name != "nexmark-q4" || len(g.Operators) != 5 {
		t.Fatalf("plan %+v", g)
	}
	for _, op := range g.Operators {
		if op.Parallelism != 3 {
			t.Fatalf("operator %q at parallelism %d, want 3", op.Name, op.Parallelism)
		}
	}
}
