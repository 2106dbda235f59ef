package s3test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// EnvBinary names the environment variable that overrides where the
// versitygw binary is found.
const EnvBinary = "SLUICE_VERSITYGW"

// binary returns the path of the versitygw executable: $SLUICE_VERSITYGW
// if set, otherwise <module root>/bin/versitygw.
func binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("$%s=%s: %w; point it at a versitygw binary or unset it to use bin/versitygw from `make tools`", EnvBinary, p, err)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "versitygw")
	if err := executable(p); err != nil {
		return "", fmt.Errorf("%w; run `make tools` in %s to install it (or set $%s)", err, root, EnvBinary)
	}
	return p, nil
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("versitygw not found at %s", p)
	case err != nil:
		return fmt.Errorf("versitygw: %w", err)
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return fmt.Errorf("versitygw at %s is not an executable file", p)
	}
	return nil
}

// moduleRoot finds the directory holding go.mod, walking up from the
// working directory (a test runs in its package's directory) and, failing
// that, from this source file.
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
	return "", fmt.Errorf("versitygw: cannot find the module root (go.mod) to locate bin/versitygw; set $%s", EnvBinary)
}
