package plugins

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	good := []string{"a", "job-1/chk-3/op=ab12/kg-0", "savepoints/s_1.meta"}
	bad := []string{"", "/abs", "a//b", "a/../b", "..", "a/./b", "a b", "a\\b", "ä", strings.Repeat("x", MaxNameLength+1), "trailing/"}
	for _, n := range good {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}
