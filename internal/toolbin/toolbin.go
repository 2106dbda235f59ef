// Package toolbin finds the service binaries that `make tools` installs
// into the project's bin folder (versitygw, consul), for the packages that
// start them in tests.
package toolbin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Find returns the path of tool: the one the environment variable env
// names if it is set, otherwise <module root>/bin/<tool>. Its errors name
// the binary and say to run `make tools` (or to set env).
func Find(tool, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if err := executable(tool, p); err != nil {
			return "", fmt.Errorf("$%s=%s: %w; point it at a %s binary or unset it to use bin/%s from `make tools`", env, p, err, tool, tool)
		}
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("%s: %w; set $%s", tool, err, env)
	}
	p := filepath.Join(root, "bin", tool)
	if err := executable(tool, p); err != nil {
		return "", fmt.Errorf("%w; run `make tools` in %s to install it (or set $%s)", err, root, env)
	}
	return p, nil
}

func executable(tool, p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s not found at %s", tool, p)
	case err != nil:
		return fmt.Errorf("%s: %w", tool, err)
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return fmt.Errorf("%s at %s is not an executable file", tool, p)
	}
	return nil
}

// ModuleRoot finds the directory holding the main module's go.mod, walking
// up from the working directory (a test runs in its package's directory)
// and, failing that, from this source file.
func ModuleRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("cannot find the module root (go.mod) to locate the bin folder")
}
