package consultest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// EnvBinary names the environment variable that overrides where the consul
// binary is found.
const EnvBinary = "SLUICE_CONSUL"

// binary returns the path of the consul executable: $SLUICE_CONSUL if set,
// otherwise <module root>/bin/consul.
func binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("$%s=%s: %w; point it at a consul binary or unset it to use bin/consul from `make tools`", EnvBinary, p, err)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "consul")
	if err := executable(p); err != nil {
		return "", fmt.Errorf("%w; run `make tools` in %s to build it (one-time, about five minutes), or set $%s", err, root, EnvBinary)
	}
	return p, nil
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("consul not found at %s", p)
	case err != nil:
		return fmt.Errorf("consul: %w", err)
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return fmt.Errorf("consul at %s is not an executable file", p)
	}
	return nil
}

// moduleRoot finds the directory holding the main module's go.mod, walking
// up from the working directory (a test runs in its package's directory)
// and, failing that, from this source file.
func moduleRoot() (string, error) {
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
	return "", fmt.Errorf("consul: cannot find the module root (go.mod) to locate bin/consul; set $%s", EnvBinary)
}
