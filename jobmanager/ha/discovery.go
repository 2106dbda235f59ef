package ha

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/consul/api"
)

// leaderFromPair decides what the lock key says: the leader, ErrNoLeader
// (no key, or a key without a session: the lock was released), or an
// error wrapping ErrForeign that names the key and why its value is
// refused.
func leaderFromPair(key string, pair *api.KVPair) (Leader, error) {
	if pair == nil || pair.Session == "" {
		return Leader{}, ErrNoLeader
	}
	l, err := decodeLeader(pair.Value)
	if err != nil {
		return Leader{}, fmt.Errorf("%w at key %q: %v", ErrForeign, key, err)
	}
	l.Epoch = pair.ModifyIndex
	return l, nil
}

// Leader reads the lock key: the current leader, ErrNoLeader if none, or
// ErrForeign (logged) if the key holds a value this JobManager does not
// understand.
func (c *Consul) Leader(ctx context.Context) (Leader, error) {
	key := c.keys.leader
	pair, _, err := c.client.KV().Get(key, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		if perr := permissionErr(err, key, "key:read"); perr != nil {
			return Leader{}, perr
		}
		return Leader{}, fmt.Errorf("ha: reading the leader key %q from Consul at %s: %w", key, c.cfg.Address, err)
	}
	l, err := leaderFromPair(key, pair)
	if err != nil && err != ErrNoLeader {
		c.log.Warn("refusing the value of the leader key", "key", key, "err", err)
	}
	return l, err
}

// watchBackoff is the retry schedule of Watch when Consul fails.
var watchBackoff = backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}

// Watch follows the lock key with blocking queries and calls fn with the
// leader first and then every time it changes (a new epoch is a change),
// with the zero Leader while there is none or the key's value is refused
// (logged). Consul errors are logged and retried with backoff. It returns
// nil when ctx ends, ErrClosed when the Consul is closed, or an error
// wrapping ErrPermission if the token may not read the key.
func (c *Consul) Watch(ctx context.Context, fn func(Leader)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(c.ctx, func() { cancel(ErrClosed) })
	defer stop()
	ended := func() error {
		if errors.Is(context.Cause(ctx), ErrClosed) {
			return ErrClosed
		}
		return nil
	}
	key := c.keys.leader
	var idx uint64
	first := true
	var last Leader
	var lastRefused uint64 // modify index of the last value refused (logged once)
	failures := 0
	for {
		pair, meta, err := c.client.KV().Get(key, (&api.QueryOptions{WaitIndex: idx, WaitTime: 5 * time.Minute}).WithContext(ctx))
		if ctx.Err() != nil {
			return ended()
		}
		if err != nil {
			if perr := permissionErr(err, key, "key:read"); perr != nil {
				return perr
			}
			failures++
			if failures == 1 || failures%10 == 0 {
				c.log.Warn("watching the leader key: Consul failed; retrying", "key", key, "failures", failures, "err", err)
			}
			idx = 0
			if !sleep(ctx, jitter(watchBackoff.delay(failures-1))) {
				return ended()
			}
			continue
		}
		if failures > 0 {
			c.log.Info("watching the leader key again", "key", key)
			failures = 0
		}
		cur, err := leaderFromPair(key, pair)
		if err != nil && err != ErrNoLeader && pair.ModifyIndex != lastRefused {
			lastRefused = pair.ModifyIndex
			c.log.Warn("refusing the value of the leader key; not following it", "key", key, "err", err)
		}
		if first || cur != last {
			first, last = false, cur
			fn(cur)
		}
		idx = nextWaitIndex(idx, meta.LastIndex)
	}
}
