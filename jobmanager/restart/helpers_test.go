package restart

import (
	"testing"
	"time"
)

// t0 is the time of the first failure in the tests; steps give offsets.
var t0 = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

// step is one failure at t0+at and the decision expected for it.
type step struct {
	at    time.Duration
	delay time.Duration
	ok    bool
}

// restartAfter is a step expecting a restart after delay.
func restartAfter(at, delay time.Duration) step { return step{at: at, delay: delay, ok: true} }

// giveUp is a step expecting the job to fail for good.
func giveUp(at time.Duration) step { return step{at: at} }

// runSteps feeds the steps' failures to s and checks every decision.
func runSteps(t *testing.T, s Strategy, steps []step) {
	t.Helper()
	for i, st := range steps {
		delay, ok := s.Failed(t0.Add(st.at))
		if delay != st.delay || ok != st.ok {
			t.Fatalf("failure %d at t0+%v: got (%v, %v), want (%v, %v)", i+1, st.at, delay, ok, st.delay, st.ok)
		}
	}
}

// mustNew returns New(c) or fails the test.
func mustNew(t *testing.T, c Config) Strategy {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return s
}
