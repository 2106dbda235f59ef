package restart

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKind is wrapped by the error of ParseKind for a name that is
// not a restart strategy.
var ErrUnknownKind = errors.New("unknown restart strategy")

// Kind names a restart strategy.
type Kind string

// The restart strategies.
const (
	// FixedDelay restarts a limited number of times with a fixed delay.
	FixedDelay Kind = "fixed-delay"
	// ExponentialDelay restarts forever with a delay that grows
	// exponentially up to a maximum.
	ExponentialDelay Kind = "exponential-delay"
	// FailureRate restarts as long as failures are rare enough.
	FailureRate Kind = "failure-rate"
	// None never restarts.
	None Kind = "none"
)

// kinds lists the kinds in the order error messages name them.
var kinds = []Kind{FixedDelay, ExponentialDelay, FailureRate, None}

// aliases maps the other spellings ParseKind accepts (Flink's) to kinds.
var aliases = map[string]Kind{
	"fixeddelay":       FixedDelay,
	"exponentialdelay": ExponentialDelay,
	"failurerate":      FailureRate,
	"off":              None,
	"disable":          None,
}

// ParseKind returns the kind named s. It ignores case and surrounding
// spaces, and also accepts Flink's spellings: "fixeddelay",
// "exponentialdelay", "failurerate", "off" and "disable".
func ParseKind(s string) (Kind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, k := range kinds {
		if name == string(k) {
			return k, nil
		}
	}
	if k, ok := aliases[name]; ok {
		return k, nil
	}
	return "", fmt.Errorf("%w %q; want %s", ErrUnknownKind, s, kindList())
}

// known reports whether k is one of the kinds (exact spelling).
func (k Kind) known() bool {
	for _, x := range kinds {
		if k == x {
			return true
		}
	}
	return false
}

// kindList returns the kinds as "a, b, c or d".
func kindList() string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
