package task

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/taskmanager/network"
)

const minWM = math.MinInt64

func TestWatermarkValve(t *testing.T) {
	// An input is "wm CH V", "idle CH", "active CH" or "end CH"; want is
	// what the chain is told after each input: "" (nothing), "wm V",
	// "idle", "active", or "wm V idle".
	type step struct{ in, want string }
	cases := []struct {
		name     string
		channels int
		steps    []step
	}{
		{"the minimum over channels", 2, []step{
			{"wm 0 5", ""}, // channel 1 has said nothing: its watermark is the lowest possible
			{"wm 1 3", "wm 3"},
			{"wm 1 8", "wm 5"},
			{"wm 0 7", "wm 7"},
			{"wm 0 9", "wm 8"},
		}},
		{"a watermark never goes back", 2, []step{
			{"wm 0 10", ""},
			{"wm 1 10", "wm 10"},
			{"wm 0 4", ""}, // behind its channel: ignored
			{"wm 1 10", ""},
			{"wm 0 12", ""},
			{"wm 1 11", "wm 11"},
		}},
		{"an ended channel leaves the minimum", 3, []step{
			{"wm 0 5", ""},
			{"wm 1 9", ""},
			{"wm 2 7", "wm 5"},
			{"end 0", "wm 7"},
			{"end 0", ""}, // a repeated end changes nothing
			{"wm 0 100", ""},
			{"end 2", "wm 9"},
			{"wm 1 20", "wm 20"},
			{"end 1", ""}, // every channel ended: nothing more to say
		}},
		{"an idle channel leaves the minimum", 2, []step{
			{"wm 0 5", ""},
			{"wm 1 2", "wm 2"},
			{"idle 1", "wm 5"},
			{"idle 1", ""},
			{"wm 1 50", ""}, // an idle channel's watermark is ignored
			{"wm 0 6", "wm 6"},
		}},
		{"an idle channel becoming active rejoins once caught up", 2, []step{
			{"wm 0 10", ""},
			{"wm 1 4", "wm 4"},
			{"idle 1", "wm 10"},
			{"wm 0 20", "wm 20"},
			{"active 1", ""}, // at 4, behind the task's 20: not counted yet
			{"wm 0 30", "wm 30"},
			{"wm 1 25", ""},
			{"wm 1 35", ""}, // caught up: it counts again, channel 0 holds at 30
			{"wm 0 40", "wm 35"},
		}},
		{"a channel back from idleness ahead of the task counts at once", 2, []step{
			{"wm 0 10", ""},
			{"wm 1 15", "wm 10"},
			{"idle 1", ""},
			{"active 1", ""},
			{"wm 0 20", "wm 15"},
		}},
		{"all idle makes the task idle at the highest watermark", 2, []step{
			{"wm 0 10", ""},
			{"wm 1 30", "wm 10"},
			{"idle 1", ""},
			{"idle 0", "wm 30 idle"},
			{"wm 0 50", ""},
			{"active 0", "active"},
			{"active 1", ""},
			{"wm 0 40", ""},
			{"wm 1 45", "wm 40"},
		}},
		{"idle and ended channels leave the task idle", 2, []step{
			{"wm 0 10", ""},
			{"idle 1", "wm 10"},
			{"end 0", "idle"},
			{"active 1", "active"},
			{"wm 1 5", ""}, // below the task's 10
			{"wm 1 12", "wm 12"},
		}},
		{"no watermark while every channel is idle", 1, []step{
			{"idle 0", "idle"},
			{"wm 0 5", ""},
			{"active 0", "active"},
			{"wm 0 5", "wm 5"},
			{"wm 0 math.MaxInt64", "wm 9223372036854775807"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newValve(tc.channels)
			last := int64(minWM)
			for i, s := range tc.steps {
				var op string
				var ch int
				var wm int64
				fields := strings.Fields(s.in)
				op = fields[0]
				fmt.Sscan(fields[1], &ch)
				var out valveOut
				switch op {
				case "wm":
					if fields[2] == "math.MaxInt64" {
						wm = math.MaxInt64
					} else {
						fmt.Sscan(fields[2], &wm)
					}
					out = v.watermark(ch, wm)
				case "idle":
					out = v.markIdle(ch)
				case "active":
					out = v.markActive(ch)
				case "end":
					out = v.end(ch)
				}
				var got []string
				if out.advanced {
					if out.wm <= last {
						t.Fatalf("step %d (%s): watermark went from %d to %d", i, s.in, last, out.wm)
					}
					last = out.wm
					got = append(got, fmt.Sprint("wm ", out.wm))
				}
				if out.status {
					got = append(got, map[bool]string{true: "idle", false: "active"}[v.idle])
				}
				if g := strings.Join(got, " "); g != s.want {
					t.Fatalf("step %d (%s): told %q, want %q", i, s.in, g, s.want)
				}
			}
		})
	}
}

// timeChain is an alignChain that takes part in event time.
type timeChain struct {
	alignChain
	failAt int64 // AdvanceWatermark fails at this watermark, 0: never
}

func (c *timeChain) AdvanceWatermark(wm int64) error {
	if wm == c.failAt {
		c.op = "event-timer"
		return errors.New("timer failed")
	}
	c.log = append(c.log, fmt.Sprintf("wm-%d", wm))
	return nil
}

func (c *timeChain) SetIdle(idle bool) {
	c.log = append(c.log, map[bool]string{true: "idle", false: "active"}[idle])
}

var _ EventTime = (*timeChain)(nil)

func sendWatermark(in *network.Inbox, ch int, wm int64) {
	c := in.Channel(ch)
	b, _ := c.Acquire(nil)
	c.SendWatermark(wm, b)
}

func TestInputLoopAdvancesTheChainWatermark(t *testing.T) {
	in := network.NewInbox(2, 8)
	sendWatermark(in, 0, 10)
	send(in, 0, network.EventNone, 1)
	sendWatermark(in, 1, 20)
	sendWatermark(in, 0, 15)
	send(in, 1, network.EventIdle)
	sendWatermark(in, 0, 30)
	send(in, 0, network.EventIdle)
	send(in, 1, network.EventActive)
	sendWatermark(in, 1, 40)
	sendWatermark(in, 0, math.MaxInt64) // channel 0 is idle: ignored
	send(in, 0, network.EventEndOfStream)
	sendWatermark(in, 1, math.MaxInt64)
	send(in, 1, network.EventEndOfStream)
	c := &timeChain{}
	if err := Run(c, in, make(chan struct{}), DefaultConfig(), new(Stats), nil, nil); err != nil {
		t.Fatal(err)
	}
	want := "ch0:[1] wm-10 wm-15 wm-30 idle active wm-40 wm-9223372036854775807"
	if got := strings.Join(c.log, " "); got != want {
		t.Fatalf("chain told\n %s\nwant\n %s", got, want)
	}
}

func TestWatermarkFailureNamesTheOperator(t *testing.T) {
	in := network.NewInbox(1, 4)
	sendWatermark(in, 0, 7)
	c := &timeChain{failAt: 7}
	err := Run(c, in, make(chan struct{}), DefaultConfig(), new(Stats), nil, nil)
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "event-timer" || !strings.Contains(err.Error(), "timer failed") {
		t.Fatalf("err = %v", err)
	}
}

func TestWatermarksAreHeldWithTheirChannelDuringAlignment(t *testing.T) {
	type step func(in *network.Inbox)
	data := func(ch int, v int) step { return func(in *network.Inbox) { send(in, ch, network.EventNone, v) } }
	wm := func(ch int, v int64) step { return func(in *network.Inbox) { sendWatermark(in, ch, v) } }
	barrier := func(ch int, id int64) step { return func(in *network.Inbox) { sendBarrier(in, ch, id) } }
	eos := func(ch int) step { return func(in *network.Inbox) { send(in, ch, network.EventEndOfStream) } }
	steps := []step{wm(0, 5), wm(1, 7), barrier(0, 1), wm(0, 10), data(0, 1), wm(1, 20), barrier(1, 1), data(1, 2), eos(0), eos(1)}
	for _, tc := range []struct {
		aligned bool
		want    string
	}{
		// Channel 0's watermark 10 comes after its barrier: it waits with
		// channel 0's records until the snapshot, so the task's watermark
		// stays at 5 while channel 1 moves to 20.
		{true, "wm-5 snapshot-1 wm-10 ch0:[1] ch1:[2] wm-20"},
		// Nothing is held: 10 counts at once.
		{false, "wm-5 wm-7 ch0:[1] wm-10 snapshot-1 ch1:[2] wm-20"},
	} {
		t.Run(fmt.Sprintf("aligned=%v", tc.aligned), func(t *testing.T) {
			in := network.NewInbox(2, 8)
			for _, s := range steps {
				s(in)
			}
			c := &timeChain{}
			cp := &Checkpointing{Aligned: tc.aligned}
			if err := Run(c, in, make(chan struct{}), DefaultConfig(), new(Stats), cp, nil); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.log, " "); got != tc.want {
				t.Fatalf("order\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
