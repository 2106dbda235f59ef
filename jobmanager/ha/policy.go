package ha

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/consul/api"
)

// The decisions of this file do no I/O, so they are tested on their own.

// backoff is an exponential retry schedule: Min, 2·Min, 4·Min, ... up to
// Max.
type backoff struct {
	Min, Max time.Duration
}

// delay is the wait before retry number attempt (0 for the first retry).
func (b backoff) delay(attempt int) time.Duration {
	d := b.Min
	for range attempt {
		if d >= b.Max/2 {
			return b.Max
		}
		d *= 2
	}
	return min(d, b.Max)
}

// jitter spreads d over [0.8·d, 1.2·d) so that JobManagers started
// together do not retry in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// lockHeld decides from a read of the lock key whether the leadership of
// session at epoch still holds, and if not, why. The key must exist, be
// held by the session and not have been written since the acquisition
// (whose modify index is the epoch): anyone else's write to it ends the
// leadership, since readers would no longer see this epoch there.
func lockHeld(pair *api.KVPair, session string, epoch uint64) (bool, string) {
	switch {
	case pair == nil:
		return false, "the lock key was deleted"
	case pair.Session == "":
		return false, "the lock was released (session invalidated: the JobManager's health check failed, its session expired or was destroyed)"
	case pair.Session != session:
		return false, fmt.Sprintf("the lock is held by another session (%s)", pair.Session)
	case pair.ModifyIndex != epoch:
		return false, fmt.Sprintf("the lock key was rewritten by someone else (modify index %d, epoch %d)", pair.ModifyIndex, epoch)
	}
	return true, ""
}

// graceDeadline is when a leader that last confirmed its lock at lastOK
// gives up leadership if Consul does not answer before.
func graceDeadline(lastOK time.Time, grace time.Duration) time.Time {
	return lastOK.Add(grace)
}

// watchWait is the wait time of the leader's blocking queries on its lock
// key, which see a lost lock at once; confirmInterval covers the grace
// period.
const watchWait = 10 * time.Second

// confirmInterval is how often a leader confirms its lock with a read
// that does not block: a few times per grace period, so that Consul
// being unreachable for most of the grace period is ridden out (the grace
// period counts from the last confirmation sent, at most one interval
// before Consul stopped answering).
func confirmInterval(grace time.Duration) time.Duration {
	return max(grace/5, 20*time.Millisecond)
}

// nextWaitIndex is the index for the next blocking query after one that
// returned index got, following Consul's advice: start over if the index
// went backwards, and never block on 0.
func nextWaitIndex(prev, got uint64) uint64 {
	if got < prev {
		return 0
	}
	if got == 0 {
		return 1
	}
	return got
}

// lockRetry is how often a JobManager retries an acquisition that the
// lock delay refused: a few times within the delay, so it takes the lock
// soon after the delay ends.
func lockRetry(lockDelay time.Duration) time.Duration {
	return min(max(lockDelay/5, 50*time.Millisecond), 500*time.Millisecond)
}
