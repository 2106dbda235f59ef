// Command docgen writes the configuration reference, docs/configuration.md,
// and the usage of the jobmanager's flags, jobmanager/config/usage_gen.go,
// from the doc comments of the configuration file's schema
// (jobmanager/config/file.go), the defaults (config.Defaults), the
// TaskManager's environment variables (the Env constants of
// taskmanager/agent and their comments) and the flags of cmd/taskmanager.
// Run it from anywhere in the module:
//
//	go run ./internal/docgen          # or: go generate ./jobmanager/config
//
// Its test fails when either file is out of date.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
	files, err := generate(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
	for _, f := range files {
		path := filepath.Join(root, f.path)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "docgen:", err)
			os.Exit(1)
		}
		fmt.Println("docgen: wrote", f.path)
	}
}

// moduleRoot finds the directory of the module's go.mod, from the
// working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/sluicehq/sluice\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the module github.com/sluicehq/sluice; run it from the repository")
		}
		dir = parent
	}
}
