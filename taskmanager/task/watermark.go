package task

import "math"

// EventTime is implemented by a Chain that takes part in event time. Run
// checks for it once, when the task starts; a chain without it ignores
// watermarks.
//
// Watermarks and watermark statuses reach a task in-band, on every input
// channel (network.EventWatermark, EventIdle, EventActive). Run keeps, per
// channel, the last watermark and whether the channel is idle or ended. The
// task's input watermark is the minimum over the channels that are neither
// idle nor ended; whenever it advances, Run calls AdvanceWatermark once, so
// the chain never sees a watermark go back. When every channel that has not
// ended is idle, the task is idle: Run calls SetIdle(true), and SetIdle(false)
// when a channel is active again. As in Flink's StatusWatermarkValve, a
// channel that comes back from idleness with a watermark behind the task's
// joins the minimum only once it has caught up, and when the last active
// channel turns idle the input watermark moves to the highest watermark of
// the idle channels, as none of them will advance.
//
// A source chain produces its watermarks itself, and emits math.MaxInt64
// when its bounded source ends; Run calls neither method on a source task.
type EventTime interface {
	// AdvanceWatermark moves the chain's event time to wm: operators act
	// on it (firing event-time timers up to wm) and the chain sends wm on
	// every output channel after what they emitted.
	AdvanceWatermark(wm int64) error
	// SetIdle marks the chain's outputs idle, or active again.
	SetIdle(idle bool)
}

// channelTime is what the valve knows of one input channel.
type channelTime struct {
	wm    int64
	idle  bool
	ended bool
	// aligned channels make the minimum: active, not ended, and caught up
	// with the valve's output.
	aligned bool
}

// valve computes a task's input watermark and status from its channels'.
// Its methods return what the chain must be told.
type valve struct {
	chans []channelTime
	wm    int64 // the input watermark the chain was last given
	idle  bool  // the status the chain was last given
}

// valveOut is what one input changed: the watermark, if advanced, goes to
// the chain before the status.
type valveOut struct {
	advanced bool
	wm       int64
	status   bool // the status changed (to the valve's idle)
}

func newValve(channels int) *valve {
	v := &valve{chans: make([]channelTime, channels), wm: math.MinInt64}
	for i := range v.chans {
		v.chans[i] = channelTime{wm: math.MinInt64, aligned: true}
	}
	return v
}

// watermark records watermark wm from channel ch. A watermark of an idle
// or ended channel, or one that does not advance its channel, is ignored.
func (v *valve) watermark(ch int, wm int64) valveOut {
	c := &v.chans[ch]
	if c.idle || c.ended || wm <= c.wm {
		return valveOut{}
	}
	c.wm = wm
	if !c.aligned && wm >= v.wm {
		c.aligned = true
	}
	return v.advance()
}

// markIdle records that channel ch turned idle.
func (v *valve) markIdle(ch int) valveOut {
	c := &v.chans[ch]
	if c.idle || c.ended {
		return valveOut{}
	}
	c.idle, c.aligned = true, false
	return v.regroup()
}

// markActive records that channel ch is active again.
func (v *valve) markActive(ch int) valveOut {
	c := &v.chans[ch]
	if !c.idle || c.ended {
		return valveOut{}
	}
	c.idle = false
	c.aligned = c.wm >= v.wm
	if v.idle {
		v.idle = false
		return valveOut{status: true}
	}
	return valveOut{}
}

// end records that channel ch ended: it leaves the minimum for good.
func (v *valve) end(ch int) valveOut {
	c := &v.chans[ch]
	if c.ended {
		return valveOut{}
	}
	c.ended, c.aligned = true, false
	return v.regroup()
}

// regroup follows a channel leaving the minimum: the minimum of the others
// may advance, or, if none is active, the task turns idle at the highest
// watermark of the idle ones.
func (v *valve) regroup() valveOut {
	var out valveOut
	active, idle := false, false
	top := int64(math.MinInt64)
	for _, c := range v.chans {
		switch {
		case c.ended:
		case c.idle:
			idle = true
			top = max(top, c.wm)
		default:
			active = true
		}
	}
	switch {
	case active:
		return v.advance()
	case !idle:
		// Every channel ended: the input is over.
		return out
	}
	if top > v.wm {
		v.wm = top
		out.advanced, out.wm = true, top
	}
	if !v.idle {
		v.idle = true
		out.status = true
	}
	return out
}

// advance moves the output to the minimum over the aligned channels, if
// that is higher.
func (v *valve) advance() valveOut {
	low, found := int64(math.MaxInt64), false
	for _, c := range v.chans {
		if c.aligned {
			low, found = min(low, c.wm), true
		}
	}
	if !found || low <= v.wm {
		return valveOut{}
	}
	v.wm = low
	return valveOut{advanced: true, wm: low}
}

// tell passes what the valve changed on to the chain, if it takes part in
// event time.
func (v *valve) tell(o valveOut, chain Chain, et EventTime) error {
	if et == nil {
		return nil
	}
	if o.advanced {
		if err := et.AdvanceWatermark(o.wm); err != nil {
			return &OperatorError{Operator: chain.Operator(), Err: err}
		}
	}
	if o.status {
		et.SetIdle(v.idle)
	}
	return nil
}
