package agent

import (
	"testing"

	"github.com/sluicehq/sluice/jobmanager/rpc"
)

// TestAdmitRefusesOlderEpochs: once a TaskManager has seen a leader's
// epoch, commands of an older one (a deposed leader) are refused, and
// those of the same or a newer one are taken.
func TestAdmitRefusesOlderEpochs(t *testing.T) {
	a := &agent{}
	for _, tc := range []struct {
		epoch uint64
		want  bool
	}{
		{0, true},   // no HA
		{20, true},  // the first leader
		{20, true},  // the same leader again
		{36, true},  // a new leader
		{20, false}, // the old one, deposed
		{35, false},
		{36, true},
	} {
		if got := a.admit(&rpc.JobManagerMessage{Epoch: tc.epoch}); got != tc.want {
			t.Fatalf("admit(epoch %d) after newest %d = %v, want %v", tc.epoch, a.epoch.Load(), got, tc.want)
		}
	}
	if a.epoch.Load() != 36 {
		t.Fatalf("newest epoch %d, want 36", a.epoch.Load())
	}
}
