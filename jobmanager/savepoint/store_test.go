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
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/plugins"
)

// backend wraps the memory backend to record successful puts in order and
// to fail chosen ones.
type backend struct {
	plugins.Backend
	mu     sync.Mutex
	puts   []string
	failOn string // Put of this name fails
}

var errInjected = errors.New("injected failure")

func (b *backend) Put(ctx context.Context, name string, r io.Reader) (plugins.Object, error) {
	if name == b.failOn {
		return plugins.Object{}, fmt.Errorf("put %q: %w", name, errInjected)
	}
	obj, err := b.Backend.Put(ctx, name, r)
	if err == nil {
		b.mu.Lock()
		b.puts = append(b.puts, name)
		b.mu.Unlock()
	}
	return obj, err
}

// sources are the checkpoint objects the test metadata names, by name.
var sources = map[string][]byte{
	"cp/7/src-0": []byte("offset 0: 1234"),
	"cp/7/src-1": []byte("offset 1: 98765"),
	"cp/7/c-0":   {0, 1, 2, 3, 0xff, 0xfe, '\n', 'k', 'e', 'y'},
	"cp/7/c-2":   bytes.Repeat([]byte("key group state "), 1000),
}

// relOf maps the relative names Write must give the source objects.
var relOf = map[string]string{
	"cp/7/src-0": "state-0-0",
	"cp/7/src-1": "state-0-1",
	"cp/7/c-0":   "state-1-0",
	"cp/7/c-2":   "state-1-2",
}

type env struct {
	t     *testing.T
	ctx   context.Context
	be    *backend
	store *Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ms := memstore.New()
	ctx := t.Context()
	if err := ms.Configure(ctx, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, be: &backend{Backend: ms}}
	e.store = &Store{Backend: e.be}
	for name, data := range sources {
		e.put(name, data)
	}
	e.be.puts = nil
	return e
}

func (e *env) put(name string, data []byte) {
	e.t.Helper()
	if _, err := e.be.Backend.Put(e.ctx, name, bytes.NewReader(data)); err != nil {
		e.t.Fatalf("put %s: %v", name, err)
	}
}

func (e *env) get(name string) []byte {
	e.t.Helper()
	r, err := e.be.Get(e.ctx, name)
	if err != nil {
		e.t.Fatalf("get %s: %v", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatalf("read %s: %v", name, err)
	}
	return data
}

func (e *env) list(prefix string) []string {
	e.t.Helper()
	objs, err := e.be.List(e.ctx, prefix)
	if err != nil {
		e.t.Fatal(err)
	}
	names := []string{}
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}

// backendContents returns every object in the backend with its bytes.
func (e *env) backendContents() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, n := range e.list("") {
		out[n] = string(e.get(n))
	}
	return out
}

// dirContents returns every file under root (relative path -> bytes).
func dirContents(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		}
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		data, err := os.ReadFile(p)
		out[rel] = string(data)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func sourceMetadata() *Metadata {
	return &Metadata{
		JobID:       "ab12",
		JobName:     "wordcount",
		Checkpoint:  7,
		Created:     time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		Fingerprint: "f00d",
		Operators: []Operator{
			{UID: "src", Name: "lines", Parallelism: 2, MaxParallelism: 128,
				States: []string{"cp/7/src-0", "cp/7/src-1"}},
			{UID: "count", Name: "count", Keyed: true, Parallelism: 3, MaxParallelism: 64,
				States: []string{"cp/7/c-0", "", "cp/7/c-2"}},
		},
	}
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func totalSize() int64 {
	var n int64
	for _, d := range sources {
		n += int64(len(d))
	}
	return n
}

// checkStored checks metadata as stored: relative names and checksums of
// the sources.
func checkStored(t *testing.T, m *Metadata) {
	t.Helper()
	want := sourceMetadata()
	want.Format, want.Version = Format, Version
	want.Operators[0].States = []string{"state-0-0", "state-0-1"}
	want.Operators[0].Checksums = []string{sum(sources["cp/7/src-0"]), sum(sources["cp/7/src-1"])}
	want.Operators[1].States = []string{"state-1-0", "", "state-1-2"}
	want.Operators[1].Checksums = []string{sum(sources["cp/7/c-0"]), "", sum(sources["cp/7/c-2"])}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("stored metadata\n %+v\nwant\n %+v", m, want)
	}
}

// withNames returns the stored metadata with the state names replaced by
// prefix/relative name.
func withNames(prefix string) *Metadata {
	m := sourceMetadata()
	m.Format, m.Version = Format, Version
	for i := range m.Operators {
		op := &m.Operators[i]
		op.Checksums = make([]string, len(op.States))
		for s, n := range op.States {
			if n != "" {
				op.Checksums[s] = sum(sources[n])
				op.States[s] = path.Join(prefix, relOf[n])
			}
		}
	}
	return m
}

func TestWriteReadBackendPrefix(t *testing.T) {
	e := newEnv(t)
	loc, err := ParseLocation("savepoints/ab-1")
	if err != nil {
		t.Fatal(err)
	}
	m := sourceMetadata()
	size, err := e.store.Write(e.ctx, loc, m)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if size != totalSize() {
		t.Errorf("Write copied %d bytes, want %d", size, totalSize())
	}
	if !reflect.DeepEqual(m, sourceMetadata()) {
		t.Errorf("Write changed its argument to %+v", m)
	}

	wantNames := []string{"savepoints/ab-1/_metadata", "savepoints/ab-1/state-0-0", "savepoints/ab-1/state-0-1", "savepoints/ab-1/state-1-0", "savepoints/ab-1/state-1-2"}
	if got := e.list("savepoints/ab-1/"); !reflect.DeepEqual(got, wantNames) {
		t.Fatalf("objects at the location: %v, want %v", got, wantNames)
	}
	if len(e.be.puts) != len(wantNames) || e.be.puts[len(e.be.puts)-1] != "savepoints/ab-1/_metadata" {
		t.Fatalf("puts in order %v: want the metadata last and %d puts", e.be.puts, len(wantNames))
	}
	for src, data := range sources {
		if got := e.get("savepoints/ab-1/" + relOf[src]); !bytes.Equal(got, data) {
			t.Errorf("copy of %s holds %q, want %q", src, got, data)
		}
		if got := e.get(src); !bytes.Equal(got, data) {
			t.Errorf("source %s changed to %q", src, got)
		}
	}
	stored, err := Parse(e.get("savepoints/ab-1/_metadata"))
	if err != nil {
		t.Fatalf("stored metadata: %v", err)
	}
	checkStored(t, stored)

	got, imported, err := e.store.Read(e.ctx, loc, "imported/x")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(imported) != 0 {
		t.Errorf("Read of a backend savepoint imported %v", imported)
	}
	if want := withNames("savepoints/ab-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Read =\n %+v\nwant\n %+v", got, want)
	}
	for src, data := range sources {
		if b := e.get("savepoints/ab-1/" + relOf[src]); !bytes.Equal(b, data) {
			t.Errorf("%s reads back %q, want %q", relOf[src], b, data)
		}
	}
	if l := e.list("imported/"); len(l) != 0 {
		t.Errorf("Read of a backend savepoint put %v into the backend", l)
	}
}

func TestWriteReadFile(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "savepoints", "sp")
	loc, err := ParseLocation("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	size, err := e.store.Write(e.ctx, loc, sourceMetadata())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if size != totalSize() {
		t.Errorf("Write copied %d bytes, want %d", size, totalSize())
	}
	if l := e.list("savepoints/"); len(l) != 0 {
		t.Errorf("Write to a directory put %v into the backend", l)
	}
	wantFiles := map[string]string{"./": ""}
	for src, data := range sources {
		wantFiles[relOf[src]] = string(data)
	}
	files := dirContents(t, dir)
	meta, ok := files[MetadataName]
	if !ok {
		t.Fatalf("no %s in %s: %v", MetadataName, dir, slices.Sorted(maps.Keys(files)))
	}
	delete(files, MetadataName)
	if !reflect.DeepEqual(files, wantFiles) {
		t.Fatalf("files in %s: %v, want %v", dir, slices.Sorted(maps.Keys(files)), slices.Sorted(maps.Keys(wantFiles)))
	}
	stored, err := Parse([]byte(meta))
	if err != nil {
		t.Fatalf("stored metadata: %v", err)
	}
	checkStored(t, stored)

	before := dirContents(t, dir)
	got, imported, err := e.store.Read(e.ctx, loc, "imported/x")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	wantImported := []string{"imported/x/state-0-0", "imported/x/state-0-1", "imported/x/state-1-0", "imported/x/state-1-2"}
	slices.Sort(imported)
	if !reflect.DeepEqual(imported, wantImported) {
		t.Fatalf("imported %v, want %v", imported, wantImported)
	}
	if l := e.list("imported/"); !reflect.DeepEqual(l, wantImported) {
		t.Fatalf("backend holds %v under imported/, want %v", l, wantImported)
	}
	if want := withNames("imported/x"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Read =\n %+v\nwant\n %+v", got, want)
	}
	for src, data := range sources {
		if b := e.get("imported/x/" + relOf[src]); !bytes.Equal(b, data) {
			t.Errorf("imported %s holds %q, want %q", relOf[src], b, data)
		}
	}
	if after := dirContents(t, dir); !reflect.DeepEqual(after, before) {
		t.Errorf("Read changed the directory: %v -> %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
}

// locations returns one location of each kind, with the directory that
// holds the file location (everything a Store could touch on disk).
func locations(t *testing.T) []testLocation {
	root := t.TempDir()
	return []testLocation{
		{"backend", Location{Prefix: "savepoints/ab-1"}, root},
		{"file", Location{Dir: filepath.Join(root, "sp")}, root},
	}
}

type testLocation struct {
	name string
	loc  Location
	root string // the directory a file location is in
}

type world struct {
	objects map[string]string
	files   map[string]string
}

func (e *env) world(root string) world {
	e.t.Helper()
	return world{objects: e.backendContents(), files: dirContents(e.t, root)}
}

func (e *env) checkUnchanged(before world, root string) {
	e.t.Helper()
	after := e.world(root)
	if !reflect.DeepEqual(after.objects, before.objects) {
		e.t.Errorf("backend changed:\n %v\n->\n %v", slices.Sorted(maps.Keys(before.objects)), slices.Sorted(maps.Keys(after.objects)))
	}
	if !reflect.DeepEqual(after.files, before.files) {
		e.t.Errorf("files changed:\n %v\n->\n %v", slices.Sorted(maps.Keys(before.files)), slices.Sorted(maps.Keys(after.files)))
	}
}

func TestWriteRefusesExisting(t *testing.T) {
	for _, tc := range locations(t) {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.store.Write(e.ctx, tc.loc, sourceMetadata()); err != nil {
				t.Fatal(err)
			}
			e.put("cp/8/other", []byte("other state"))
			before := e.world(tc.root)

			other := &Metadata{JobID: "other", Operators: []Operator{
				{UID: "src", Name: "lines", Parallelism: 1, MaxParallelism: 128, States: []string{"cp/8/other"}},
			}}
			size, err := e.store.Write(e.ctx, tc.loc, other)
			if !errors.Is(err, ErrExists) {
				t.Fatalf("second Write = %d, %v; want ErrExists", size, err)
			}
			if size != 0 {
				t.Errorf("refused Write reports %d bytes", size)
			}
			e.checkUnchanged(before, tc.root)
			m, _, err := e.store.Read(e.ctx, tc.loc, "imported/x")
			if err != nil {
				t.Fatal(err)
			}
			if m.JobID != "ab12" {
				t.Errorf("the savepoint is now of job %q", m.JobID)
			}
		})
	}
}

func TestReadEmptyLocation(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	locs := []Location{
		{Prefix: "savepoints/none"},
		{Prefix: "savepoints/ab"}, // a prefix of a real savepoint's name
		{Dir: filepath.Join(root, "missing")},
		{Dir: filepath.Join(root, "empty")},
	}
	for _, loc := range locs {
		t.Run(loc.String(), func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.store.Write(e.ctx, Location{Prefix: "savepoints/ab-1"}, sourceMetadata()); err != nil {
				t.Fatal(err)
			}
			before := e.world(root)
			m, imported, err := e.store.Read(e.ctx, loc, "imported/x")
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Read = %+v, %v, %v; want ErrNotFound", m, imported, err)
			}
			if m != nil || imported != nil {
				t.Errorf("Read returned %+v, %v with its error", m, imported)
			}
			if err := e.store.Dispose(e.ctx, loc); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Dispose = %v; want ErrNotFound", err)
			}
			e.checkUnchanged(before, root)
		})
	}
}

func TestReadCorruptFile(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		damage   func(t *testing.T, p string)
		checksum bool
		puts     int // objects put into the backend (and deleted again) by the failed Read
	}{
		{"first file flipped", "state-0-0", flipByte, true, 1},
		{"last file flipped", "state-1-2", flipByte, true, 4},
		{"file truncated", "state-1-2", func(t *testing.T, p string) {
			if err := os.Truncate(p, 10); err != nil {
				t.Fatal(err)
			}
		}, true, 4},
		{"file missing", "state-1-0", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			root := t.TempDir()
			dir := filepath.Join(root, "sp")
			loc := Location{Dir: dir}
			if _, err := e.store.Write(e.ctx, loc, sourceMetadata()); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, tc.file)
			tc.damage(t, p)
			before := e.world(root)

			m, imported, err := e.store.Read(e.ctx, loc, "imported/x")
			if err == nil {
				t.Fatalf("Read of a damaged savepoint = %+v, %v", m, imported)
			}
			if m != nil || imported != nil {
				t.Errorf("Read returned %+v, %v with its error", m, imported)
			}
			if tc.checksum && !errors.Is(err, plugins.ErrChecksum) {
				t.Errorf("error %v does not wrap plugins.ErrChecksum", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file %s", err, p)
			}
			if l := e.list("imported/"); len(l) != 0 {
				t.Errorf("a failed Read left %v in the backend", l)
			}
			if len(e.be.puts) != tc.puts {
				t.Errorf("the failed Read put %v into the backend, want %d puts", e.be.puts, tc.puts)
			}
			e.checkUnchanged(before, root)
		})
	}
}

func flipByte(t *testing.T, p string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeRaw stores data as the metadata at loc, and each of objects
// (relative name -> bytes) next to it.
func (e *env) writeRaw(loc Location, data []byte, objects map[string]string) {
	e.t.Helper()
	all := map[string]string{MetadataName: string(data)}
	maps.Copy(all, objects)
	e.writeRawObjects(loc, all)
}

func TestUnsafeStateNames(t *testing.T) {
	bad := []string{"../escape", "../sp/state-0-0", "sub/state", "..", ".", "/abs", "a b", `..\x`}
	for _, name := range bad {
		for _, kind := range []string{"backend", "file"} {
			t.Run(kind+" "+name, func(t *testing.T) {
				e := newEnv(t)
				root := t.TempDir()
				loc := Location{Prefix: "savepoints/sp"}
				if kind == "file" {
					loc = Location{Dir: filepath.Join(root, "sp")}
				}
				m := &Metadata{Format: Format, Version: Version, Operators: []Operator{
					{UID: "src", Name: "lines", Parallelism: 2, MaxParallelism: 128, States: []string{"state-0-0", name}},
				}}
				data, err := m.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				objects := map[string]string{"state-0-0": "good"}
				// What the bad name points at, where it can be stored.
				if kind == "backend" {
					if victim := path.Join(loc.Prefix, name); plugins.ValidName(victim) == nil && victim != loc.Prefix && victim != path.Join(loc.Prefix, "state-0-0") {
						e.put(victim, []byte("victim"))
					}
				} else if victim := filepath.Join(loc.Dir, name); strings.HasPrefix(victim, root+string(filepath.Separator)) && victim != loc.Dir && victim != filepath.Join(loc.Dir, "state-0-0") {
					if err := os.MkdirAll(filepath.Dir(victim), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(victim, []byte("victim"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				e.writeRaw(loc, data, objects)
				before := e.world(root)

				got, imported, err := e.store.Read(e.ctx, loc, "imported/x")
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("Read = %+v, %v, %v; want ErrFormat", got, imported, err)
				}
				if l := e.list("imported/"); len(l) != 0 {
					t.Errorf("a refused Read left %v in the backend", l)
				}
				if err := e.store.Dispose(e.ctx, loc); !errors.Is(err, ErrFormat) {
					t.Fatalf("Dispose = %v; want ErrFormat", err)
				}
				e.checkUnchanged(before, root)
			})
		}
	}
}

func TestOtherVersionRefused(t *testing.T) {
	for _, tc := range locations(t) {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			data := []byte(`{"format": "sluice-savepoint", "version": 2, "jobId": "future",
				"operators": [{"uid": "src", "parallelism": 1, "states": ["state-0-0"]}], "newField": true}`)
			e.writeRaw(tc.loc, data, map[string]string{"state-0-0": "future state"})
			before := e.world(tc.root)

			m, _, err := e.store.Read(e.ctx, tc.loc, "imported/x")
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Read = %+v, %v; want ErrFormat", m, err)
			}
			if !strings.Contains(err.Error(), "version 2") {
				t.Errorf("error %q does not name the version", err)
			}
			if err := e.store.Dispose(e.ctx, tc.loc); !errors.Is(err, ErrFormat) {
				t.Errorf("Dispose = %v; want ErrFormat", err)
			}
			if _, err := e.store.Write(e.ctx, tc.loc, sourceMetadata()); err == nil {
				t.Errorf("Write over a savepoint of another version succeeded")
			}
			e.checkUnchanged(before, tc.root)
		})
	}
}

func TestDispose(t *testing.T) {
	for _, tc := range locations(t) {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.store.Write(e.ctx, tc.loc, sourceMetadata()); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Dispose(e.ctx, tc.loc); err != nil {
				t.Fatalf("Dispose: %v", err)
			}
			if l := e.list("savepoints/"); len(l) != 0 {
				t.Errorf("left %v in the backend", l)
			}
			for src, data := range sources {
				if got := e.get(src); !bytes.Equal(got, data) {
					t.Errorf("Dispose changed the source %s", src)
				}
			}
			if tc.loc.Dir != "" {
				if _, err := os.Stat(tc.loc.Dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the directory is still there: %v", err)
				}
				if _, err := os.Stat(tc.root); err != nil {
					t.Errorf("the parent directory is gone: %v", err)
				}
			}
			if _, _, err := e.store.Read(e.ctx, tc.loc, "imported/x"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Read after Dispose = %v; want ErrNotFound", err)
			}
			if err := e.store.Dispose(e.ctx, tc.loc); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Dispose = %v; want ErrNotFound", err)
			}
			if _, err := e.store.Write(e.ctx, tc.loc, sourceMetadata()); err != nil {
				t.Errorf("Write after Dispose: %v", err)
			}
		})
	}
}

// TestDisposeKeepsOtherObjects: what is at the location but not in the
// savepoint survives, and so does the directory holding it.
func TestDisposeKeepsOtherObjects(t *testing.T) {
	for _, tc := range locations(t) {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.store.Write(e.ctx, tc.loc, sourceMetadata()); err != nil {
				t.Fatal(err)
			}
			e.writeRawObjects(tc.loc, map[string]string{"notes.txt": "keep me", "state-9-9": "not in the metadata"})
			if err := e.store.Dispose(e.ctx, tc.loc); err != nil {
				t.Fatalf("Dispose: %v", err)
			}
			if tc.loc.Prefix != "" {
				want := []string{"savepoints/ab-1/notes.txt", "savepoints/ab-1/state-9-9"}
				if got := e.list("savepoints/"); !reflect.DeepEqual(got, want) {
					t.Fatalf("after Dispose the backend holds %v, want %v", got, want)
				}
				return
			}
			want := map[string]string{"./": "", "notes.txt": "keep me", "state-9-9": "not in the metadata"}
			if got := dirContents(t, tc.loc.Dir); !reflect.DeepEqual(got, want) {
				t.Fatalf("after Dispose the directory holds %v, want %v", got, want)
			}
		})
	}
}

func TestDisposeWithoutMetadata(t *testing.T) {
	for _, tc := range locations(t) {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for rel, data := range map[string]string{"unrelated": "keep me", "state-0-0": "looks like state"} {
				if tc.loc.Prefix != "" {
					e.put(path.Join(tc.loc.Prefix, rel), []byte(data))
				} else {
					if err := os.MkdirAll(tc.loc.Dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(tc.loc.Dir, rel), []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			before := e.world(tc.root)
			if err := e.store.Dispose(e.ctx, tc.loc); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Dispose = %v; want ErrNotFound", err)
			}
			e.checkUnchanged(before, tc.root)
		})
	}
}

func TestWriteFailsMidway(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env, loc Location) // before Write
		edit    func(m *Metadata)
		wantErr error
		puts    int // puts that succeed at a backend location before the failure
	}{
		{
			name:    "missing source object",
			edit:    func(m *Metadata) { m.Operators[1].States[2] = "cp/7/missing" },
			wantErr: plugins.ErrNotFound,
			puts:    3,
		},
		{
			name:    "invalid source name",
			edit:    func(m *Metadata) { m.Operators[1].States[0] = "../cp/7/c-0" },
			wantErr: plugins.ErrInvalidName,
			puts:    2,
		},
		{
			name: "a state object is in the way",
			setup: func(e *env, loc Location) {
				e.writeRawObjects(loc, map[string]string{"state-1-0": "not ours"})
			},
			wantErr: fs.ErrExist, // plugins.ErrExists for the backend, checked below
			puts:    2,
		},
		{
			name: "metadata cannot be written",
			setup: func(e *env, loc Location) {
				if loc.Prefix != "" {
					e.be.failOn = path.Join(loc.Prefix, MetadataName)
				} else {
					// A dangling symlink reads as no metadata but is in
					// the way of writing it.
					if err := os.MkdirAll(loc.Dir, 0o755); err != nil {
						e.t.Fatal(err)
					}
					if err := os.Symlink("nowhere", filepath.Join(loc.Dir, MetadataName)); err != nil {
						e.t.Fatal(err)
					}
				}
			},
			puts: 4,
		},
	}
	for _, tc := range tests {
		for _, lc := range locations(t) {
			t.Run(tc.name+" "+lc.name, func(t *testing.T) {
				e := newEnv(t)
				if tc.setup != nil {
					tc.setup(e, lc.loc)
				}
				before := e.world(lc.root)
				m := sourceMetadata()
				if tc.edit != nil {
					tc.edit(m)
				}
				size, err := e.store.Write(e.ctx, lc.loc, m)
				if err == nil {
					t.Fatalf("Write succeeded (%d bytes)", size)
				}
				if size != 0 {
					t.Errorf("failed Write reports %d bytes", size)
				}
				if want := tc.wantErr; want != nil {
					if want == fs.ErrExist && lc.loc.Prefix != "" {
						want = plugins.ErrExists
					}
					if !errors.Is(err, want) {
						t.Errorf("error %v does not wrap %v", err, want)
					}
				}
				if !strings.Contains(err.Error(), lc.loc.String()) {
					t.Errorf("error %q does not name the location", err)
				}
				if lc.loc.Prefix != "" && len(e.be.puts) != tc.puts {
					t.Errorf("%d objects were written before the failure (%v), want %d", len(e.be.puts), e.be.puts, tc.puts)
				}
				e.checkUnchanged(before, lc.root)
			})
		}
	}
}

func (e *env) writeRawObjects(loc Location, objects map[string]string) {
	e.t.Helper()
	for rel, d := range objects {
		if loc.Prefix != "" {
			e.put(path.Join(loc.Prefix, rel), []byte(d))
			continue
		}
		if err := os.MkdirAll(loc.Dir, 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(loc.Dir, rel), []byte(d), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}
