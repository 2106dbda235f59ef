package rest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/jobmanager/api"
	"github.com/sluicehq/sluice/jobmanager/jobgraph"
)

// graphWithEveryPartitioning: a chain that fans out (src -> map -> filter,
// all forward), a keyed sum with its chained sink, and edges of every
// other partitioning.
func graphWithEveryPartitioning() *jobgraph.Graph {
	op := func(uid, name, kind string, p int) jobgraph.Operator {
		return jobgraph.Operator{UID: uid, Name: name, Kind: kind, Parallelism: p, MaxParallelism: 128,
			SlotSharingGroup: jobgraph.DefaultSlotSharingGroup, Chaining: jobgraph.ChainAlways}
	}
	sum := op("sum", "Sum", "reduce", 3)
	sum.Keyed = true
	src := op("src", "Numbers", "source", 2)
	src.Bounded = true
	return &jobgraph.Graph{Version: jobgraph.FormatVersion, Name: "shapes", Operators: []jobgraph.Operator{
		src, op("map", "Double", "map", 2), op("filter", "Odd", "filter", 2),
		sum, op("sink", "Sums", "sink", 3), op("print", "Print", "sink", 1), op("copy", "Copies", "sink", 2),
	}, Edges: []jobgraph.Edge{
		{Source: "src", Target: "map", Partitioning: jobgraph.Forward},
		{Source: "map", Target: "filter", Partitioning: jobgraph.Forward},
		{Source: "map", Target: "sum", Partitioning: jobgraph.Hash},
		{Source: "sum", Target: "sink", Partitioning: jobgraph.Forward},
		{Source: "filter", Target: "print", Partitioning: jobgraph.Rebalance},
		{Source: "filter", Target: "copy", Partitioning: jobgraph.Broadcast},
	}}
}

func TestJobGraph(t *testing.T) {
	srv, jm := newServer(t)
	ctx := context.Background()
	data, err := graphWithEveryPartitioning().Marshal() // as a job binary prints it, with its fingerprint
	if err != nil {
		t.Fatal(err)
	}
	id, err := jm.Submit(ctx, jobmanager.Submission{Graph: mustParse(t, data)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Graph(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if g.JobID != id || g.Name != "shapes" || g.Fingerprint == "" {
		t.Errorf("graph header: %+v", g)
	}
	type op struct{ uid, kind, chainedTo string }
	want := []struct {
		id, name    string
		parallelism int
		ops         []op
	}{
		{"src", "Numbers -> Double -> Odd", 2, []op{{"src", "source", ""}, {"map", "map", "src"}, {"filter", "filter", "map"}}},
		{"sum", "Sum -> Sums", 3, []op{{"sum", "reduce", ""}, {"sink", "sink", "sum"}}},
		{"print", "Print", 1, []op{{"print", "sink", ""}}},
		{"copy", "Copies", 2, []op{{"copy", "sink", ""}}},
	}
	if len(g.Tasks) != len(want) {
		t.Fatalf("%d tasks, want %d: %+v", len(g.Tasks), len(want), g.Tasks)
	}
	for i, w := range want {
		got := g.Tasks[i]
		if got.ID != w.id || got.Name != w.name || got.Parallelism != w.parallelism || got.MaxParallelism != 128 ||
			got.SlotSharingGroup != "default" || len(got.Operators) != len(w.ops) {
			t.Errorf("task %d: %+v, want %+v", i, got, w)
			continue
		}
		for j, o := range w.ops {
			if g := got.Operators[j]; g.UID != o.uid || g.Kind != o.kind || g.ChainedTo != o.chainedTo {
				t.Errorf("task %s operator %d: %+v, want %+v", w.id, j, g, o)
			}
		}
	}
	if !g.Tasks[0].Operators[0].Bounded || !g.Tasks[1].Operators[0].Keyed {
		t.Errorf("bounded and keyed flags lost: %+v %+v", g.Tasks[0].Operators[0], g.Tasks[1].Operators[0])
	}
	wantEdges := []api.GraphEdge{
		{Source: "src", Target: "sum", SourceOperator: "map", TargetOperator: "sum", Partitioning: "hash"},
		{Source: "src", Target: "print", SourceOperator: "filter", TargetOperator: "print", Partitioning: "rebalance"},
		{Source: "src", Target: "copy", SourceOperator: "filter", TargetOperator: "copy", Partitioning: "broadcast"},
	}
	if len(g.Edges) != len(wantEdges) {
		t.Fatalf("edges %+v, want %+v", g.Edges, wantEdges)
	}
	for i := range wantEdges {
		if g.Edges[i] != wantEdges[i] {
			t.Errorf("edge %d: %+v, want %+v", i, g.Edges[i], wantEdges[i])
		}
	}

	// A job without a task edge still has an edges array, not null.
	one, err := jm.Submit(ctx, jobmanager.Submission{Graph: mustParse(t, validGraph(t))})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, "GET", srv.URL+"/v1/jobs/"+one+"/graph", nil); code != http.StatusOK || !strings.Contains(body, `"edges": []`) {
		t.Errorf("graph of a one-operator job: %d %s", code, body)
	}

	// Unknown jobs are a 404 that says what to do.
	var apiErr *api.APIError
	if _, err := c.Graph(ctx, "nope"); !errors.Is(err, api.ErrNotFound) || !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "GET /v1/jobs") {
		t.Errorf("graph of an unknown job: %v", err)
	}
}

func mustParse(t *testing.T, data []byte) *jobgraph.Graph {
	t.Helper()
	g, err := jobgraph.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
