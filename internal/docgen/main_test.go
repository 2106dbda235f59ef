package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFilesAreFresh fails when docs/configuration.md or
// jobmanager/config/usage_gen.go differs from what the generator writes
// now: a setting, a doc comment, a default, a TaskManager variable or flag
// changed without regenerating.
func TestGeneratedFilesAreFresh(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(root, f.path))
		if err != nil {
			t.Errorf("%s: %v; run `%s` from the repository root to create it", f.path, err, regenCommand)
			continue
		}
		if !bytes.Equal(old, f.data) {
			t.Errorf("%s is out of date (%s); run `%s` from the repository root (or go generate ./jobmanager/config) and commit the result",
				f.path, firstDifference(old, f.data), regenCommand)
		}
	}
}

// firstDifference describes the first line where the file and what the
// generator writes differ.
func firstDifference(old, cur []byte) string {
	a, b := strings.Split(string(old), "\n"), strings.Split(string(cur), "\n")
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: has %q, the generator writes %q", i+1, shorten(x), shorten(y))
		}
	}
	return "they differ"
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// TestFieldDocs: doc comments are read as one paragraph.
func TestFieldDocs(t *testing.T) {
	docs, err := fieldDocs(filepath.Join("..", "..", schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	if d := docs["Restart.Attempts"]; !strings.Contains(d, "restarts allowed") {
		t.Errorf("doc of Restart.Attempts = %q", d)
	}
}
