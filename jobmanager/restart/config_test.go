package restart

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	want := Config{Kind: FixedDelay, Attempts: 3, Delay: time.Second}
	if c != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if got, want := mustNew(t, c).String(), "fixed-delay (3 attempts, 1s delay)"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []Config{
		DefaultConfig(),
		{Kind: FixedDelay},
		{Kind: ExponentialDelay},
		{Kind: FailureRate},
		{Kind: None},
		{Kind: ExponentialDelay, Multiplier: 1, Jitter: 1, InitialDelay: time.Minute, MaxDelay: time.Minute},
		{Kind: ExponentialDelay, InitialDelay: time.Millisecond, MaxDelay: time.Millisecond},
		{Kind: ExponentialDelay, MaxDelay: math.MaxInt64, Multiplier: 1e300},
		// Fields of other kinds are ignored: a MaxDelay below InitialDelay
		// only matters to exponential-delay.
		{Kind: FixedDelay, InitialDelay: time.Hour},
		{Kind: None, Attempts: 5, Delay: time.Second},
		{Kind: FailureRate, MaxFailures: 10, Interval: time.Hour, Delay: 5 * time.Second},
	}
	for _, c := range tests {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", c, err)
		}
		if _, err := New(c); err != nil {
			t.Errorf("New(%+v) = %v, want nil", c, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want []string // each must be in the message
	}{
		{"empty kind", Config{}, []string{"kind is empty; want fixed-delay, exponential-delay, failure-rate or none"}},
		{"unknown kind", Config{Kind: "Fixed-Delay"}, []string{`kind "Fixed-Delay" is unknown; want fixed-delay, exponential-delay, failure-rate or none`}},
		{"attempts", Config{Kind: FixedDelay, Attempts: -1}, []string{"attempts is -1; want 0 or more (0 means the default, 3)"}},
		{"delay", Config{Kind: FixedDelay, Delay: -time.Second}, []string{"delay is -1s; want 0 or more (0 means the default, 1s)"}},
		{"initialDelay", Config{Kind: ExponentialDelay, InitialDelay: -time.Millisecond}, []string{"initialDelay is -1ms; want 0 or more (0 means the default, 1s)"}},
		{"maxDelay", Config{Kind: ExponentialDelay, MaxDelay: -time.Minute}, []string{"maxDelay is -1m0s; want 0 or more (0 means the default, 1m0s)"}},
		{"multiplier below 1", Config{Kind: ExponentialDelay, Multiplier: 0.5}, []string{"multiplier is 0.5; want a finite number of 1 or more (0 means the default, 2)"}},
		{"negative multiplier", Config{Kind: ExponentialDelay, Multiplier: -2}, []string{"multiplier is -2; want"}},
		{"NaN multiplier", Config{Kind: ExponentialDelay, Multiplier: math.NaN()}, []string{"multiplier is NaN; want"}},
		{"infinite multiplier", Config{Kind: ExponentialDelay, Multiplier: math.Inf(1)}, []string{"multiplier is +Inf; want"}},
		{"resetThreshold", Config{Kind: ExponentialDelay, ResetThreshold: -time.Hour}, []string{"resetThreshold is -1h0m0s; want 0 or more (0 means the default, 1h0m0s)"}},
		{"negative jitter", Config{Kind: ExponentialDelay, Jitter: -0.1}, []string{"jitter is -0.1; want a number from 0 to 1 (0 means the default, 0.1)"}},
		{"jitter above 1", Config{Kind: ExponentialDelay, Jitter: 1.5}, []string{"jitter is 1.5; want a number from 0 to 1"}},
		{"NaN jitter", Config{Kind: ExponentialDelay, Jitter: math.NaN()}, []string{"jitter is NaN; want"}},
		{"maxDelay below initialDelay", Config{Kind: ExponentialDelay, InitialDelay: 2 * time.Minute}, []string{"maxDelay (1m0s) is below initialDelay (2m0s); want maxDelay of at least initialDelay"}},
		{"maxFailures", Config{Kind: FailureRate, MaxFailures: -2}, []string{"maxFailures is -2; want 0 or more (0 means the default, 1)"}},
		{"interval", Config{Kind: FailureRate, Interval: -time.Second}, []string{"interval is -1s; want 0 or more (0 means the default, 1m0s)"}},
		{"out of range for another kind", Config{Kind: None, Attempts: -1}, []string{"attempts is -1"}},
		{
			"every problem at once",
			Config{Kind: "restart", Attempts: -1, Jitter: 2, Interval: -1},
			[]string{`kind "restart" is unknown`, "attempts is -1", "jitter is 2", "interval is -1ns"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error", tt.c)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.HasPrefix(err.Error(), "invalid restart config: ") {
				t.Errorf("error %q does not start with %q", err, "invalid restart config: ")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			s, nerr := New(tt.c)
			if s != nil || nerr == nil || nerr.Error() != err.Error() {
				t.Errorf("New = %v, %v; want nil and the Validate error", s, nerr)
			}
		})
	}
}
