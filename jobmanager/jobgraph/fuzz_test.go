package jobgraph

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// survives a Marshal/Parse round trip and can be split into tasks. As few
// random inputs carry a matching fingerprint, it also decodes the input
// leniently and, if that gives a valid graph, seals it and checks that it
// round-trips, so the fuzzer explores valid graphs too. The seed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, g := range []*Graph{pipeline(), wordCount()} {
		data, err := g.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"operators":[{"uid":"a"}],"edges":[{"source":"a","target":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) <= maxPlanSize {
			checkSealRoundTrip(t, data)
		}
		g, err := Parse(data)
		if err != nil {
			if g != nil {
				t.Fatalf("Parse returned a graph and the error %v", err)
			}
			return
		}
		out, err := g.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed graph: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(data))): %v\n%s", err, out)
		}
		if back.Fingerprint != g.Fingerprint {
			t.Fatalf("fingerprint changed in the round trip: %s then %s", g.Fingerprint, back.Fingerprint)
		}
		tasks, edges := g.Tasks()
		checkTasksAgreeWithChainable(t, g, tasks, edges)
	})
}

// checkSealRoundTrip decodes data without the checks of Parse and, if it
// is a valid graph, checks that Seal, Marshal and Parse accept it and that
// Tasks agrees with Chainable.
func checkSealRoundTrip(t *testing.T, data []byte) {
	var g Graph
	if json.Unmarshal(data, &g) != nil || g.Validate() != nil {
		return
	}
	out, err := g.Marshal() // seals g if it has no fingerprint
	if errors.Is(err, ErrFingerprint) {
		if err := g.Seal(); err != nil {
			t.Fatalf("Seal of a valid graph: %v", err)
		}
		out, err = g.Marshal()
	}
	if err != nil {
		t.Fatalf("Marshal of a valid graph: %v", err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(valid graph)): %v\n%s", err, out)
	}
	// Marshal writes nil slices as empty ones, so compare canonical forms.
	if back.Fingerprint != g.Fingerprint || !reflect.DeepEqual(back.canonical(), g.canonical()) {
		t.Fatalf("round trip changed the graph:\n got %+v\nwant %+v", back, &g)
	}
	tasks, edges := g.Tasks()
	checkTasksAgreeWithChainable(t, &g, tasks, edges)
}

// TestFuzzSeedCorpusHasValidGraph keeps the checked-in valid seed in step
// with the format: if the encoding or the fingerprint changes, regenerate it.
func TestFuzzSeedCorpusHasValidGraph(t *testing.T) {
	path := filepath.Join("testdata", "fuzz", "FuzzParse", "valid_wordcount")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" ||
		!strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
		t.Fatalf("%s is not a one-value go test fuzz v1 file", path)
	}
	data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	g, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("the valid seed no longer parses: %v", err)
	}
	want, err := wordCount().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(data), want) {
		t.Errorf("valid seed differs from wordCount().Marshal(); regenerate %s", path)
	}
	_ = g
}
