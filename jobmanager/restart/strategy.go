package restart

import (
	"strconv"
	"time"
)

// Strategy decides whether and when a failed job restarts. It is not safe
// for concurrent use: one job's failures are decided one at a time.
type Strategy interface {
	// Failed records a failure at now and returns the delay before the
	// restart, or ok=false when the job must fail for good.
	Failed(now time.Time) (delay time.Duration, ok bool)
	// String describes the strategy and its settings, e.g. "fixed-delay (3
	// attempts, 1s delay)".
	String() string
}

// New returns a fresh strategy for c, with c's zero fields set to their
// defaults. It fails, wrapping ErrInvalidConfig, if c is not valid.
func New(c Config) (Strategy, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	switch c.Kind {
	case FixedDelay:
		return newFixedDelay(c), nil
	case ExponentialDelay:
		return newExponentialDelay(c), nil
	case FailureRate:
		return newFailureRate(c), nil
	default: // None; Validate rejected the rest.
		return none{}, nil
	}
}

// plural returns "n word" or "n words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
