package restart

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// seedStream is the second PCG seed word; Config.Seed is the first.
const seedStream = 0x5eed_51_1ce

// exponentialDelay restarts forever, multiplying the delay on each failure
// up to a maximum and starting over after a long enough run.
type exponentialDelay struct {
	initial, max time.Duration
	multiplier   float64
	reset        time.Duration
	jitter       float64
	seed         uint64
	rng          *rand.Rand

	base      time.Duration // delay before jitter of the last failure; 0 before the first
	last      time.Time     // time of the last failure
	lastDelay time.Duration // delay returned for the last failure
}

func newExponentialDelay(c Config) *exponentialDelay {
	return &exponentialDelay{
		initial:    c.InitialDelay,
		max:        c.MaxDelay,
		multiplier: c.Multiplier,
		reset:      c.ResetThreshold,
		jitter:     c.Jitter,
		seed:       c.Seed,
		rng:        rand.New(rand.NewPCG(c.Seed, seedStream)),
	}
}

// Failed returns InitialDelay for the first failure and for one that comes
// after the job ran ResetThreshold since its last restart (the last failure
// plus the delay then returned); otherwise the last delay before jitter
// times Multiplier, at most MaxDelay. Jitter is then applied. It never
// fails the job.
func (s *exponentialDelay) Failed(now time.Time) (time.Duration, bool) {
	ran := now.Sub(s.last) // saturates; never overflows
	switch {
	case s.base == 0:
		s.base = s.initial
	case ran >= s.lastDelay && ran-s.lastDelay >= s.reset:
		s.base = s.initial
	default:
		s.base = s.grow(s.base)
	}
	d := s.jittered(s.base)
	s.last, s.lastDelay = now, d
	return d, true
}

// grow returns b times the multiplier, at most max.
func (s *exponentialDelay) grow(b time.Duration) time.Duration {
	f := float64(b) * s.multiplier
	if f >= float64(s.max) {
		return s.max
	}
	return time.Duration(f)
}

// jittered returns b moved by a uniform fraction in [-jitter, +jitter] of
// itself, within [0, max].
func (s *exponentialDelay) jittered(b time.Duration) time.Duration {
	f := float64(b) * (1 + s.jitter*(2*s.rng.Float64()-1))
	switch {
	case f >= float64(s.max):
		return s.max
	case f <= 0:
		return 0
	}
	return time.Duration(f)
}

func (s *exponentialDelay) String() string {
	return fmt.Sprintf("%s (%v initial delay, %v max delay, multiplier %v, reset after %v, jitter %v, seed %d)",
		ExponentialDelay, s.initial, s.max, s.multiplier, s.reset, s.jitter, s.seed)
}
