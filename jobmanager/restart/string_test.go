package restart

import (
	"testing"
	"time"
)

func TestString(t *testing.T) {
	tests := []struct {
		c    Config
		want string
	}{
		{Config{Kind: FixedDelay}, "fixed-delay (3 attempts, 1s delay)"},
		{Config{Kind: FixedDelay, Attempts: 1, Delay: 1500 * time.Millisecond}, "fixed-delay (1 attempt, 1.5s delay)"},
		{Config{Kind: ExponentialDelay}, "exponential-delay (1s initial delay, 1m0s max delay, multiplier 2, reset after 1h0m0s, jitter 0.1, seed 0)"},
		{
			Config{Kind: ExponentialDelay, InitialDelay: 100 * time.Millisecond, MaxDelay: 30 * time.Second, Multiplier: 1.5, ResetThreshold: 10 * time.Minute, Jitter: 1, Seed: 42},
			"exponential-delay (100ms initial delay, 30s max delay, multiplier 1.5, reset after 10m0s, jitter 1, seed 42)",
		},
		{Config{Kind: FailureRate}, "failure-rate (1 failure per 1m0s, 1s delay)"},
		{Config{Kind: FailureRate, MaxFailures: 5, Interval: time.Hour, Delay: 10 * time.Second}, "failure-rate (5 failures per 1h0m0s, 10s delay)"},
		{Config{Kind: None}, "none"},
	}
	for _, tt := range tests {
		if got := mustNew(t, tt.c).String(); got != tt.want {
			t.Errorf("New(%+v).String() = %q, want %q", tt.c, got, tt.want)
		}
	}
}
