package jobgraph

import (
	"regexp"
	"testing"
)

// goldenPipelineFingerprint is the fingerprint of pipeline(). It pins the
// canonical encoding: if it changes, plans sealed by older builds no longer
// parse, so change it only together with FormatVersion.
const goldenPipelineFingerprint = "2457be4e44a44899aee43b655a0060f726d5f5dce08dcb26178b3a3d17bf0443"

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestComputeFingerprintStable(t *testing.T) {
	fp := pipeline().ComputeFingerprint()
	if !hexSHA256.MatchString(fp) {
		t.Fatalf("fingerprint %q is not a hex sha256", fp)
	}
	if fp != goldenPipelineFingerprint {
		t.Errorf("fingerprint = %s, want %s (the canonical encoding changed)", fp, goldenPipelineFingerprint)
	}
	if again := pipeline().ComputeFingerprint(); again != fp {
		t.Errorf("fingerprint not deterministic: %s then %s", fp, again)
	}
}

func TestComputeFingerprintIgnoresFingerprintAndNilSlices(t *testing.T) {
	g := pipeline()
	want := g.ComputeFingerprint()
	g.Fingerprint = "something else"
	if got := g.ComputeFingerprint(); got != want {
		t.Errorf("fingerprint depends on the Fingerprint field: %s vs %s", got, want)
	}
	a := &Graph{Version: FormatVersion, Name: "x"}
	b := &Graph{Version: FormatVersion, Name: "x", Operators: []Operator{}, Edges: []Edge{}}
	if a.ComputeFingerprint() != b.ComputeFingerprint() {
		t.Error("nil and empty slices give different fingerprints")
	}
}

func TestComputeFingerprintChanges(t *testing.T) {
	base := pipeline().ComputeFingerprint()
	tests := []struct {
		name   string
		mutate func(g *Graph)
	}{
		{"version", func(g *Graph) { g.Version++ }},
		{"graph name", func(g *Graph) { g.Name = "other" }},
		{"chaining disabled", func(g *Graph) { g.ChainingDisabled = true }},
		{"operator order", func(g *Graph) { g.Operators[1], g.Operators[2] = g.Operators[2], g.Operators[1] }},
		{"operator added", func(g *Graph) { g.Operators = append(g.Operators, newOp("x", "x", "source", 1)) }},
		{"uid", func(g *Graph) { g.Operators[1].UID = "map2" }},
		{"uid explicit", func(g *Graph) { g.Operators[1].UIDExplicit = true }},
		{"operator name", func(g *Graph) { g.Operators[1].Name = "parse2" }},
		{"kind", func(g *Graph) { g.Operators[1].Kind = "process" }},
		{"parallelism", func(g *Graph) { g.Operators[1].Parallelism = 3 }},
		{"max parallelism", func(g *Graph) { g.Operators[1].MaxParallelism = 256 }},
		{"slot-sharing group", func(g *Graph) { g.Operators[1].SlotSharingGroup = "io" }},
		{"chaining", func(g *Graph) { g.Operators[1].Chaining = ChainHead }},
		{"keyed", func(g *Graph) { g.Operators[1].Keyed = true }},
		{"bounded", func(g *Graph) { g.Operators[0].Bounded = true }},
		{"out type", func(g *Graph) { g.Operators[1].OutType = "string" }},
		{"partitioning", func(g *Graph) { g.Edges[1].Partitioning = Rebalance }},
		{"edge source", func(g *Graph) { g.Edges[2].Source = "map" }},
		{"edge target", func(g *Graph) { g.Edges[0].Target = "flt" }},
		{"edge order", func(g *Graph) { g.Edges[0], g.Edges[1] = g.Edges[1], g.Edges[0] }},
		{"edge removed", func(g *Graph) { g.Edges = g.Edges[:2] }},
	}
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := pipeline()
			tt.mutate(g)
			fp := g.ComputeFingerprint()
			if prev, dup := seen[fp]; dup {
				t.Errorf("fingerprint %s equals that of %q", fp, prev)
			}
			seen[fp] = tt.name
		})
	}
}

func TestSeal(t *testing.T) {
	g := pipeline()
	if err := g.Seal(); err != nil {
		t.Fatalf("Seal() = %v", err)
	}
	if g.Fingerprint != g.ComputeFingerprint() {
		t.Errorf("Seal set %q, want %q", g.Fingerprint, g.ComputeFingerprint())
	}

	bad := pipeline()
	bad.Operators[0].Parallelism = 0
	if err := bad.Seal(); err == nil {
		t.Fatal("Seal() of an invalid graph succeeded")
	}
	if bad.Fingerprint != "" {
		t.Errorf("Seal of an invalid graph set the fingerprint to %q", bad.Fingerprint)
	}
}
