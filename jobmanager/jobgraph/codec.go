package jobgraph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxPlanSize is the largest plan Parse accepts.
const maxPlanSize = 16 << 20 // 16 MiB

// Marshal returns the indented JSON of a sealed graph. If g.Fingerprint is
// empty, Marshal seals g first (setting g.Fingerprint). If g.Fingerprint is
// set but no longer matches the graph (it was edited after Seal), Marshal
// returns an error wrapping ErrFingerprint. An invalid graph gives the
// Validate error.
func (g *Graph) Marshal() ([]byte, error) {
	if g.Fingerprint == "" {
		if err := g.Seal(); err != nil {
			return nil, fmt.Errorf("jobgraph: marshal plan %q: invalid graph:\n%w", g.Name, err)
		}
	} else {
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("jobgraph: marshal plan %q: invalid graph:\n%w", g.Name, err)
		}
		if want := g.ComputeFingerprint(); g.Fingerprint != want {
			return nil, errorf(ErrFingerprint, "jobgraph: marshal plan %q: fingerprint %s does not match the graph (%s); the graph was changed after Seal, call Seal again", g.Name, g.Fingerprint, want)
		}
	}
	c := g.canonical()
	c.Fingerprint = g.Fingerprint
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("jobgraph: marshal plan %q: %w", g.Name, err)
	}
	return append(data, '\n'), nil
}

// Parse decodes a plan written by Marshal. It rejects input over 16 MiB,
// unknown fields, trailing data and other format versions (all ErrInvalid),
// validates the graph (see Validate), and checks that the fingerprint matches
// the content (ErrFingerprint).
func Parse(data []byte) (*Graph, error) {
	if len(data) > maxPlanSize {
		return nil, errorf(ErrInvalid, "jobgraph: parse plan: plan is %d bytes, more than the limit of %d bytes (16 MiB); split the job or reduce the plan", len(data), maxPlanSize)
	}
	// Read the version leniently first, so that a plan from another format
	// version is reported as such rather than as unknown fields.
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		return nil, errorf(ErrInvalid, "jobgraph: parse plan: not a JSON plan object: %v", err)
	}
	if head.Version == nil {
		return nil, errorf(ErrInvalid, "jobgraph: parse plan: the plan has no \"version\" field; it is not a plan written by Marshal")
	}
	if *head.Version != FormatVersion {
		return nil, errorf(ErrInvalid, "jobgraph: parse plan: plan format version is %d but this build reads version %d; re-create the plan with a matching version of sluice", *head.Version, FormatVersion)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g Graph
	if err := dec.Decode(&g); err != nil {
		return nil, errorf(ErrInvalid, "jobgraph: parse plan: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(ErrInvalid, "jobgraph: parse plan: unexpected data after the plan object at byte %d; the file must hold exactly one plan", dec.InputOffset())
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("jobgraph: parse plan %q: invalid graph:\n%w", g.Name, err)
	}
	if g.Fingerprint == "" {
		return nil, errorf(ErrFingerprint, "jobgraph: parse plan %q: the plan has no fingerprint; write plans with Marshal, which seals them", g.Name)
	}
	if want := g.ComputeFingerprint(); g.Fingerprint != want {
		return nil, errorf(ErrFingerprint, "jobgraph: parse plan %q: fingerprint %s does not match the content (%s); the plan was edited or corrupted after it was sealed, re-create it or call Seal after editing", g.Name, g.Fingerprint, want)
	}
	return &g, nil
}
