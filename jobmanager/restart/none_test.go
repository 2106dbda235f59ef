package restart

import (
	"testing"
	"time"
)

func TestNone(t *testing.T) {
	s := mustNew(t, Config{Kind: None})
	runSteps(t, s, []step{giveUp(0), giveUp(time.Hour), giveUp(24 * time.Hour)})
}
