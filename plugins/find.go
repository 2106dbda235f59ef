package plugins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

// BinaryPrefix starts the file name of the backend binaries Sluice ships:
// the memory backend is sluice-backend-memory.
const BinaryPrefix = "sluice-backend-"

// Find returns the binary of the backend with the given name ("memory",
// "s3"): BinaryPrefix+name in the directory of the running executable,
// else on $PATH. A name that is a path (it contains a separator) is
// returned as it is.
func Find(name string) (string, error) {
	if name == "" {
		return "", errors.New("state backend: no name given")
	}
	if filepath.Base(name) != name {
		return name, nil
	}
	file := BinaryPrefix + name
	var tried string
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), file)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("state backend %s: %w", name, err)
		}
		tried = filepath.Dir(exe) + " or "
	}
	p, err := exec.LookPath(file)
	if err != nil {
		return "", fmt.Errorf("state backend %s: no %s in %s$PATH: build it (go build -o %s ./backends/%s) and install it next to the sluice binaries: %w",
			name, file, tried, file, name, err)
	}
	return p, nil
}
