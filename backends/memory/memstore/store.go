package memstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/plugins"
)

// Store is an in-memory plugins.Backend. The zero value is not usable;
// call New.
type Store struct {
	mu   sync.RWMutex
	objs map[string]*object
}

// object is a stored object; its bytes never change once stored.
type object struct {
	data []byte
	sum  string
}

var _ plugins.Backend = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{objs: make(map[string]*object)}
}

// Configure accepts no settings: any key is an error naming it.
func (s *Store) Configure(ctx context.Context, settings map[string]string) error {
	if len(settings) > 0 {
		keys := slices.Sorted(maps.Keys(settings))
		return fmt.Errorf("%w: the memory backend takes no settings, got %s", plugins.ErrSettings, strings.Join(keys, ", "))
	}
	return ctx.Err()
}

// Put stores the bytes of r under name, unless name exists (ErrExists).
// If reading r fails or ctx ends first, nothing is stored.
func (s *Store) Put(ctx context.Context, name string, r io.Reader) (plugins.Object, error) {
	if err := plugins.ValidName(name); err != nil {
		return plugins.Object{}, err
	}
	if err := s.absent(name); err != nil {
		return plugins.Object{}, err
	}
	data, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return plugins.Object{}, fmt.Errorf("put %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return plugins.Object{}, fmt.Errorf("put %q: %w", name, err)
	}
	sum := sha256.Sum256(data)
	obj := &object{data: data, sum: hex.EncodeToString(sum[:])}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[name]; ok {
		return plugins.Object{}, fmt.Errorf("%w: %q", plugins.ErrExists, name)
	}
	s.objs[name] = obj
	return obj.describe(name), nil
}

func (s *Store) absent(name string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.objs[name]; ok {
		return fmt.Errorf("%w: %q", plugins.ErrExists, name)
	}
	return nil
}

// Get returns a reader of the object that verifies its checksum at the
// end.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := plugins.ValidName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %q: %w", name, err)
	}
	s.mu.RLock()
	obj, ok := s.objs[name]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", plugins.ErrNotFound, name)
	}
	return plugins.Verified(io.NopCloser(bytes.NewReader(obj.data)), obj.describe(name)), nil
}

// List returns the objects whose names start with prefix, by name.
func (s *Store) List(ctx context.Context, prefix string) ([]plugins.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	objs := []plugins.Object{}
	for name, obj := range s.objs {
		if strings.HasPrefix(name, prefix) {
			objs = append(objs, obj.describe(name))
		}
	}
	slices.SortFunc(objs, func(a, b plugins.Object) int { return strings.Compare(a.Name, b.Name) })
	return objs, nil
}

// Delete removes an object; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := plugins.ValidName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, name)
	return nil
}

func (o *object) describe(name string) plugins.Object {
	return plugins.Object{Name: name, Size: int64(len(o.data)), Checksum: o.sum}
}

// ctxReader fails reads once ctx has ended.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
