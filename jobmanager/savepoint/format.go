package savepoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Format names the metadata's format, Version its version. Parse refuses
// others.
const (
	Format  = "sluice-savepoint"
	Version = 1
)

// MetadataName is the metadata object's name within a savepoint location.
const MetadataName = "_metadata"

// Errors callers branch on.
var (
	// ErrNotFound: nothing is stored at the location.
	ErrNotFound = errors.New("no savepoint at this location")
	// ErrFormat: the metadata is not a savepoint of a version this build reads.
	ErrFormat = errors.New("unsupported savepoint format")
	// ErrLocation: the location is malformed or escapes its root.
	ErrLocation = errors.New("invalid savepoint location")
	// ErrExists: the location already holds a savepoint.
	ErrExists = errors.New("the savepoint location is not empty")
	// ErrNonRestored: saved state belongs to an operator the job no
	// longer has.
	ErrNonRestored = errors.New("savepoint state has no operator to restore into")
	// ErrIncompatible: saved state cannot be mapped onto the operator.
	ErrIncompatible = errors.New("savepoint state does not fit the operator")
)

// Metadata describes a savepoint.
type Metadata struct {
	Format      string     `json:"format"`
	Version     int        `json:"version"`
	JobID       string     `json:"jobId"`
	JobName     string     `json:"jobName"`
	Checkpoint  int64      `json:"checkpoint"`
	Created     time.Time  `json:"created"`
	Fingerprint string     `json:"fingerprint"`
	Operators   []Operator `json:"operators"`
}

// Operator is the saved state of one operator.
type Operator struct {
	UID            string `json:"uid"`
	Name           string `json:"name"`
	Keyed          bool   `json:"keyed"`
	Parallelism    int    `json:"parallelism"`
	MaxParallelism int    `json:"maxParallelism"`
	// States holds, per subtask index, the object with that subtask's
	// state ("" if it wrote none). In stored metadata the names are
	// relative to the savepoint location; in memory they are full object
	// names in the state backend.
	States []string `json:"states"`
	// Checksums are the sha256 of each state object ("" where none).
	Checksums []string `json:"checksums,omitempty"`
}

func (m *Metadata) validate() error {
	if m.Format != Format {
		return fmt.Errorf("%w: format %q, want %q", ErrFormat, m.Format, Format)
	}
	if m.Version != Version {
		return fmt.Errorf("%w: version %d; this build reads version %d: restore with the Sluice version that wrote it", ErrFormat, m.Version, Version)
	}
	seen := map[string]bool{}
	for _, op := range m.Operators {
		if op.UID == "" || seen[op.UID] {
			return fmt.Errorf("%w: empty or duplicate operator uid %q", ErrFormat, op.UID)
		}
		seen[op.UID] = true
		if op.Parallelism != len(op.States) || op.Parallelism < 1 {
			return fmt.Errorf("%w: operator %s has parallelism %d and %d states", ErrFormat, op.UID, op.Parallelism, len(op.States))
		}
	}
	return nil
}

// Parse decodes and checks metadata.
func Parse(data []byte) (*Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Marshal encodes metadata.
func (m *Metadata) Marshal() ([]byte, error) {
	return json.MarshalIndent(m, "", "  ")
}
