package plugins_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/plugins"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, plugins.BinaryPrefix+"fake")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got, err := plugins.Find("fake"); err != nil || got != bin {
		t.Errorf("Find(fake) = %q, %v, want %q", got, err, bin)
	}
	if got, err := plugins.Find("/opt/x/backend"); err != nil || got != "/opt/x/backend" {
		t.Errorf("Find of a path = %q, %v", got, err)
	}
	_, err := plugins.Find("nosuch")
	if err == nil || !strings.Contains(err.Error(), plugins.BinaryPrefix+"nosuch") || !strings.Contains(err.Error(), "go build") {
		t.Errorf("Find(nosuch) = %v, want an error naming the binary and how to build it", err)
	}
}
