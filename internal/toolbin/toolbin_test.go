package toolbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleRootHoldsThisPackage(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "toolbin", "toolbin.go")); err != nil {
		t.Fatalf("module root %s does not hold internal/toolbin: %v", root, err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  string
		want string // in the error; "" means found
	}{
		{exe, ""},
		{filepath.Join(dir, "missing"), "not found"},
		{plain, "not an executable file"},
		{dir, "not an executable file"},
	} {
		t.Setenv("SLUICE_TOOLBIN_TEST", tc.env)
		p, err := Find("tool", "SLUICE_TOOLBIN_TEST")
		switch {
		case tc.want == "" && (err != nil || p != exe):
			t.Fatalf("Find with $SLUICE_TOOLBIN_TEST=%s = %q, %v; want %s", tc.env, p, err, exe)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "SLUICE_TOOLBIN_TEST")):
			t.Fatalf("Find with $SLUICE_TOOLBIN_TEST=%s: error %v, want one saying %q and naming the variable", tc.env, err, tc.want)
		}
	}
}

func TestFindMissingSaysMakeTools(t *testing.T) {
	t.Setenv("SLUICE_TOOLBIN_TEST", "")
	_, err := Find("no-such-tool", "SLUICE_TOOLBIN_TEST")
	if err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("error %v does not say the binary is missing and to run make tools", err)
	}
}
