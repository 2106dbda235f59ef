package savepoint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/plugins"
)

// FileScheme starts a location that is a directory on the JobManager's
// machine.
const FileScheme = "file://"

// Location is where a savepoint is: a directory (Dir) or an object-name
// prefix in the state backend (Prefix).
type Location struct {
	Dir    string
	Prefix string
}

// ParseLocation checks a location: "file:///absolute/dir", or an object
// name prefix such as "savepoints/ab12-7" (letters, digits, . _ - = and /,
// no empty, "." or ".." segment).
func ParseLocation(s string) (Location, error) {
	if rest, ok := strings.CutPrefix(s, FileScheme); ok {
		if !filepath.IsAbs(rest) || filepath.Clean(rest) != rest || rest == "/" {
			return Location{}, fmt.Errorf("%w %q: want file:// and a clean absolute directory, e.g. file:///var/sluice/savepoints/mine", ErrLocation, s)
		}
		return Location{Dir: rest}, nil
	}
	if strings.Contains(s, "://") {
		return Location{}, fmt.Errorf("%w %q: use file:///DIR for a directory, or a name such as savepoints/mine for the cluster's state backend", ErrLocation, s)
	}
	if err := plugins.ValidName(s); err != nil {
		return Location{}, fmt.Errorf("%w %q: %w", ErrLocation, s, err)
	}
	return Location{Prefix: s}, nil
}

func (l Location) String() string {
	if l.Dir != "" {
		return FileScheme + l.Dir
	}
	return l.Prefix
}

// Store reads and writes savepoints in a state backend or in directories.
type Store struct {
	Backend plugins.Backend
}

// stateName is a state object's name relative to its savepoint.
func stateName(op, subtask int) string { return fmt.Sprintf("state-%d-%d", op, subtask) }

// Write copies the state objects m names (full names in the backend) into
// loc, then writes the metadata with names relative to loc; the metadata
// goes last, so a savepoint interrupted midway has none and cannot be
// restored from. A location that already holds a savepoint is refused and
// left as it is. Write returns the bytes of state copied.
func (s *Store) Write(ctx context.Context, loc Location, m *Metadata) (int64, error) {
	if _, err := s.readMetadata(ctx, loc); err == nil {
		return 0, fmt.Errorf("%w: %s; choose another target or dispose of it first", ErrExists, loc)
	} else if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	out := *m
	out.Format, out.Version = Format, Version
	if err := out.validate(); err != nil {
		return 0, fmt.Errorf("writing savepoint %s: %w", loc, err)
	}
	out.Operators = nil
	var size int64
	var written []string
	fail := func(err error) (int64, error) {
		s.remove(context.WithoutCancel(ctx), loc, written)
		return 0, fmt.Errorf("writing savepoint %s: %w", loc, err)
	}
	for i, op := range m.Operators {
		saved := op
		saved.States = make([]string, len(op.States))
		saved.Checksums = make([]string, len(op.States))
		for sub, name := range op.States {
			if name == "" {
				continue
			}
			rel := stateName(i, sub)
			n, sum, err := s.copyIn(ctx, loc, rel, name)
			if err != nil {
				return fail(err)
			}
			written = append(written, rel)
			saved.States[sub], saved.Checksums[sub] = rel, sum
			size += n
		}
		out.Operators = append(out.Operators, saved)
	}
	data, err := out.Marshal()
	if err != nil {
		return fail(err)
	}
	if err := s.put(ctx, loc, MetadataName, bytes.NewReader(data)); err != nil {
		return fail(err)
	}
	return size, nil
}

// copyIn copies backend object src to rel in loc.
func (s *Store) copyIn(ctx context.Context, loc Location, rel, src string) (int64, string, error) {
	r, err := s.Backend.Get(ctx, src)
	if err != nil {
		return 0, "", fmt.Errorf("reading %s: %w", src, err)
	}
	defer r.Close()
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, h)}
	if err := s.put(ctx, loc, rel, cr); err != nil {
		return 0, "", err
	}
	return cr.n, hex.EncodeToString(h.Sum(nil)), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Store) put(ctx context.Context, loc Location, rel string, r io.Reader) error {
	if loc.Prefix != "" {
		name := path.Join(loc.Prefix, rel)
		if _, err := s.Backend.Put(ctx, name, r); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return nil
	}
	if err := os.MkdirAll(loc.Dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(loc.Dir, rel)
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("%s: %w", p, fs.ErrExist)
	}
	tmp, err := os.CreateTemp(loc.Dir, ".tmp-"+rel+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// open opens rel in loc.
func (s *Store) open(ctx context.Context, loc Location, rel string) (io.ReadCloser, error) {
	if err := plugins.ValidName(rel); err != nil || strings.Contains(rel, "/") {
		return nil, fmt.Errorf("%w: object %q in the metadata is not a plain name", ErrFormat, rel)
	}
	if loc.Prefix != "" {
		r, err := s.Backend.Get(ctx, path.Join(loc.Prefix, rel))
		if errors.Is(err, plugins.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s: %w", ErrNotFound, path.Join(loc.Prefix, rel), err)
		}
		return r, err
	}
	f, err := os.Open(filepath.Join(loc.Dir, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return f, err
}

func (s *Store) readMetadata(ctx context.Context, loc Location) (*Metadata, error) {
	r, err := s.open(ctx, loc, MetadataName)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the metadata of savepoint %s: %w", loc, err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("savepoint %s: %w", loc, err)
	}
	return m, nil
}

// Read loads the savepoint at loc for a restore and returns its metadata
// with full object names in the backend. A savepoint in a directory is
// first imported into the backend under importPrefix (its objects checked
// against their checksums); the names imported are returned so that the
// caller can delete them once no restore needs them.
func (s *Store) Read(ctx context.Context, loc Location, importPrefix string) (*Metadata, []string, error) {
	m, err := s.readMetadata(ctx, loc)
	if err != nil {
		return nil, nil, err
	}
	var imported []string
	for i := range m.Operators {
		op := &m.Operators[i]
		for sub, rel := range op.States {
			if rel == "" {
				continue
			}
			r, err := s.open(ctx, loc, rel)
			if err != nil {
				s.deleteAll(context.WithoutCancel(ctx), imported)
				return nil, nil, fmt.Errorf("savepoint %s, state of operator %s: %w", loc, op.UID, err)
			}
			if loc.Prefix != "" {
				r.Close()
				op.States[sub] = path.Join(loc.Prefix, rel)
				continue
			}
			name := path.Join(importPrefix, rel)
			sum := ""
			if sub < len(op.Checksums) {
				sum = op.Checksums[sub]
			}
			err = s.importObject(ctx, r, name, sum)
			r.Close()
			if err != nil {
				s.deleteAll(context.WithoutCancel(ctx), imported)
				return nil, nil, fmt.Errorf("savepoint %s, importing %s: %w", loc, filepath.Join(loc.Dir, rel), err)
			}
			imported = append(imported, name)
			op.States[sub] = name
		}
	}
	return m, imported, nil
}

func (s *Store) importObject(ctx context.Context, r io.Reader, name, sum string) error {
	obj, err := s.Backend.Put(ctx, name, r)
	if err != nil {
		return err
	}
	if sum != "" && obj.Checksum != sum {
		_ = s.Backend.Delete(context.WithoutCancel(ctx), name)
		return fmt.Errorf("%w: the file's sha256 is %s but the savepoint recorded %s; the file is corrupt", plugins.ErrChecksum, obj.Checksum, sum)
	}
	return nil
}

func (s *Store) deleteAll(ctx context.Context, names []string) {
	for _, n := range names {
		_ = s.Backend.Delete(ctx, n)
	}
}

// Dispose deletes the savepoint at loc: its state objects, then its
// metadata. It refuses a location without savepoint metadata, so that it
// never deletes what is not a savepoint.
func (s *Store) Dispose(ctx context.Context, loc Location) error {
	m, err := s.readMetadata(ctx, loc)
	if err != nil {
		return err
	}
	var rels []string
	for _, op := range m.Operators {
		for _, rel := range op.States {
			if rel != "" {
				if err := plugins.ValidName(rel); err != nil || strings.Contains(rel, "/") {
					return fmt.Errorf("savepoint %s: %w: object %q is not a plain name", loc, ErrFormat, rel)
				}
				rels = append(rels, rel)
			}
		}
	}
	if err := s.remove(ctx, loc, append(rels, MetadataName)); err != nil {
		return fmt.Errorf("disposing of savepoint %s: %w", loc, err)
	}
	return nil
}

// remove deletes rels from loc, and the directory if it is then empty.
func (s *Store) remove(ctx context.Context, loc Location, rels []string) error {
	var errs []error
	for _, rel := range rels {
		if loc.Prefix != "" {
			errs = append(errs, s.Backend.Delete(ctx, path.Join(loc.Prefix, rel)))
		} else if err := os.Remove(filepath.Join(loc.Dir, rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if loc.Dir != "" {
		_ = os.Remove(loc.Dir) // only if empty
	}
	return errors.Join(errs...)
}
