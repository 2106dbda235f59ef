// Command filebackend is a third-party state backend written with the
// plugins SDK, for the tests: it keeps objects as files in the directory
// given by the setting "dir".
//
// Each object is one file named by the sha256 of the object's name (so
// any valid name fits a file name), holding a JSON header line with the
// name, size and checksum, then the bytes. Files are written under a
// temporary name and linked into place, which makes Put write-once and
// atomic.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/plugins"
)

func main() {
	plugins.Serve(&store{})
}

type store struct {
	mu  sync.RWMutex
	dir string
}

func (s *store) Configure(_ context.Context, settings map[string]string) error {
	for k := range settings {
		if k != "dir" {
			return fmt.Errorf("%w: unknown key %q (the file backend takes only \"dir\")", plugins.ErrSettings, k)
		}
	}
	dir := settings["dir"]
	if dir == "" {
		return fmt.Errorf("%w: \"dir\" is required", plugins.ErrSettings)
	}
	for _, d := range []string{"objects", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("%w: dir: %w", plugins.ErrSettings, err)
		}
	}
	s.mu.Lock()
	s.dir = dir
	s.mu.Unlock()
	slog.Debug("configured", "dir", dir) // reaches the host's logger (see plugins.Serve)
	return nil
}

func (s *store) path(name string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(s.dir, "objects", hex.EncodeToString(sum[:]))
}

func (s *store) Put(ctx context.Context, name string, r io.Reader) (plugins.Object, error) {
	if err := plugins.ValidName(name); err != nil {
		return plugins.Object{}, err
	}
	final := s.path(name)
	if _, err := os.Stat(final); err == nil {
		return plugins.Object{}, fmt.Errorf("%w: %q", plugins.ErrExists, name)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return plugins.Object{}, fmt.Errorf("put %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return plugins.Object{}, err
	}
	sum := sha256.Sum256(data)
	obj := plugins.Object{Name: name, Size: int64(len(data)), Checksum: hex.EncodeToString(sum[:])}
	header, err := json.Marshal(obj)
	if err != nil {
		return plugins.Object{}, err
	}
	tmp, err := os.CreateTemp(filepath.Join(filepath.Dir(final), "..", "tmp"), "put-*")
	if err != nil {
		return plugins.Object{}, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(append(header, '\n'), data...))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return plugins.Object{}, err
	}
	if err := os.Link(tmp.Name(), final); errors.Is(err, fs.ErrExist) {
		return plugins.Object{}, fmt.Errorf("%w: %q", plugins.ErrExists, name)
	} else if err != nil {
		return plugins.Object{}, err
	}
	return obj, nil
}

// open returns the object's header and a reader positioned at its bytes.
func open(path string) (plugins.Object, *os.File, *bufio.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return plugins.Object{}, nil, nil, err
	}
	br := bufio.NewReader(f)
	line, err := br.ReadBytes('\n')
	var obj plugins.Object
	if err == nil {
		err = json.Unmarshal(line, &obj)
	}
	if err != nil {
		f.Close()
		return plugins.Object{}, nil, nil, fmt.Errorf("%s: bad header: %w", path, err)
	}
	return obj, f, br, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func (s *store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := plugins.ValidName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	obj, f, br, err := open(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q", plugins.ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	return plugins.Verified(readCloser{br, f}, obj), nil
}

func (s *store) List(ctx context.Context, prefix string) ([]plugins.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(s.path("x"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	found := map[string]plugins.Object{}
	for _, e := range entries {
		obj, f, _, err := open(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		f.Close()
		if strings.HasPrefix(obj.Name, prefix) {
			found[obj.Name] = obj
		}
	}
	objs := []plugins.Object{}
	for _, n := range slices.Sorted(maps.Keys(found)) {
		objs = append(objs, found[n])
	}
	return objs, nil
}

func (s *store) Delete(ctx context.Context, name string) error {
	if err := plugins.ValidName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
