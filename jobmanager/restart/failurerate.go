package restart

import (
	"fmt"
	"time"
)

// failureRate allows at most maxFailures failures within any window of
// interval ending at the failure being decided.
type failureRate struct {
	maxFailures int
	interval    time.Duration
	delay       time.Duration
	recent      []time.Time // failures still within the window, oldest first
	failed      bool        // the verdict was to fail; it is final
}

func newFailureRate(c Config) *failureRate {
	return &failureRate{maxFailures: c.MaxFailures, interval: c.Interval, delay: c.Delay}
}

// Failed drops the failures older than interval before now (one exactly
// interval before now still counts), adds now, and fails the job if more
// than maxFailures remain.
func (s *failureRate) Failed(now time.Time) (time.Duration, bool) {
	if s.failed {
		return 0, false
	}
	keep := 0
	for keep < len(s.recent) && now.Sub(s.recent[keep]) > s.interval {
		keep++
	}
	s.recent = append(s.recent[:0], s.recent[keep:]...)
	s.recent = append(s.recent, now)
	if len(s.recent) > s.maxFailures {
		s.failed = true
		s.recent = nil
		return 0, false
	}
	return s.delay, true
}

func (s *failureRate) String() string {
	return fmt.Sprintf("%s (%s per %v, %v delay)", FailureRate, plural(s.maxFailures, "failure"), s.interval, s.delay)
}
