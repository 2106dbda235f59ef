package savepoint

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseLocation(t *testing.T) {
	accepted := []struct {
		in   string
		want Location
	}{
		{"savepoints/ab-1", Location{Prefix: "savepoints/ab-1"}},
		{"sp", Location{Prefix: "sp"}},
		{"a.b_c=d/E-9", Location{Prefix: "a.b_c=d/E-9"}},
		{"file:///tmp/x/y", Location{Dir: "/tmp/x/y"}},
		{"file:///sp", Location{Dir: "/sp"}},
	}
	for _, tc := range accepted {
		t.Run("ok "+tc.in, func(t *testing.T) {
			got, err := ParseLocation(tc.in)
			if err != nil {
				t.Fatalf("ParseLocation(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseLocation(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.in {
				t.Fatalf("String() = %q, want %q", s, tc.in)
			}
			again, err := ParseLocation(got.String())
			if err != nil || again != got {
				t.Fatalf("ParseLocation(String()) = %+v, %v; want %+v", again, err, got)
			}
		})
	}

	refused := []string{
		"",
		"file://",
		"file:///",
		"file://rel/x",
		"file://./x",
		"file:///tmp/../etc",
		"file:///tmp/x/",
		"file:///tmp//x",
		"file:///tmp/./x",
		"s3://b/k",
		"http://host/x",
		"://x",
		"/abs/prefix",
		"savepoints/",
		"savepoints//x",
		"savepoints/../x",
		"../x",
		"..",
		".",
		"savepoints/./x",
		"save points/x",
		"savepoints/a:b",
		`savepoints\x`,
		"savepoints/ä",
		strings.Repeat("a", 1025),
	}
	for _, in := range refused {
		name := in
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		t.Run("refused "+name, func(t *testing.T) {
			got, err := ParseLocation(in)
			if err == nil {
				t.Fatalf("ParseLocation(%q) = %+v, want an error", in, got)
			}
			if !errors.Is(err, ErrLocation) {
				t.Fatalf("ParseLocation(%q) error %v does not wrap ErrLocation", in, err)
			}
			if got != (Location{}) {
				t.Fatalf("ParseLocation(%q) returned %+v with its error, want the zero Location", in, got)
			}
			// A wrong scheme or directory is answered with the right form.
			if strings.Contains(in, "://") && !strings.Contains(err.Error(), "file:///") {
				t.Errorf("error %q does not show the file:/// form", err)
			}
		})
	}
}

func validMetadata() *Metadata {
	return &Metadata{
		Format:      Format,
		Version:     Version,
		JobID:       "ab12",
		JobName:     "wordcount",
		Checkpoint:  7,
		Created:     time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC),
		Fingerprint: "f00d",
		Operators: []Operator{
			{UID: "src", Name: "lines", Parallelism: 2, MaxParallelism: 128,
				States: []string{"state-0-0", "state-0-1"}, Checksums: []string{"aa", "bb"}},
			{UID: "count", Name: "count", Keyed: true, Parallelism: 3, MaxParallelism: 64,
				States: []string{"state-1-0", "", "state-1-2"}, Checksums: []string{"cc", "", "dd"}},
		},
	}
}

func TestMarshalParseRoundTrip(t *testing.T) {
	m := validMetadata()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal()): %v\n%s", err, data)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip changed the metadata:\n got %+v\nwant %+v", got, m)
	}
	// Stable encoding: marshalling the parsed value gives the same bytes.
	again, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Fatalf("re-marshalled metadata differs:\n%s\nvs\n%s", again, data)
	}

	// No operators at all is a valid (stateless) savepoint.
	empty := &Metadata{Format: Format, Version: Version, JobID: "x"}
	data, err = empty.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		t.Fatalf("Parse of a savepoint without operators: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(m *Metadata)
		raw    string // used instead of edit when set
		inMsgs []string
	}{
		{name: "wrong format", edit: func(m *Metadata) { m.Format = "flink-savepoint" }, inMsgs: []string{`"flink-savepoint"`}},
		{name: "empty format", edit: func(m *Metadata) { m.Format = "" }},
		{name: "version 2", edit: func(m *Metadata) { m.Version = 2 }, inMsgs: []string{"version 2"}},
		{name: "version 0", edit: func(m *Metadata) { m.Version = 0 }, inMsgs: []string{"version 0"}},
		{name: "duplicate uid", edit: func(m *Metadata) { m.Operators[1].UID = "src" }, inMsgs: []string{`"src"`}},
		{name: "empty uid", edit: func(m *Metadata) { m.Operators[0].UID = "" }},
		{name: "fewer states than parallelism", edit: func(m *Metadata) { m.Operators[1].Parallelism = 4 }, inMsgs: []string{"count", "parallelism 4", "3 states"}},
		{name: "more states than parallelism", edit: func(m *Metadata) { m.Operators[0].Parallelism = 1 }, inMsgs: []string{"src"}},
		{name: "zero parallelism", edit: func(m *Metadata) { m.Operators[0].Parallelism, m.Operators[0].States = 0, nil }},
		{name: "garbage", raw: "not json {"},
		{name: "empty input", raw: ""},
		{name: "array", raw: `[1, 2]`},
		{name: "wrong type", raw: `{"format": "sluice-savepoint", "version": "1"}`},
		{name: "only format", raw: `{"format": "sluice-savepoint"}`, inMsgs: []string{"version 0"}},
		{name: "raw version 2", raw: `{"format": "sluice-savepoint", "version": 2, "operators": []}`, inMsgs: []string{"version 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.edit != nil {
				m := validMetadata()
				tc.edit(m)
				var err error
				if data, err = m.Marshal(); err != nil {
					t.Fatal(err)
				}
			}
			m, err := Parse(data)
			if err == nil {
				t.Fatalf("Parse accepted %s as %+v", data, m)
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			if m != nil {
				t.Fatalf("Parse returned metadata %+v with its error", m)
			}
			for _, s := range tc.inMsgs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}
