package restart

import (
	"testing"
	"time"
)

func TestFixedDelay(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		c     Config
		steps []step
	}{
		{
			"defaults: 3 restarts after 1s, then fail",
			Config{Kind: FixedDelay},
			[]step{restartAfter(0, s), restartAfter(2*s, s), restartAfter(4*s, s), giveUp(6 * s)},
		},
		{
			"one attempt",
			Config{Kind: FixedDelay, Attempts: 1, Delay: 250 * time.Millisecond},
			[]step{restartAfter(0, 250*time.Millisecond), giveUp(time.Hour)},
		},
		{
			"attempts count in total, however far apart the failures are",
			Config{Kind: FixedDelay, Attempts: 2, Delay: 10 * s},
			[]step{restartAfter(0, 10*s), restartAfter(24*time.Hour, 10*s), giveUp(1000 * time.Hour)},
		},
		{
			"the verdict is final",
			Config{Kind: FixedDelay, Attempts: 1},
			[]step{restartAfter(0, s), giveUp(s), giveUp(2 * s), giveUp(1000 * time.Hour)},
		},
		{
			"times need not increase",
			Config{Kind: FixedDelay, Attempts: 2},
			[]step{restartAfter(time.Hour, s), restartAfter(0, s), giveUp(-time.Hour)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, mustNew(t, tt.c), tt.steps)
		})
	}
}
