package ha

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"
)

// PutJob writes a job record under jobs/<id>, fenced by epoch.
func (c *Consul) PutJob(ctx context.Context, epoch uint64, j JobRecord) error {
	b, err := encodeJob(j)
	if err != nil {
		return fmt.Errorf("ha: put job: %w", err)
	}
	return c.fencedWrite(ctx, epoch, c.keys.job(j.ID), b)
}

// PutPointer writes a job's checkpoint pointer under checkpoints/<id>,
// fenced by epoch; the pointer's Epoch is set to epoch.
func (c *Consul) PutPointer(ctx context.Context, epoch uint64, jobID string, p Pointer) error {
	if err := validSegment("job id", jobID); err != nil {
		return fmt.Errorf("ha: put pointer: %w", err)
	}
	p.Epoch = epoch
	b, err := encodePointer(p)
	if err != nil {
		return fmt.Errorf("ha: put pointer of job %s: %w", jobID, err)
	}
	return c.fencedWrite(ctx, epoch, c.keys.pointer(jobID), b)
}

// fencedWrite writes value under key in a transaction that first checks
// that the lock key is held by the leadership of epoch: by its session,
// and not rewritten since the acquisition (its modify index is the
// epoch). A failed check ends the leadership and returns ErrFenced.
func (c *Consul) fencedWrite(ctx context.Context, epoch uint64, key string, value []byte) error {
	c.mu.Lock()
	t := c.term
	c.mu.Unlock()
	switch {
	case t == nil || t.fenced.Load():
		return fmt.Errorf("%w: write of %q with epoch %d refused: not leading", ErrFenced, key, epoch)
	case t.epoch != epoch:
		return fmt.Errorf("%w: write of %q with epoch %d refused: the leadership's epoch is %d", ErrFenced, key, epoch, t.epoch)
	}
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCheckSession, Key: c.keys.leader, Session: t.session}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: c.keys.leader, Index: epoch}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: value}},
	}
	ok, resp, _, err := c.client.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		if isPermissionText(err.Error()) {
			return fmt.Errorf("%w: key %q: the token lacks key:write, or key:read on %q (Consul: %v)", ErrPermission, key, c.keys.leader, err)
		}
		return fmt.Errorf("ha: writing %q to Consul at %s: %w", key, c.cfg.Address, err)
	}
	if ok {
		return nil
	}
	checkFailed := false
	for _, e := range resp.Errors {
		if isPermissionText(e.What) {
			k, r := key, "key:write"
			if e.OpIndex < 2 {
				k, r = c.keys.leader, "key:read"
			}
			return fmt.Errorf("%w: key %q: the token lacks %s (Consul: %s)", ErrPermission, k, r, e.What)
		}
		if e.OpIndex < 2 {
			checkFailed = true
		}
	}
	what := txnErrorText(resp)
	if checkFailed {
		if t.end() {
			c.log.Error("leadership lost; leader activities must stop", "epoch", epoch,
				"reason", "a fenced write found the lock no longer held by this leadership: "+what)
		}
		return fmt.Errorf("%w: write of %q with epoch %d refused by Consul: %s", ErrFenced, key, epoch, what)
	}
	return fmt.Errorf("ha: writing %q to Consul at %s: %s", key, c.cfg.Address, what)
}

// Jobs reads every job record. Entries that are not job records of this
// format (corrupt or foreign) are logged and skipped.
func (c *Consul) Jobs(ctx context.Context) ([]JobRecord, error) {
	prefix := c.keys.jobs
	pairs, _, err := c.client.KV().List(prefix, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		if perr := permissionErr(err, prefix, "key:read (and key:list)"); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("ha: listing %q in Consul at %s: %w", prefix, c.cfg.Address, err)
	}
	js := make([]JobRecord, 0, len(pairs))
	for _, p := range pairs {
		id := strings.TrimPrefix(p.Key, prefix)
		if err := validSegment("job id", id); err != nil {
			c.log.Warn("skipping a foreign key among the jobs", "key", p.Key, "err", err)
			continue
		}
		j, err := decodeJob(id, p.Value)
		if err != nil {
			c.log.Warn("skipping a corrupt or foreign job record", "key", p.Key, "err", err)
			continue
		}
		js = append(js, j)
	}
	sortJobs(js)
	return js, nil
}

// Pointer reads a job's checkpoint pointer. A value that is not a pointer
// of this format is logged and refused with an error wrapping ErrForeign.
func (c *Consul) Pointer(ctx context.Context, jobID string) (Pointer, bool, error) {
	if err := validSegment("job id", jobID); err != nil {
		return Pointer{}, false, fmt.Errorf("ha: pointer: %w", err)
	}
	key := c.keys.pointer(jobID)
	pair, _, err := c.client.KV().Get(key, (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		if perr := permissionErr(err, key, "key:read"); perr != nil {
			return Pointer{}, false, perr
		}
		return Pointer{}, false, fmt.Errorf("ha: reading %q from Consul at %s: %w", key, c.cfg.Address, err)
	}
	if pair == nil {
		return Pointer{}, false, nil
	}
	p, err := decodePointer(pair.Value)
	if err != nil {
		err = fmt.Errorf("%w at key %q: %v", ErrForeign, key, err)
		c.log.Warn("refusing a checkpoint pointer", "key", key, "err", err)
		return Pointer{}, false, err
	}
	return p, true, nil
}
