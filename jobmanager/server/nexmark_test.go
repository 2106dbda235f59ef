package server_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/examples/nexmark"
)

// TestNexmarkAcrossTaskManagers runs the windowed and joining Nexmark
// queries at parallelism 2 on two TaskManager processes of one slot each,
// so that records, watermarks and both inputs of the window co-group cross
// the data plane, and compares the rows with the plain-Go reference.
func TestNexmarkAcrossTaskManagers(t *testing.T) {
	const events = 300_000
	for _, name := range []string{"q3", "q5", "q7", "q8"} {
		t.Run(name, func(t *testing.T) {
			c := startJobManager(t, "--provider", "standalone")
			output := t.TempDir()
			args := []string{"run", "--query", name, "--events", "300000", "--seed", "7", "--parallelism", "2", "--output", output}
			c.startTaskManager(t, "tm-1", 1, bins.nexmark, args...)
			c.startTaskManager(t, "tm-2", 1, bins.nexmark, args...)
			c.waitTaskManagers(t, 2)
			id := c.submit(t, bins.nexmark, args...)
			d := c.waitJob(t, id, 2*time.Minute, "finished", "failed")
			if d.State != "finished" {
				t.Fatalf("%s: job %s: %s", name, d.State, d.Error)
			}
			parts, _ := filepath.Glob(filepath.Join(output, "part-*"))
			var got []string
			for _, p := range parts {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if s := strings.TrimSuffix(string(data), "\n"); s != "" {
					got = append(got, strings.Split(s, "\n")...)
				}
			}
			slices.Sort(got)
			want := nexmark.Queries[name].Reference(nexmark.Events(nexmark.Config{Seed: 7, Events: events}))
			if len(want) == 0 {
				t.Fatalf("%s: the reference has no rows; the test would prove nothing", name)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s across two TaskManagers: %d rows, the reference %d; first rows\n got %.5q\nwant %.5q", name, len(got), len(want), got, want)
			}
		})
	}
}
