package jobgraph

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sealedJSON returns the Marshal output of g, failing the test on error.
func sealedJSON(t *testing.T, g *Graph) []byte {
	t.Helper()
	data, err := g.Marshal()
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	return data
}

func TestMarshalParseRoundTrip(t *testing.T) {
	for _, g := range []*Graph{pipeline(), wordCount()} {
		t.Run(g.Name, func(t *testing.T) {
			g.Operators[0].Bounded = true
			g.Operators[0].UIDExplicit = true
			g.Operators[1].OutType = "string"
			data := sealedJSON(t, g) // seals g
			if g.Fingerprint == "" {
				t.Fatal("Marshal did not seal the graph")
			}
			back, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(Marshal()) = %v\n%s", err, data)
			}
			if !reflect.DeepEqual(back, g) {
				t.Errorf("round trip changed the graph:\n got %+v\nwant %+v", back, g)
			}
			again := sealedJSON(t, back)
			if !bytes.Equal(again, data) {
				t.Errorf("Marshal(Parse(data)) != data:\n%s\n%s", again, data)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	invalid := pipeline()
	invalid.Operators[1].Parallelism = 0
	if _, err := invalid.Marshal(); !errors.Is(err, ErrParallelism) {
		t.Errorf("Marshal(invalid) = %v, want ErrParallelism", err)
	}

	stale := pipeline()
	if err := stale.Seal(); err != nil {
		t.Fatal(err)
	}
	stale.Operators[1].Parallelism = 1
	stale.Operators[0].Parallelism = 1
	stale.Operators[2].Parallelism = 1
	stale.Operators[3].Parallelism = 1
	_, err := stale.Marshal()
	if !errors.Is(err, ErrFingerprint) || !strings.Contains(err.Error(), "call Seal again") {
		t.Errorf("Marshal(edited after Seal) = %v, want ErrFingerprint telling to Seal again", err)
	}
}

// planJSON marshals g as a generic JSON object, lets edit change it and
// returns the encoding.
func planJSON(t *testing.T, g *Graph, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(sealedJSON(t, g), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseErrors(t *testing.T) {
	valid := sealedJSON(t, pipeline())
	tests := []struct {
		name     string
		data     []byte
		sentinel error
		contains string
	}{
		{"empty input", nil, ErrInvalid, "not a JSON plan object"},
		{"garbage", []byte("\x00\xffnot json"), ErrInvalid, "not a JSON plan object"},
		{"json array", []byte("[1,2,3]"), ErrInvalid, "not a JSON plan object"},
		{"truncated", valid[:len(valid)/2], ErrInvalid, "not a JSON plan object"},
		{"null", []byte("null"), ErrInvalid, `no "version" field`},
		{"empty object", []byte("{}"), ErrInvalid, `no "version" field`},
		{"version of the wrong type", []byte(`{"version":"1"}`), ErrInvalid, "not a JSON plan object"},
		{"wrong version", planJSON(t, pipeline(), func(m map[string]any) { m["version"] = 2 }), ErrInvalid,
			"plan format version is 2 but this build reads version 1"},
		{"unknown field", planJSON(t, pipeline(), func(m map[string]any) { m["priority"] = 3 }), ErrInvalid, `unknown field "priority"`},
		{"unknown operator field", planJSON(t, pipeline(), func(m map[string]any) {
			m["operators"].([]any)[0].(map[string]any)["color"] = "red"
		}), ErrInvalid, `unknown field "color"`},
		{"trailing data", append(append([]byte(nil), valid...), []byte(`{"version":1}`)...), ErrInvalid, "unexpected data after the plan object"},
		{"trailing garbage", append(append([]byte(nil), valid...), 'x'), ErrInvalid, "unexpected data after the plan object"},
		{"oversized", append(bytes.Repeat([]byte(" "), maxPlanSize), valid...), ErrInvalid, "more than the limit of 16777216 bytes"},
		{"wrong fingerprint", planJSON(t, pipeline(), func(m map[string]any) {
			m["fingerprint"] = strings.Repeat("0", 64)
		}), ErrFingerprint, "does not match the content"},
		{"edited after sealing", planJSON(t, pipeline(), func(m map[string]any) {
			m["operators"].([]any)[1].(map[string]any)["name"] = "renamed"
		}), ErrFingerprint, "does not match the content"},
		{"no fingerprint", planJSON(t, pipeline(), func(m map[string]any) { delete(m, "fingerprint") }), ErrFingerprint, "has no fingerprint"},
		{"invalid graph", planJSON(t, pipeline(), func(m map[string]any) {
			m["operators"].([]any)[1].(map[string]any)["parallelism"] = 0
		}), ErrParallelism, `operator "parse" (uid map): parallelism is 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("Parse() = %+v, want an error", g)
			}
			if g != nil {
				t.Errorf("Parse() returned a graph with error %v", err)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("Parse() = %v, want %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("Parse() error\n\t%v\ndoes not contain\n\t%s", err, tt.contains)
			}
		})
	}
}

func TestParseAcceptsSurroundingWhitespace(t *testing.T) {
	data := append(append([]byte("\n  "), sealedJSON(t, pipeline())...), "\n\n"...)
	if _, err := Parse(data); err != nil {
		t.Fatalf("Parse() = %v", err)
	}
}
