package savepoint

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseMetadata feeds arbitrary bytes to the savepoint metadata
// reader (a savepoint directory is user input): an error or metadata that
// passes validation and encodes back, never a panic.
func FuzzParseMetadata(f *testing.F) {
	good := `{"format":"sluice-savepoint","version":1,"jobId":"j","operators":[{"uid":"a","keyed":true,"parallelism":2,"maxParallelism":128,"states":["state-0-0",""],"checksums":["ab",""]}]}`
	f.Add([]byte(good))
	f.Add([]byte(strings.Replace(good, `"version":1`, `"version":2`, 1)))
	f.Add([]byte(strings.Replace(good, `"parallelism":2`, `"parallelism":3`, 1)))
	f.Add([]byte(`{"format":"sluice-savepoint","version":1,"operators":[{"uid":"a","parallelism":1,"states":["../../etc/passwd"]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		if err := m.validate(); err != nil {
			t.Fatalf("Parse accepted metadata that does not validate: %v", err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("accepted metadata does not encode: %v", err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("accepted metadata does not parse back: %v", err)
		}
	})
}

// FuzzParseLocation checks that no accepted location escapes its root: a
// directory is clean and absolute, a backend prefix has no "." or ".."
// segment and no scheme.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"file:///var/sp/x", "file:///var/sp/../../etc", "file://relative", "savepoints/j-1",
		"savepoints/../x", "/abs", "s3://bucket/x", "a//b", "./a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseLocation(s)
		if err != nil {
			return
		}
		if loc.Dir != "" {
			if !filepath.IsAbs(loc.Dir) || filepath.Clean(loc.Dir) != loc.Dir || loc.Dir == "/" {
				t.Fatalf("ParseLocation(%q) accepted directory %q", s, loc.Dir)
			}
			return
		}
		if strings.Contains(loc.Prefix, "://") || strings.HasPrefix(loc.Prefix, "/") {
			t.Fatalf("ParseLocation(%q) accepted prefix %q", s, loc.Prefix)
		}
		for _, seg := range strings.Split(loc.Prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("ParseLocation(%q) accepted prefix %q with segment %q", s, loc.Prefix, seg)
			}
		}
	})
}
