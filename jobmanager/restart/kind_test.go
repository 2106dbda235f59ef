package restart

import (
	"errors"
	"testing"
)

func TestParseKind(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
	}{
		{"fixed-delay", FixedDelay},
		{"exponential-delay", ExponentialDelay},
		{"failure-rate", FailureRate},
		{"none", None},
		{"  Fixed-Delay\n", FixedDelay},
		{"EXPONENTIAL-DELAY", ExponentialDelay},
		{"fixeddelay", FixedDelay},
		{"exponentialdelay", ExponentialDelay},
		{"FailureRate", FailureRate},
		{"off", None},
		{"disable", None},
	}
	for _, tt := range tests {
		got, err := ParseKind(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseKindUnknown(t *testing.T) {
	for _, in := range []string{"", "fixed", "exponential", "fixed_delay", "always"} {
		got, err := ParseKind(in)
		if err == nil {
			t.Errorf("ParseKind(%q) = %q, want an error", in, got)
			continue
		}
		if !errors.Is(err, ErrUnknownKind) {
			t.Errorf("ParseKind(%q) error %v does not wrap ErrUnknownKind", in, err)
		}
		want := `unknown restart strategy "` + in + `"; want fixed-delay, exponential-delay, failure-rate or none`
		if err.Error() != want {
			t.Errorf("ParseKind(%q) error:\n got %q\nwant %q", in, err, want)
		}
	}
}
