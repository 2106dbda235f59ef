package restart

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// The defaults that zero fields of a Config take.
const (
	DefaultAttempts       = 3
	DefaultDelay          = time.Second
	DefaultInitialDelay   = time.Second
	DefaultMaxDelay       = time.Minute
	DefaultMultiplier     = 2.0
	DefaultResetThreshold = time.Hour
	DefaultJitter         = 0.1
	DefaultMaxFailures    = 1
	DefaultInterval       = time.Minute
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate and New.
var ErrInvalidConfig = errors.New("invalid restart config")

// Config selects and tunes a strategy. Zero fields take the defaults of the
// kind (the Default* constants); fields that do not apply to the kind are
// ignored but must still be in range.
type Config struct {
	Kind Kind `json:"kind"`

	// fixed-delay

	// Attempts is the number of restarts allowed in total (default 3).
	Attempts int `json:"attempts,omitempty"`
	// Delay is the wait before each restart (default 1s), for fixed-delay
	// and failure-rate.
	Delay time.Duration `json:"delay,omitempty"`

	// exponential-delay

	// InitialDelay is the delay after the first failure, and after the
	// first failure following a reset (default 1s).
	InitialDelay time.Duration `json:"initialDelay,omitempty"`
	// MaxDelay caps the delay, jitter included (default 1m).
	MaxDelay time.Duration `json:"maxDelay,omitempty"`
	// Multiplier scales the delay on each failure; at least 1 (default 2).
	Multiplier float64 `json:"multiplier,omitempty"`
	// ResetThreshold: a job that ran this long since its last restart,
	// that is since its last failure plus the delay then returned, starts
	// from InitialDelay again (default 1h).
	ResetThreshold time.Duration `json:"resetThreshold,omitempty"`
	// Jitter spreads each delay d uniformly over [d-Jitter·d, d+Jitter·d],
	// capped at MaxDelay; from 0 to 1 (default 0.1).
	Jitter float64 `json:"jitter,omitempty"`
	// Seed seeds the jitter, so that a seed always gives the same delays.
	Seed uint64 `json:"seed,omitempty"`

	// failure-rate

	// MaxFailures is the number of failures allowed per Interval (default
	// 1); the one exceeding it ends the job.
	MaxFailures int `json:"maxFailures,omitempty"`
	// Interval is the length of the sliding window (default 1m).
	Interval time.Duration `json:"interval,omitempty"`
}

// DefaultConfig returns fixed-delay with 3 attempts and a delay of 1s.
func DefaultConfig() Config {
	return Config{Kind: FixedDelay, Attempts: DefaultAttempts, Delay: DefaultDelay}
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Attempts == 0 {
		c.Attempts = DefaultAttempts
	}
	if c.Delay == 0 {
		c.Delay = DefaultDelay
	}
	if c.InitialDelay == 0 {
		c.InitialDelay = DefaultInitialDelay
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.Multiplier == 0 {
		c.Multiplier = DefaultMultiplier
	}
	if c.ResetThreshold == 0 {
		c.ResetThreshold = DefaultResetThreshold
	}
	if c.Jitter == 0 {
		c.Jitter = DefaultJitter
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	return c
}

// Validate reports every problem of c in one error wrapping
// ErrInvalidConfig: an empty or unknown kind, a negative count or duration,
// a multiplier below 1, a jitter outside [0, 1], and for exponential-delay
// a MaxDelay below InitialDelay. Each problem names the field (by its JSON
// name) and says what it allows.
func (c Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Kind == "":
		add("kind is empty; want %s", kindList())
	case !c.Kind.known():
		add("kind %q is unknown; want %s", string(c.Kind), kindList())
	}
	nonNegInt := func(name string, v, def int) {
		if v < 0 {
			add("%s is %d; want 0 or more (0 means the default, %d)", name, v, def)
		}
	}
	nonNegDur := func(name string, v, def time.Duration) {
		if v < 0 {
			add("%s is %v; want 0 or more (0 means the default, %v)", name, v, def)
		}
	}
	nonNegInt("attempts", c.Attempts, DefaultAttempts)
	nonNegDur("delay", c.Delay, DefaultDelay)
	nonNegDur("initialDelay", c.InitialDelay, DefaultInitialDelay)
	nonNegDur("maxDelay", c.MaxDelay, DefaultMaxDelay)
	if m := c.Multiplier; math.IsNaN(m) || math.IsInf(m, 0) || (m != 0 && m < 1) {
		add("multiplier is %v; want a finite number of 1 or more (0 means the default, %v)", m, DefaultMultiplier)
	}
	nonNegDur("resetThreshold", c.ResetThreshold, DefaultResetThreshold)
	if j := c.Jitter; !(j >= 0 && j <= 1) {
		add("jitter is %v; want a number from 0 to 1 (0 means the default, %v)", j, DefaultJitter)
	}
	nonNegInt("maxFailures", c.MaxFailures, DefaultMaxFailures)
	nonNegDur("interval", c.Interval, DefaultInterval)
	if c.Kind == ExponentialDelay && c.InitialDelay >= 0 && c.MaxDelay >= 0 {
		if d := c.withDefaults(); d.MaxDelay < d.InitialDelay {
			add("maxDelay (%v) is below initialDelay (%v); want maxDelay of at least initialDelay", d.MaxDelay, d.InitialDelay)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
}
