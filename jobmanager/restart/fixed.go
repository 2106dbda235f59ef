package restart

import (
	"fmt"
	"time"
)

// fixedDelay allows a fixed number of restarts, each after the same delay.
type fixedDelay struct {
	attempts int
	delay    time.Duration
	restarts int // restarts granted so far
}

func newFixedDelay(c Config) *fixedDelay {
	return &fixedDelay{attempts: c.Attempts, delay: c.Delay}
}

// Failed grants a restart after the fixed delay while fewer than attempts
// restarts were granted.
func (s *fixedDelay) Failed(time.Time) (time.Duration, bool) {
	if s.restarts >= s.attempts {
		return 0, false
	}
	s.restarts++
	return s.delay, true
}

func (s *fixedDelay) String() string {
	return fmt.Sprintf("%s (%s, %v delay)", FixedDelay, plural(s.attempts, "attempt"), s.delay)
}
