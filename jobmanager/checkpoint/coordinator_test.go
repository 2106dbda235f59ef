package checkpoint

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	src   = Subtask{Task: "src", Index: 0}
	sink0 = Subtask{Task: "sink", Index: 0}
	sink1 = Subtask{Task: "sink", Index: 1}
	all   = []Subtask{src, sink0, sink1}
	t0    = time.Unix(1000, 0)
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func newCoord(t *testing.T, cfg Config) *Coordinator {
	t.Helper()
	c, err := New(cfg, all, []Subtask{src}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func kinds(acts []Action) []ActionKind {
	var ks []ActionKind
	for _, a := range acts {
		ks = append(ks, a.Kind)
	}
	return ks
}

func ackAll(t *testing.T, c *Coordinator, now time.Time, id int64) []Action {
	t.Helper()
	var last []Action
	for _, s := range all {
		acts, err := c.Acknowledge(now, id, Ack{Subtask: s, Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		last = acts
	}
	return last
}

func TestIntervalMinPauseAndOneAtATime(t *testing.T) {
	c := newCoord(t, Config{Interval: time.Second, MinPause: 500 * time.Millisecond})
	if acts := c.Tick(at(999 * time.Millisecond)); len(acts) != 0 {
		t.Fatal("triggered before the interval")
	}
	acts := c.Tick(at(time.Second))
	if len(acts) != 1 || acts[0].Kind != Trigger || acts[0].Checkpoint.ID != 1 {
		t.Fatalf("at 1s: %v", kinds(acts))
	}
	// One at a time: nothing while #1 is pending, however late.
	if acts := c.Tick(at(5 * time.Second)); len(acts) != 0 {
		t.Fatal("triggered while one is pending")
	}
	if got := c.NextTick(at(5 * time.Second)); !got.Equal(at(time.Second + DefaultTimeout)) {
		t.Fatalf("NextTick while pending = %v", got)
	}
	done := ackAll(t, c, at(6*time.Second), 1)
	if len(done) != 1 || done[0].Kind != Complete || done[0].Checkpoint.Size() != 30 {
		t.Fatalf("completion: %v", kinds(done))
	}
	// The interval has long passed, but the minimum pause runs from the end.
	if acts := c.Tick(at(6*time.Second + 400*time.Millisecond)); len(acts) != 0 {
		t.Fatal("triggered within the minimum pause")
	}
	if got := c.NextTick(at(6 * time.Second)); !got.Equal(at(6*time.Second + 500*time.Millisecond)) {
		t.Fatalf("NextTick after completion = %v", got)
	}
	if acts := c.Tick(at(6*time.Second + 500*time.Millisecond)); len(acts) != 1 || acts[0].Checkpoint.ID != 2 {
		t.Fatalf("after the pause: %v", kinds(acts))
	}
}

func TestTimeoutAndDeclineAbort(t *testing.T) {
	c := newCoord(t, Config{Interval: time.Second, Timeout: 3 * time.Second})
	c.Tick(at(time.Second))
	c.Acknowledge(at(time.Second), 1, Ack{Subtask: src})
	acts := c.Tick(at(4 * time.Second))
	if len(acts) < 1 || acts[0].Kind != Abort || !strings.Contains(acts[0].Checkpoint.Reason, "timed out after 3s with 1 of 3") {
		t.Fatalf("timeout: %+v", acts)
	}
	// A late acknowledgement of the aborted checkpoint is refused.
	if _, err := c.Acknowledge(at(4*time.Second), 1, Ack{Subtask: sink0}); !errors.Is(err, ErrUnknownCheckpoint) {
		t.Fatalf("late ack: %v", err)
	}
	// Interval elapsed since #1 started, pause 0: #2 starts in the same tick.
	if len(acts) != 2 || acts[1].Kind != Trigger || acts[1].Checkpoint.ID != 2 {
		t.Fatalf("no trigger after the abort: %v", kinds(acts))
	}
	acts = c.Decline(at(5*time.Second), 2, sink1, "disk full")
	if len(acts) != 1 || acts[0].Kind != Abort || !strings.Contains(acts[0].Checkpoint.Reason, "sink subtask 1 declined: disk full") {
		t.Fatalf("decline: %+v", acts)
	}
	if c.Latest() != nil {
		t.Fatal("an aborted checkpoint became the latest")
	}
}

func TestRetentionDiscardsOnlyOlderOnesAfterRecording(t *testing.T) {
	c := newCoord(t, Config{Interval: time.Second, Retained: 2})
	var ids []int64
	for i := 1; i <= 4; i++ {
		acts := c.Tick(at(time.Duration(i) * time.Second))
		id := acts[0].Checkpoint.ID
		ids = append(ids, id)
		ackAll(t, c, at(time.Duration(i)*time.Second+time.Millisecond), id)
		// Completed but not yet recorded: nothing is discarded, and the
		// previous one is still the latest.
		if i > 1 && c.Latest().ID != ids[i-2] {
			t.Fatalf("latest before recording #%d = %d", id, c.Latest().ID)
		}
		disc := c.Recorded(id)
		if i <= 2 && len(disc) != 0 {
			t.Fatalf("discarded while within retention: %v", kinds(disc))
		}
		if i > 2 && (len(disc) != 1 || disc[0].Checkpoint.ID != ids[i-3]) {
			t.Fatalf("recording #%d discarded %+v", id, disc)
		}
	}
	if r := c.Retained(); len(r) != 2 || r[0].ID != 3 || r[1].ID != 4 {
		t.Fatalf("retained %v", r)
	}
	// A checkpoint whose metadata could not be written is discarded and
	// never becomes the latest.
	acts := c.Tick(at(5 * time.Second))
	ackAll(t, c, at(5*time.Second), acts[0].Checkpoint.ID)
	if disc := c.RecordFailed(acts[0].Checkpoint.ID, errors.New("disk full")); len(disc) != 1 || disc[0].Kind != Discard {
		t.Fatalf("record failure: %v", kinds(disc))
	}
	if c.Latest().ID != 4 {
		t.Fatalf("latest %d after a failed record", c.Latest().ID)
	}
}

func TestSavepointsQueueAndAreNeverDiscarded(t *testing.T) {
	c := newCoord(t, Config{Interval: time.Second, Retained: 1})
	c.Tick(at(time.Second)) // #1 pending
	sp, acts, err := c.TriggerSavepoint(at(1500*time.Millisecond), "s3://b/sp")
	if err != nil || len(acts) != 0 || sp.Status != Pending {
		t.Fatalf("savepoint during a checkpoint: %+v %v %v", sp, acts, err)
	}
	if _, _, err := c.TriggerSavepoint(at(1500*time.Millisecond), "other"); !errors.Is(err, ErrSavepointInProgress) {
		t.Fatalf("second savepoint: %v", err)
	}
	ackAll(t, c, at(2*time.Second), 1)
	c.Recorded(1)
	if got := c.NextTick(at(2 * time.Second)); !got.Equal(at(2 * time.Second)) {
		t.Fatalf("a queued savepoint should be due at once, NextTick = %v", got)
	}
	acts = c.Tick(at(2 * time.Second))
	if len(acts) != 1 || !acts[0].Checkpoint.Savepoint || acts[0].Checkpoint.ID != 2 || acts[0].Checkpoint.Target != "s3://b/sp" {
		t.Fatalf("queued savepoint not triggered: %+v", acts)
	}
	ackAll(t, c, at(3*time.Second), 2)
	if disc := c.Recorded(2); len(disc) != 0 {
		t.Fatal("recording a savepoint discarded something")
	}
	// More checkpoints: retention never touches the savepoint.
	for i := 4; i <= 6; i++ {
		a := c.Tick(at(time.Duration(i) * time.Second))
		ackAll(t, c, at(time.Duration(i)*time.Second), a[0].Checkpoint.ID)
		for _, d := range c.Recorded(a[0].Checkpoint.ID) {
			if d.Checkpoint.Savepoint {
				t.Fatal("a savepoint was discarded")
			}
		}
	}
	if c.Latest().Savepoint {
		t.Fatal("a savepoint counts as the latest checkpoint")
	}
}

func TestRestartAbortsPendingAndRestoresLatest(t *testing.T) {
	c := newCoord(t, Config{Interval: time.Second})
	c.Tick(at(time.Second))
	ackAll(t, c, at(time.Second), 1)
	c.Recorded(1)
	c.Tick(at(2 * time.Second)) // #2 pending
	latest, acts := c.Restart(at(2500*time.Millisecond), 1)
	if latest == nil || latest.ID != 1 || len(acts) != 1 || acts[0].Kind != Abort {
		t.Fatalf("restart: latest %v, %v", latest, kinds(acts))
	}
	// Acknowledgements of the old attempt's checkpoint are refused; new
	// checkpoints carry the new attempt.
	if _, err := c.Acknowledge(at(2600*time.Millisecond), 2, Ack{Subtask: src}); !errors.Is(err, ErrUnknownCheckpoint) {
		t.Fatalf("old ack: %v", err)
	}
	a := c.Tick(at(3500 * time.Millisecond))
	if len(a) != 1 || a[0].Checkpoint.Attempt != 1 || a[0].Checkpoint.ID != 3 {
		t.Fatalf("after restart: %+v", a)
	}
}

func TestStopRetention(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		finished, cancelled  bool
		retainOnCancel, kept bool
	}{
		{"finished", true, false, false, false},
		{"cancelled", false, true, false, false},
		{"cancelled, retained", false, true, true, true},
		{"failed", false, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCoord(t, Config{Interval: time.Second, RetainOnCancel: tc.retainOnCancel})
			c.Tick(at(time.Second))
			ackAll(t, c, at(time.Second), 1)
			c.Recorded(1)
			acts := c.Stop(at(2*time.Second), tc.finished, tc.cancelled)
			discarded := len(acts) == 1 && acts[0].Kind == Discard
			if discarded == tc.kept || (c.Latest() != nil) != tc.kept {
				t.Fatalf("stop: %v, latest %v", kinds(acts), c.Latest())
			}
			if a := c.Tick(at(10 * time.Second)); len(a) != 0 {
				t.Fatal("triggered after Stop")
			}
			if _, _, err := c.TriggerSavepoint(at(10*time.Second), "x"); !errors.Is(err, ErrStopped) {
				t.Fatalf("savepoint after stop: %v", err)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Interval: -1}, "interval"},
		{Config{Timeout: -1}, "timeout"},
		{Config{MinPause: -1}, "minimum pause"},
		{Config{Retained: -2}, "retained"},
		{Config{Mode: "sometimes"}, "mode"},
	}
	for _, tc := range cases {
		err := tc.cfg.WithDefaults().Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
	if _, err := New(Config{}, all, nil, t0); err == nil {
		t.Fatal("a job without sources was accepted")
	}
	if c := newCoord(t, Config{}); !c.NextTick(t0).IsZero() || len(c.Tick(at(time.Hour))) != 0 {
		t.Fatal("interval 0 should never trigger")
	}
}
