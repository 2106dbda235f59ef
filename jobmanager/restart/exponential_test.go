package restart

import (
	"testing"
	"time"
)

// exact returns an exponential-delay strategy for c without jitter, which a
// Config cannot express (a zero Jitter means the default), so that the
// tests can check the delays before jitter exactly.
func exact(t *testing.T, c Config) *exponentialDelay {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s := newExponentialDelay(c.withDefaults())
	s.jitter = 0
	return s
}

func TestExponentialDelay(t *testing.T) {
	const s, ms = time.Second, time.Millisecond
	tests := []struct {
		name  string
		c     Config
		steps []step
	}{
		{
			"defaults: doubles from 1s up to 1m and never gives up",
			Config{Kind: ExponentialDelay},
			[]step{
				restartAfter(0, s),
				restartAfter(10*s, 2*s),
				restartAfter(20*s, 4*s),
				restartAfter(30*s, 8*s),
				restartAfter(40*s, 16*s),
				restartAfter(60*s, 32*s),
				restartAfter(100*s, time.Minute), // 64s capped
				restartAfter(200*s, time.Minute),
				restartAfter(300*s, time.Minute),
			},
		},
		{
			"a fractional multiplier",
			Config{Kind: ExponentialDelay, InitialDelay: 100 * ms, MaxDelay: s, Multiplier: 1.5},
			[]step{
				restartAfter(0, 100*ms),
				restartAfter(s, 150*ms),
				restartAfter(2*s, 225*ms),
				restartAfter(3*s, 337500*time.Microsecond),
				restartAfter(4*s, 506250*time.Microsecond),
				restartAfter(5*s, 759375*time.Microsecond),
				restartAfter(6*s, s),
			},
		},
		{
			"multiplier 1 keeps the delay",
			Config{Kind: ExponentialDelay, InitialDelay: 3 * s, Multiplier: 1},
			[]step{restartAfter(0, 3*s), restartAfter(s, 3*s), restartAfter(2*s, 3*s)},
		},
		{
			"maxDelay equal to initialDelay",
			Config{Kind: ExponentialDelay, InitialDelay: 5 * s, MaxDelay: 5 * s},
			[]step{restartAfter(0, 5*s), restartAfter(s, 5*s)},
		},
		{
			"resets after running resetThreshold since the restart",
			Config{Kind: ExponentialDelay, ResetThreshold: 10 * s},
			[]step{
				restartAfter(0, s),
				restartAfter(5*s, 2*s),
				restartAfter(8*s, 4*s),
				// Restarted at 12s; ran 10s-1ns: no reset.
				restartAfter(22*s-1, 8*s),
				// Restarted at 30s-1ns; ran exactly 10s: reset.
				restartAfter(40*s-1, s),
				restartAfter(41*s, 2*s),
			},
		},
		{
			"default reset threshold is 1h",
			Config{Kind: ExponentialDelay},
			[]step{
				restartAfter(0, s),
				restartAfter(time.Minute, 2*s),
				restartAfter(time.Minute+2*s+time.Hour-1, 4*s),
				restartAfter(time.Minute+2*s+time.Hour-1+4*s+time.Hour, s),
			},
		},
		{
			"a failure while waiting to restart keeps growing",
			Config{Kind: ExponentialDelay, ResetThreshold: s},
			[]step{restartAfter(0, s), restartAfter(500*ms, 2*s), restartAfter(time.Second, 4*s)},
		},
		{
			"a clock that goes back does not reset",
			Config{Kind: ExponentialDelay, ResetThreshold: s},
			[]step{restartAfter(time.Hour, s), restartAfter(0, 2*s), restartAfter(-time.Hour, 4*s)},
		},
		{
			"a huge maxDelay does not overflow",
			Config{Kind: ExponentialDelay, InitialDelay: time.Hour, MaxDelay: 1<<63 - 1, Multiplier: 1e6},
			[]step{
				restartAfter(0, time.Hour),
				restartAfter(s, 1e6*time.Hour),
				restartAfter(2*s, 1<<63-1),
				restartAfter(3*s, 1<<63-1),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, exact(t, tt.c), tt.steps)
		})
	}
}

// jitterSteps returns the times of n failures spread over two hours, close
// enough that the delay never resets.
func jitterSteps(n int) []time.Time {
	times := make([]time.Time, n)
	for i := range times {
		times[i] = t0.Add(time.Duration(i) * 2 * time.Hour / time.Duration(n+1))
	}
	return times
}

func TestExponentialDelayJitterBounds(t *testing.T) {
	tests := []struct {
		name   string
		c      Config
		jitter float64
	}{
		{"default jitter 0.1", Config{Kind: ExponentialDelay, Seed: 1}, 0.1},
		{"jitter 0.5", Config{Kind: ExponentialDelay, Jitter: 0.5, Seed: 2}, 0.5},
		{"jitter 1", Config{Kind: ExponentialDelay, Jitter: 1, Seed: 3}, 1},
		{"small delays", Config{Kind: ExponentialDelay, InitialDelay: 10, MaxDelay: 1000, Jitter: 0.3, Seed: 4}, 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c.withDefaults()
			s, base := mustNew(t, tt.c), exact(t, tt.c)
			moved, atMax := 0, 0
			for i, now := range jitterSteps(200) {
				b, _ := base.Failed(now)
				d, ok := s.Failed(now)
				lo := time.Duration(float64(b) * (1 - tt.jitter))
				hi := min(time.Duration(float64(b)*(1+tt.jitter))+1, c.MaxDelay)
				if !ok || d < lo || d > hi {
					t.Fatalf("failure %d: got (%v, %v), want a delay in [%v, %v] around %v", i+1, d, ok, lo, hi, b)
				}
				if d != b {
					moved++
				}
				if b == c.MaxDelay && d < b {
					atMax++
				}
			}
			// Below the max delay nearly every delay moves; at it, the half
			// that jitter would take above it stays at it.
			if moved < 200/4 {
				t.Errorf("jitter moved only %d of 200 delays", moved)
			}
			if atMax == 0 {
				t.Errorf("jitter never took a delay below the max delay")
			}
		})
	}
}

func TestExponentialDelayJitterIsDeterministic(t *testing.T) {
	delays := func(seed uint64) []time.Duration {
		s := mustNew(t, Config{Kind: ExponentialDelay, Jitter: 0.5, Seed: seed})
		var out []time.Duration
		for _, now := range jitterSteps(30) {
			d, _ := s.Failed(now)
			out = append(out, d)
		}
		return out
	}
	a, b, other := delays(7), delays(7), delays(8)
	same := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 gave %v, then %v at failure %d", a[i], b[i], i+1)
		}
		if a[i] == other[i] {
			same++
		}
	}
	if same > len(a)/2 {
		t.Errorf("seeds 7 and 8 gave %d of %d equal delays: %v and %v", same, len(a), a, other)
	}
}

func TestExponentialDelayJitterDoesNotCompound(t *testing.T) {
	// With a multiplier of 1 the delay before jitter stays at InitialDelay,
	// so every delay stays within ±Jitter of it however many failures.
	s := mustNew(t, Config{Kind: ExponentialDelay, InitialDelay: time.Second, Multiplier: 1, Jitter: 0.2, Seed: 9})
	for i, now := range jitterSteps(500) {
		d, _ := s.Failed(now)
		if d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("failure %d: delay %v is not within 20%% of 1s", i+1, d)
		}
	}
}
