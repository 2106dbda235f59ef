package ha

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
)

// errResigned is the cause of a Campaign stopped by Resign.
var errResigned = errors.New("ha: campaign stopped by Resign")

// errSessionGone says the campaign's session no longer exists.
var errSessionGone = errors.New("session no longer exists")

// retry schedule of Consul calls while campaigning.
var campaignBackoff = backoff{Min: 50 * time.Millisecond, Max: 2 * time.Second}

type campaign struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

type registration struct {
	me        Leader
	serviceID string
	checkID   string
	svc       *api.AgentServiceRegistration
	cancel    context.CancelFunc
	done      chan struct{}
}

// term is one leadership.
type term struct {
	epoch    uint64
	session  string
	value    []byte    // the lock's value
	acquired time.Time // when the acquiring transaction was sent
	lost     chan struct{}
	fenced   atomic.Bool // set before lost is closed
	resigned atomic.Bool // Resign releases the lock and destroys the session
	once     sync.Once
	ctx      context.Context // ends with the leadership
	cancel   context.CancelFunc
	done     chan struct{} // closed when the monitor has returned

	cleanupCtx  context.Context // the monitor's destruction of a lost session; ends at Resign or Close
	stopCleanup context.CancelFunc
}

// end ends the leadership: writes are fenced first, then lost is closed.
// It reports whether this call ended it.
func (t *term) end() bool {
	ended := false
	t.once.Do(func() {
		t.fenced.Store(true)
		close(t.lost)
		t.cancel()
		ended = true
	})
	return ended
}

// Campaign registers this JobManager as a service (with the TTL check its
// session is bound to), then blocks until it holds the leader lock or ctx
// ends. Consul errors while campaigning are logged and retried with
// backoff; a missing right fails with ErrPermission.
func (c *Consul) Campaign(ctx context.Context, me Leader) (uint64, <-chan struct{}, error) {
	value, err := encodeLeader(me)
	if err != nil {
		return 0, nil, fmt.Errorf("ha: campaign: %w", err)
	}
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return 0, nil, ErrClosed
	case c.campaign != nil:
		c.mu.Unlock()
		return 0, nil, errors.New("ha: campaign: another Campaign is in progress")
	case c.term != nil && !c.term.fenced.Load():
		epoch := c.term.epoch
		c.mu.Unlock()
		return 0, nil, fmt.Errorf("ha: campaign: already leading at epoch %d", epoch)
	case c.reg != nil && c.reg.me.ID != me.ID:
		id := c.reg.me.ID
		c.mu.Unlock()
		return 0, nil, fmt.Errorf("ha: campaign as %q: this Consul elector campaigns for %q; use one per JobManager", me.ID, id)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(c.ctx, func() { cancel(ErrClosed) })
	cp := &campaign{cancel: cancel, done: make(chan struct{})}
	c.campaign = cp
	c.mu.Unlock()
	defer func() {
		stop()
		cancel(nil)
		c.mu.Lock()
		c.campaign = nil
		c.mu.Unlock()
		close(cp.done)
	}()

	// fail returns the reason the campaign stopped: ErrClosed, Resign,
	// the caller's context, or err.
	fail := func(err error) (uint64, <-chan struct{}, error) {
		if cctx.Err() != nil {
			return 0, nil, context.Cause(cctx)
		}
		return 0, nil, err
	}

	if err := c.register(cctx, me); err != nil {
		return fail(err)
	}
	c.log.Info("campaigning for leadership", "id", me.ID, "key", c.keys.leader)
	for {
		session, err := c.createSession(cctx, me)
		if err != nil {
			return fail(err)
		}
		sent, epoch, err := c.acquire(cctx, session, value)
		if errors.Is(err, errSessionGone) {
			c.log.Warn("the campaign's session ended; creating another", "session", session)
			continue
		}
		if err != nil {
			c.dropSession(session, value)
			return fail(err)
		}
		tctx, tcancel := context.WithCancel(c.ctx)
		cctx2, ccancel := context.WithCancel(c.ctx)
		t := &term{
			epoch: epoch, session: session, value: value, acquired: sent,
			lost: make(chan struct{}), ctx: tctx, cancel: tcancel,
			cleanupCtx: cctx2, stopCleanup: ccancel, done: make(chan struct{}),
		}
		c.mu.Lock()
		if c.closed || cctx.Err() != nil {
			c.mu.Unlock()
			tcancel()
			ccancel()
			c.dropSession(session, value)
			return fail(cctx.Err())
		}
		c.term = t
		c.monitorOK.Store(sent.UnixNano())
		c.wg.Add(2)
		go func() { defer c.wg.Done(); c.monitor(t) }()
		go func() { defer c.wg.Done(); c.renew(t) }()
		c.mu.Unlock()
		c.log.Info("leading", "id", me.ID, "epoch", epoch, "session", session)
		return epoch, t.lost, nil
	}
}

// dropSession releases the lock (if the session holds it; a campaign
// stopped while its acquisition was in flight may) and destroys a session
// the caller will not use, within a few seconds.
func (c *Consul) dropSession(session string, value []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 3*time.Second)
	defer cancel()
	wo := (&api.WriteOptions{}).WithContext(ctx)
	if _, _, err := c.client.KV().Release(&api.KVPair{Key: c.keys.leader, Value: value, Session: session, Flags: api.LockFlagValue}, wo); err != nil {
		c.log.Warn("could not release the leader lock", "session", session, "err", err)
	}
	if _, err := c.client.Session().Destroy(session, wo); err != nil {
		c.log.Warn("could not destroy the session; it ends with its TTL", "session", session, "err", err)
	}
}

// register registers the JobManager's service with its TTL check and
// starts passing the check, unless already done.
func (c *Consul) register(ctx context.Context, me Leader) error {
	c.mu.Lock()
	done := c.reg != nil
	c.mu.Unlock()
	if done {
		return nil
	}
	serviceID := c.cfg.ServiceID
	if serviceID == "" {
		serviceID = c.cfg.ServiceName + "-" + me.ID
	}
	checkID := "service:" + serviceID
	host, portStr, _ := net.SplitHostPort(me.REST)
	port, _ := strconv.Atoi(portStr)
	svc := &api.AgentServiceRegistration{
		ID:      serviceID,
		Name:    c.cfg.ServiceName,
		Address: host,
		Port:    port,
		Tags:    []string{"jobmanager", "cluster-" + c.cfg.Cluster},
		Meta:    map[string]string{"jobmanager_id": me.ID, "rest": me.REST, "rpc": me.RPC, "cluster": c.cfg.Cluster, "rest_url": me.RESTURL()},
		Check: &api.AgentServiceCheck{
			CheckID: checkID,
			Name:    "JobManager alive",
			Notes:   "passed by the JobManager every CheckTTL/2; its leader session is bound to this check",
			TTL:     c.cfg.CheckTTL.String(),
			Status:  api.HealthPassing,
			// Consul's minimum: a JobManager killed for good is removed
			// from the catalog a minute later.
			DeregisterCriticalServiceAfter: "1m",
		},
	}
	if err := c.registerService(ctx, svc, true); err != nil {
		return err
	}
	hctx, hcancel := context.WithCancel(c.ctx)
	reg := &registration{me: me, serviceID: serviceID, checkID: checkID, svc: svc, cancel: hcancel, done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		hcancel()
		return ErrClosed
	}
	c.reg = reg
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(reg.done)
		c.heartbeat(hctx, reg)
	}()
	c.mu.Unlock()
	c.log.Info("registered the JobManager service", "service", serviceID, "check", checkID, "checkTTL", c.cfg.CheckTTL)
	return nil
}

// registerService registers svc, retrying with backoff if retry.
func (c *Consul) registerService(ctx context.Context, svc *api.AgentServiceRegistration, retry bool) error {
	for attempt := 0; ; attempt++ {
		err := c.client.Agent().ServiceRegisterOpts(svc, api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx))
		if err == nil {
			return nil
		}
		if isPermission(err) {
			return fmt.Errorf("%w: service %q: the token lacks service:write (Consul: %v)", ErrPermission, svc.Name, err)
		}
		var se api.StatusError
		if errors.As(err, &se) && se.Code == http.StatusBadRequest {
			return fmt.Errorf("ha: registering service %q with Consul at %s: %w", svc.ID, c.cfg.Address, err)
		}
		if !retry || ctx.Err() != nil {
			return fmt.Errorf("ha: registering service %q with Consul at %s: %w", svc.ID, c.cfg.Address, err)
		}
		c.log.Warn("could not register the JobManager service; retrying", "service", svc.ID, "attempt", attempt+1, "err", err)
		if !sleep(ctx, jitter(campaignBackoff.delay(attempt))) {
			return ctx.Err()
		}
	}
}

// heartbeat passes the service's TTL check every CheckTTL/2 until ctx
// ends. If the agent no longer knows the check (it was restarted, or
// deregistered the service after a long pause), it registers the service
// again.
func (c *Consul) heartbeat(ctx context.Context, reg *registration) {
	interval := c.cfg.CheckTTL / 2
	failing := 0
	for sleep(ctx, interval) {
		if c.pauseHeartbeat.Load() {
			continue
		}
		uctx, cancel := context.WithTimeout(ctx, interval)
		err := c.client.Agent().UpdateTTLOpts(reg.checkID, "alive", api.HealthPassing, (&api.QueryOptions{}).WithContext(uctx))
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if failing > 0 {
				c.log.Info("passing the JobManager's health check again", "check", reg.checkID, "after failures", failing)
			}
			failing = 0
			continue
		}
		failing++
		if failing == 1 || failing%20 == 0 {
			c.log.Warn("could not pass the JobManager's health check", "check", reg.checkID, "failures", failing, "err", err)
		}
		if unknownCheck(err) {
			rctx, cancel := context.WithTimeout(ctx, interval)
			if err := c.registerService(rctx, reg.svc, false); err != nil {
				c.log.Warn("could not register the JobManager service again", "service", reg.serviceID, "err", err)
			} else {
				c.log.Warn("the agent had lost the JobManager service; registered it again", "service", reg.serviceID)
			}
			cancel()
		}
	}
}

// unknownCheck reports whether the agent answered that it has no such
// TTL check.
func unknownCheck(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "Unknown check") || strings.Contains(s, "does not have associated TTL")
}

// createSession creates the campaign's session, bound to the node's
// serfHealth check and to the service's TTL check, retrying while the
// agent has not synced the check yet or Consul is unreachable.
func (c *Consul) createSession(ctx context.Context, me Leader) (string, error) {
	c.mu.Lock()
	reg := c.reg
	c.mu.Unlock()
	if reg == nil {
		return "", errors.New("ha: campaign: the service registration ended")
	}
	se := &api.SessionEntry{
		Name:          fmt.Sprintf("sluice JobManager %s (cluster %s)", me.ID, c.cfg.Cluster),
		LockDelay:     c.cfg.LockDelay,
		Behavior:      api.SessionBehaviorRelease,
		TTL:           c.cfg.SessionTTL.String(),
		NodeChecks:    []string{"serfHealth"},
		ServiceChecks: []api.ServiceCheck{{ID: reg.checkID}},
	}
	for attempt := 0; ; attempt++ {
		id, _, err := c.client.Session().Create(se, (&api.WriteOptions{}).WithContext(ctx))
		if err == nil {
			return id, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if isPermission(err) {
			return "", fmt.Errorf("%w: sessions on this agent's node: the token lacks session:write (Consul: %v)", ErrPermission, err)
		}
		// "Missing check" until the agent has synced the service to the
		// catalog; "critical state" until the check passes again.
		lvl := c.log.Debug
		if attempt == 3 || attempt%20 == 3 {
			lvl = c.log.Warn
		}
		lvl("could not create the leader session; retrying", "attempt", attempt+1, "err", err)
		if !sleep(ctx, jitter(campaignBackoff.delay(attempt))) {
			return "", ctx.Err()
		}
	}
}

// acquire waits until the leader lock is free and takes it with session,
// writing value. It returns when the acquiring transaction was sent and
// the epoch: the lock key's modify index after the acquisition.
func (c *Consul) acquire(ctx context.Context, session string, value []byte) (time.Time, uint64, error) {
	key := c.keys.leader
	var idx uint64
	failures := 0
	var holder string // the session holding the lock, last seen
	retry := func(what string, err error) bool {
		failures++
		if failures == 1 || failures%10 == 0 {
			c.log.Warn("campaign: "+what+"; retrying", "failures", failures, "err", err)
		}
		idx = 0
		return sleep(ctx, jitter(campaignBackoff.delay(failures-1)))
	}
	for {
		pair, meta, err := c.client.KV().Get(key, (&api.QueryOptions{WaitIndex: idx, WaitTime: time.Minute}).WithContext(ctx))
		if ctx.Err() != nil {
			return time.Time{}, 0, ctx.Err()
		}
		if err != nil {
			if perr := permissionErr(err, key, "key:read"); perr != nil {
				return time.Time{}, 0, perr
			}
			if !retry("reading the leader key", err) {
				return time.Time{}, 0, ctx.Err()
			}
			continue
		}
		failures = 0
		if pair != nil && pair.Session != "" && pair.Session != session {
			if pair.Session != holder {
				holder = pair.Session
				if l, err := decodeLeader(pair.Value); err != nil {
					c.log.Warn("standing by: the leader lock is held by a session with a foreign value; not following it",
						"key", key, "session", pair.Session, "err", err)
				} else {
					c.log.Info("standing by", "leader", l.ID, "rest", l.REST, "epoch", pair.ModifyIndex)
				}
			}
			idx = nextWaitIndex(idx, meta.LastIndex)
			continue
		}
		sent := time.Now()
		ok, resp, _, err := c.client.Txn().Txn(api.TxnOps{{KV: &api.KVTxnOp{
			Verb: api.KVLock, Key: key, Value: value, Flags: api.LockFlagValue, Session: session,
		}}}, (&api.QueryOptions{}).WithContext(ctx))
		if ctx.Err() != nil {
			return time.Time{}, 0, ctx.Err()
		}
		if err != nil {
			if isPermissionText(err.Error()) {
				return time.Time{}, 0, fmt.Errorf("%w: key %q: the token lacks key:write (Consul: %v)", ErrPermission, key, err)
			}
			if !retry("taking the leader lock", err) {
				return time.Time{}, 0, ctx.Err()
			}
			continue
		}
		if ok {
			if len(resp.Results) == 1 && resp.Results[0].KV != nil && resp.Results[0].KV.ModifyIndex > 0 {
				return sent, resp.Results[0].KV.ModifyIndex, nil
			}
			return time.Time{}, 0, fmt.Errorf("ha: campaign: Consul at %s took the lock but returned no modify index", c.cfg.Address)
		}
		what := txnErrorText(resp)
		switch {
		case isPermissionText(what):
			return time.Time{}, 0, fmt.Errorf("%w: key %q: the token lacks key:write (Consul: %s)", ErrPermission, key, what)
		case strings.Contains(what, "lock delay"):
			// The last holder's session was invalidated a moment ago.
			idx = 0
			if !sleep(ctx, lockRetry(c.cfg.LockDelay)) {
				return time.Time{}, 0, ctx.Err()
			}
		case strings.Contains(what, "invalid session"):
			return time.Time{}, 0, errSessionGone
		case strings.Contains(what, "already held"):
			idx = 0 // someone was faster; wait on them
		default:
			if !retry("taking the leader lock", errors.New(what)) {
				return time.Time{}, 0, ctx.Err()
			}
		}
	}
}

func txnErrorText(resp *api.TxnResponse) string {
	if resp == nil || len(resp.Errors) == 0 {
		return "transaction failed without errors"
	}
	var b strings.Builder
	for i, e := range resp.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "op %d: %s", e.OpIndex, e.What)
	}
	return b.String()
}

// monitor follows the lock of a leadership until it is lost or resigned,
// then ends the leadership and, unless Resign does it, destroys the
// session. Two loops follow the lock: watchLock sees at once when the lock
// key changes (blocking queries), confirmLock gives up when Consul has not
// confirmed the lock for the grace period.
func (c *Consul) monitor(t *term) {
	defer close(t.done)
	reasons := make(chan string, 2)
	go func() { reasons <- c.watchLock(t) }()
	go func() { reasons <- c.confirmLock(t) }()
	why := <-reasons
	if t.end() {
		c.log.Error("leadership lost; leader activities must stop", "epoch", t.epoch, "reason", why)
	}
	<-reasons
	if t.resigned.Load() {
		return
	}
	// Make sure the session is gone, so that a standby can take over
	// even if the session's checks pass (Consul unreachable from here,
	// not from the agent). Keep trying until Consul answers or Close.
	defer t.stopCleanup()
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(t.cleanupCtx, 5*time.Second)
		_, err := c.client.Session().Destroy(t.session, (&api.WriteOptions{}).WithContext(ctx))
		cancel()
		if err == nil || t.cleanupCtx.Err() != nil {
			return
		}
		if attempt == 0 {
			c.log.Warn("could not destroy the lost leadership's session; retrying", "session", t.session, "err", err)
		}
		if !sleep(t.cleanupCtx, jitter(campaignBackoff.delay(attempt))) {
			return
		}
	}
}

// watchLock follows the lock key with consistent blocking queries and
// returns why the leadership was lost as soon as the key shows the lock
// no longer held by the term's session at its epoch (session invalidated,
// lock released or taken, key rewritten). Errors are retried; the grace
// period is confirmLock's business. It returns "" when the term ends
// otherwise.
func (c *Consul) watchLock(t *term) string {
	key := c.keys.leader
	idx := t.epoch
	failures := 0
	for {
		// A timeout beyond the wait (and Consul's jitter of up to 1/16)
		// so that a connection that died silently is replaced.
		qctx, cancel := context.WithTimeout(t.ctx, watchWait+watchWait/8+2*time.Second)
		pair, meta, err := c.client.KV().Get(key, (&api.QueryOptions{RequireConsistent: true, WaitIndex: idx, WaitTime: watchWait}).WithContext(qctx))
		cancel()
		if t.ctx.Err() != nil {
			return ""
		}
		if err != nil {
			failures++
			idx = 0
			if !sleep(t.ctx, jitter(campaignBackoff.delay(failures-1))) {
				return ""
			}
			continue
		}
		failures = 0
		if held, why := lockHeld(pair, t.session, t.epoch); !held {
			return why
		}
		idx = nextWaitIndex(idx, meta.LastIndex)
	}
}

// confirmLock reads the lock key (consistent, not blocking) every
// confirmInterval(Grace) and returns why the leadership was lost: when a
// read shows the lock no longer held, or when no read has confirmed it
// for the grace period, counted from when the last confirming read was
// sent. It returns "" when the term ends otherwise.
func (c *Consul) confirmLock(t *term) string {
	key := c.keys.leader
	grace := c.cfg.Grace
	interval := confirmInterval(grace)
	lastOK := t.acquired
	var lastErr error
	for {
		deadline := graceDeadline(lastOK, grace)
		if !time.Now().Before(deadline) {
			return fmt.Sprintf("Consul at %s did not confirm the lock for %v (the grace period): %v", c.cfg.Address, time.Since(lastOK).Round(time.Millisecond), lastErr)
		}
		// One read in flight at a time; it may take until the deadline
		// (an agent that hangs answers when it continues).
		qctx, cancel := context.WithDeadline(t.ctx, deadline)
		sent := time.Now()
		pair, _, err := c.client.KV().Get(key, (&api.QueryOptions{RequireConsistent: true}).WithContext(qctx))
		cancel()
		if t.ctx.Err() != nil {
			return ""
		}
		if err != nil {
			if lastErr == nil {
				c.log.Warn("Consul does not answer; keeping leadership for the grace period", "grace", grace, "err", err)
			}
			lastErr = err
		} else {
			if held, why := lockHeld(pair, t.session, t.epoch); !held {
				return why
			}
			if lastErr != nil {
				c.log.Info("Consul answers again; still leading", "epoch", t.epoch, "unconfirmed for", sent.Sub(lastOK).Round(time.Millisecond))
				lastErr = nil
			}
			lastOK = sent
			c.monitorOK.Store(sent.UnixNano())
		}
		next := sent.Add(interval)
		if d := graceDeadline(lastOK, grace); d.Before(next) {
			next = d
		}
		if !sleep(t.ctx, time.Until(next)) {
			return ""
		}
	}
}

// renew renews the term's session every SessionTTL/2. A session Consul no
// longer knows ends the leadership; other errors are left to the monitor's
// grace period.
func (c *Consul) renew(t *term) {
	interval := c.cfg.SessionTTL / 2
	for sleep(t.ctx, interval) {
		ctx, cancel := context.WithTimeout(t.ctx, interval)
		entry, _, err := c.client.Session().Renew(t.session, (&api.WriteOptions{}).WithContext(ctx))
		cancel()
		if t.ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Debug("could not renew the leader session", "session", t.session, "err", err)
			continue
		}
		if entry == nil {
			if t.end() {
				c.log.Error("leadership lost; leader activities must stop", "epoch", t.epoch, "reason", "Consul no longer knows the session")
			}
			return
		}
	}
}

// Resign gives up leadership if held (fencing writes and closing lost
// first, then releasing the lock without lock delay so that a standby
// takes over at once, then destroying the session), stops a Campaign in
// progress, stops passing the health check and deregisters the service.
// It is idempotent.
func (c *Consul) Resign(ctx context.Context) error {
	return c.resign(ctx, errResigned)
}

func (c *Consul) resign(ctx context.Context, cause error) error {
	c.mu.Lock()
	cp := c.campaign
	c.mu.Unlock()
	if cp != nil {
		cp.cancel(cause)
		select {
		case <-cp.done:
		case <-ctx.Done():
			return fmt.Errorf("ha: resign: waiting for the campaign to stop: %w", ctx.Err())
		}
	}
	c.mu.Lock()
	t, reg := c.term, c.reg
	c.term, c.reg = nil, nil
	c.mu.Unlock()
	var errs []error
	if t != nil {
		t.resigned.Store(true)
		if t.end() {
			c.log.Info("resigning leadership", "epoch", t.epoch)
		}
		t.stopCleanup()
		select {
		case <-t.done:
		case <-ctx.Done():
		}
		// An explicit release imposes no lock delay: a standby takes
		// the lock as soon as it sees it free.
		wo := (&api.WriteOptions{}).WithContext(ctx)
		if _, _, err := c.client.KV().Release(&api.KVPair{Key: c.keys.leader, Value: t.value, Session: t.session, Flags: api.LockFlagValue}, wo); err != nil {
			errs = append(errs, fmt.Errorf("releasing the leader lock: %w", err))
		}
		if _, err := c.client.Session().Destroy(t.session, wo); err != nil {
			errs = append(errs, fmt.Errorf("destroying session %s: %w", t.session, err))
		}
	}
	if reg != nil {
		reg.cancel()
		select {
		case <-reg.done:
		case <-ctx.Done():
		}
		if err := c.client.Agent().ServiceDeregisterOpts(reg.serviceID, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("deregistering service %s: %w", reg.serviceID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ha: resign (Consul at %s): %w", c.cfg.Address, errors.Join(errs...))
	}
	return nil
}
