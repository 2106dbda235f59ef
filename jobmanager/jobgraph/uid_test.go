package jobgraph

import (
	"regexp"
	"testing"
)

var uidPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestDeriveUID(t *testing.T) {
	type args struct {
		kind    string
		inputs  []string
		ordinal int
	}
	cases := []args{
		{"source", nil, 0},
		{"source", nil, 1},
		{"source", []string{}, 2},
		{"map", nil, 0},
		{"map", []string{"a"}, 0},
		{"map", []string{"a"}, 1},
		{"map", []string{"b"}, 0},
		{"filter", []string{"a"}, 0},
		{"map", []string{"a", "b"}, 0},
		{"map", []string{"b", "a"}, 0},
		{"map", []string{"ab"}, 0},
		{"map", []string{"a", ""}, 0},
		{"map", []string{"", "a"}, 0},
		{"mapa", nil, 0},
		{"map", []string{"a"}, -1},
	}
	seen := map[string]args{}
	for _, c := range cases {
		uid := DeriveUID(c.kind, c.inputs, c.ordinal)
		if !uidPattern.MatchString(uid) {
			t.Errorf("DeriveUID(%q, %q, %d) = %q, want 16 lowercase hex chars", c.kind, c.inputs, c.ordinal, uid)
		}
		if again := DeriveUID(c.kind, append([]string(nil), c.inputs...), c.ordinal); again != uid {
			t.Errorf("DeriveUID(%q, %q, %d) not deterministic: %s then %s", c.kind, c.inputs, c.ordinal, uid, again)
		}
		if prev, dup := seen[uid]; dup {
			t.Errorf("DeriveUID(%+v) = DeriveUID(%+v) = %s", c, prev, uid)
		}
		seen[uid] = c
	}
	// Pinned, so a derived uid (and the state keyed by it) survives
	// rebuilding the program with a newer Sluice.
	if got, want := DeriveUID("map", []string{"0123456789abcdef"}, 0), "9fc3ae5ebc1a014b"; got != want {
		t.Errorf("DeriveUID golden = %s, want %s", got, want)
	}
}
