package jobgraph

import (
	"errors"
	"fmt"
)

// Sentinel errors. Validate, Seal, Marshal and Parse return errors that wrap
// one of these, so callers can branch with errors.Is.
var (
	// ErrCycle means the dataflow contains a cycle.
	ErrCycle = errors.New("jobgraph: the dataflow has a cycle; remove an edge so that records flow one way")
	// ErrForwardParallelism means a forward edge connects operators of
	// different parallelism.
	ErrForwardParallelism = errors.New("jobgraph: forward edge between operators of different parallelism; use Rebalance() or set the same parallelism")
	// ErrDuplicateUID means two operators share a uid.
	ErrDuplicateUID = errors.New("jobgraph: duplicate operator uid; give each operator its own uid")
	// ErrMaxParallelism means an operator's max parallelism is out of range.
	ErrMaxParallelism = errors.New("jobgraph: max parallelism out of range; set it between the parallelism and 32768")
	// ErrParallelism means an operator's parallelism is below 1.
	ErrParallelism = errors.New("jobgraph: parallelism must be at least 1; set a positive parallelism")
	// ErrUnknownOperator means an edge refers to an operator uid that is not
	// in the graph.
	ErrUnknownOperator = errors.New("jobgraph: edge refers to an unknown operator; connect only operators that are part of the graph")
	// ErrInvalid is the catch-all for malformed graphs and plans.
	ErrInvalid = errors.New("jobgraph: invalid job graph")
	// ErrFingerprint means a plan's fingerprint does not match its content.
	ErrFingerprint = errors.New("jobgraph: plan fingerprint does not match its content; re-create the plan or call Seal after editing it")
)

// OperatorError is one problem found in a graph. Operator and UID name the
// operator the problem belongs to; both are empty for problems of the graph as
// a whole (such as an unsupported format version).
type OperatorError struct {
	Operator string // operator name
	UID      string
	Err      error // one of the sentinels, possibly wrapped with detail
}

// Error formats the problem with the operator it belongs to, for example
//
//	operator "tokenize" (uid 3f2a…): forward edge to "count" needs equal parallelism, have 2 and 4; use Rebalance() or set the same parallelism
func (e *OperatorError) Error() string {
	var where string
	switch {
	case e.Operator != "" && e.UID != "":
		where = fmt.Sprintf("operator %q (uid %s)", e.Operator, e.UID)
	case e.Operator != "":
		where = fmt.Sprintf("operator %q (no uid)", e.Operator)
	case e.UID != "":
		where = fmt.Sprintf("unnamed operator (uid %s)", e.UID)
	default:
		where = "job graph"
	}
	if e.Err == nil {
		return where + ": unknown error"
	}
	return where + ": " + e.Err.Error()
}

// Unwrap returns the underlying error, so errors.Is finds the sentinel.
func (e *OperatorError) Unwrap() error { return e.Err }

// detailError is a sentinel error with a specific message. Its Error method
// returns only the message (which already says what went wrong and what to
// do); Unwrap returns the sentinel so errors.Is keeps working.
type detailError struct {
	sentinel error
	msg      string
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.sentinel }

// errorf returns an error with a formatted message that wraps sentinel.
func errorf(sentinel error, format string, args ...any) error {
	return &detailError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}
