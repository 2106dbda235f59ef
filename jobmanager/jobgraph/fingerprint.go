package jobgraph

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
)

// canonical returns a copy of g in canonical form for hashing and encoding:
// the fingerprint cleared and nil slices made empty, so that a graph and its
// Marshal/Parse round trip hash the same.
func (g *Graph) canonical() Graph {
	c := *g
	c.Fingerprint = ""
	if c.Operators == nil {
		c.Operators = []Operator{}
	}
	if c.Edges == nil {
		c.Edges = []Edge{}
	}
	return c
}

// ComputeFingerprint returns the hex sha256 of the canonical JSON of the graph
// with the Fingerprint field empty. It is deterministic: the same graph gives
// the same fingerprint in every process. Every field is covered, so any change
// to the plan (a parallelism, a partitioning, a uid, a name) changes it.
func (g *Graph) ComputeFingerprint() string {
	c := g.canonical()
	// Marshaling a struct of strings, ints, bools and slices of such structs
	// cannot fail, and encoding/json writes fields in declaration order.
	data, err := json.Marshal(&c)
	if err != nil {
		panic("jobgraph: marshal graph for fingerprint: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Seal validates the graph and, if it is valid, sets g.Fingerprint. A graph
// edited after Seal must be sealed again.
func (g *Graph) Seal() error {
	if err := g.Validate(); err != nil {
		return err
	}
	g.Fingerprint = g.ComputeFingerprint()
	return nil
}

// uidDomain separates DeriveUID hashes from any other use of sha256.
const uidDomain = "sluice/jobgraph/uid/v1"

// DeriveUID returns a deterministic uid for an operator with no explicit uid,
// from its kind, the uids of its inputs (in order) and its ordinal among the
// operators created with the same inputs and kind (0, 1, ...). The result is
// 16 lowercase hex characters of a sha256. Names are not part of it, so
// renaming an operator keeps its uid.
func DeriveUID(kind string, inputUIDs []string, ordinal int) string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	writeString := func(s string) {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	writeString(uidDomain)
	writeString(kind)
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(inputUIDs)))])
	for _, in := range inputUIDs {
		writeString(in)
	}
	h.Write(buf[:binary.PutVarint(buf[:], int64(ordinal))])
	return hex.EncodeToString(h.Sum(nil)[:8])
}
