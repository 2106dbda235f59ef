package provider

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// ErrNotExecutable is wrapped by the error of Ensure when the binary is
// not an executable file.
var ErrNotExecutable = errors.New("not an executable file")

// checkBinary makes sure path names an executable file, so that Ensure can
// say what is wrong rather than pass on a bare exec error.
func checkBinary(path string) error {
	if path == "" {
		return errors.New("provider: request has no taskmanager binary path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in our message already
		}
		return fmt.Errorf("provider: taskmanager binary %s: %w", path, err)
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		return fmt.Errorf("provider: taskmanager binary %s: %w: it is a directory", path, ErrNotExecutable)
	case !mode.IsRegular():
		return fmt.Errorf("provider: taskmanager binary %s: %w: mode %v", path, ErrNotExecutable, mode)
	case mode.Perm()&0o111 == 0 && runtime.GOOS != "windows": // Windows has no execute bits
		return fmt.Errorf("provider: taskmanager binary %s: %w: mode %v has no execute permission", path, ErrNotExecutable, mode)
	}
	return nil
}
