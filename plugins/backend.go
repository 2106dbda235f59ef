package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Backend is what a state backend does: it stores snapshot objects under
// names, serves them back, lists and deletes them. Implementations are
// served as plugins with Serve; the host reaches them through Open.
//
// Objects are written once: Put of a name that exists fails with ErrExists,
// so nothing stored is ever overwritten.
type Backend interface {
	// Configure gives the backend its settings (for example an S3
	// bucket); it is called once, before anything else. Unknown keys are
	// an error that names them.
	Configure(ctx context.Context, settings map[string]string) error
	// Put stores the bytes of r under name. The returned Object carries
	// the size and the sha256 of what was stored.
	Put(ctx context.Context, name string, r io.Reader) (Object, error)
	// Get opens a stored object. Reading it to the end verifies its
	// checksum; a mismatch is an error wrapping ErrChecksum that names the
	// object.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the objects whose names start with prefix, by name.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes an object; deleting a missing one is not an error.
	Delete(ctx context.Context, name string) error
}

// Object describes a stored object.
type Object struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Checksum string `json:"checksum"` // lowercase hex sha256 of the bytes
}

// Errors backends and callers branch on. They keep their identity across
// the plugin boundary.
var (
	ErrNotFound    = errors.New("object not found")
	ErrExists      = errors.New("object already exists")
	ErrChecksum    = errors.New("object checksum mismatch")
	ErrInvalidName = errors.New("invalid object name")
	ErrSettings    = errors.New("invalid backend settings")
)

// MaxNameLength bounds an object name.
const MaxNameLength = 1024

// ValidName checks an object name: a relative, slash-separated path of
// letters, digits and . _ - = segments, none of them empty, "." or "..".
// Names are safe as file paths and S3 keys.
func ValidName(name string) error {
	if name == "" || len(name) > MaxNameLength {
		return fmt.Errorf("%w %q: want 1 to %d characters", ErrInvalidName, name, MaxNameLength)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w %q: empty, \".\" or \"..\" path segment", ErrInvalidName, name)
		}
		for _, c := range seg {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-=", c)
			if !ok {
				return fmt.Errorf("%w %q: character %q; use letters, digits and . _ - = /", ErrInvalidName, name, c)
			}
		}
	}
	return nil
}
