package restart

import (
	"testing"
	"time"
)

func TestFailureRate(t *testing.T) {
	const s, ms = time.Second, time.Millisecond
	tests := []struct {
		name  string
		c     Config
		steps []step
	}{
		{
			"defaults: a second failure within 1m, both ends included, fails",
			Config{Kind: FailureRate},
			[]step{restartAfter(0, s), giveUp(time.Minute)},
		},
		{
			"defaults: failures just over 1m apart restart forever",
			Config{Kind: FailureRate},
			[]step{
				restartAfter(0, s),
				restartAfter(time.Minute+1, s),
				restartAfter(2*time.Minute+2, s),
				restartAfter(3*time.Minute+3, s),
			},
		},
		{
			"max failures per interval, the next one fails",
			Config{Kind: FailureRate, MaxFailures: 3, Interval: 10 * s, Delay: 500 * ms},
			[]step{restartAfter(0, 500*ms), restartAfter(s, 500*ms), restartAfter(2*s, 500*ms), giveUp(3 * s)},
		},
		{
			"the window slides: old failures stop counting",
			Config{Kind: FailureRate, MaxFailures: 2, Interval: 10 * s},
			[]step{
				restartAfter(0, s),
				restartAfter(5*s, s),
				restartAfter(10*s+1, s), // window (1ns, 10s+1ns]: 5s and now
				restartAfter(20*s+2, s), // window [10s+2ns, 20s+2ns]: 10s+1ns is out, so only now
				restartAfter(25*s, s),   // 20s+2ns and now
				giveUp(30 * s),          // 20s+2ns, 25s and now: three in [20s, 30s]
			},
		},
		{
			"a failure exactly one interval ago still counts",
			Config{Kind: FailureRate, MaxFailures: 2, Interval: 10 * s},
			[]step{restartAfter(0, s), restartAfter(9*s, s), giveUp(10 * s)},
		},
		{
			"a burst after a quiet spell",
			Config{Kind: FailureRate, MaxFailures: 2, Interval: time.Minute},
			[]step{
				restartAfter(0, s),
				restartAfter(time.Hour, s),
				restartAfter(time.Hour+ms, s),
				giveUp(time.Hour + 2*ms),
			},
		},
		{
			"the verdict is final, even once the window has slid",
			Config{Kind: FailureRate},
			[]step{restartAfter(0, s), giveUp(s), giveUp(time.Hour), giveUp(24 * time.Hour)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, mustNew(t, tt.c), tt.steps)
		})
	}
}
