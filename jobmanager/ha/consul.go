package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluicehq/sluice/internal/consulclient"
)

// ConsulConfig configures Consul.
type ConsulConfig struct {
	Address     string // host:port or http(s)://host:port of the agent (required)
	Token       string // ACL token (optional)
	Cluster     string // default "default"
	Prefix      string // KV prefix, default "sluice"; keys under Prefix/Cluster/
	ServiceID   string // default "<ServiceName>-<ID>"; set by Campaign from me.ID when empty
	ServiceName string // default "sluice-jobmanager"
	// LockDelay is the session's lock delay: after a session is
	// invalidated, no one may take its locks for this long (default 1 s;
	// Consul's default is 15 s).
	LockDelay time.Duration
	// SessionTTL is the session's TTL, renewed every SessionTTL/2 (default
	// 10 s, Consul's minimum). The health checks bound to the session end
	// it much sooner when the JobManager dies.
	SessionTTL time.Duration
	// CheckTTL is the TTL of the JobManager service's health check (default
	// 2 s); the Consul object passes the check every CheckTTL/2 while it
	// runs, and a JobManager that stops doing so loses its session after
	// CheckTTL.
	CheckTTL time.Duration
	// Grace is how long Consul may be unreachable before leadership is
	// given up (default 5 s), counted from the last read that confirmed
	// the lock (the leader confirms it every Grace/5). It covers Consul's
	// servers being unavailable; a JobManager cut off from its own agent
	// also stops passing its health check, and its session ends after
	// CheckTTL whatever Grace is, so Grace protects against such blips
	// only when CheckTTL is longer than the blip.
	Grace time.Duration
	// StartTimeout bounds NewConsul's wait for the agent to be reachable
	// and have a cluster leader (default 30 s).
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Defaults of ConsulConfig.
const (
	DefaultCluster      = "default"
	DefaultPrefix       = "sluice"
	DefaultServiceName  = "sluice-jobmanager"
	DefaultLockDelay    = time.Second
	DefaultSessionTTL   = 10 * time.Second
	DefaultCheckTTL     = 2 * time.Second
	DefaultGrace        = 5 * time.Second
	DefaultStartTimeout = 30 * time.Second
)

func (c ConsulConfig) withDefaults() ConsulConfig {
	if c.Cluster == "" {
		c.Cluster = DefaultCluster
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.ServiceName == "" {
		c.ServiceName = DefaultServiceName
	}
	if c.LockDelay == 0 {
		c.LockDelay = DefaultLockDelay
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.CheckTTL == 0 {
		c.CheckTTL = DefaultCheckTTL
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate checks a configuration after defaults.
func (c ConsulConfig) validate() error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("the Consul address is required (host:port or http(s)://host:port)"))
	} else {
		hostport := c.Address
		if scheme, rest, ok := strings.Cut(c.Address, "://"); ok {
			if scheme != "http" && scheme != "https" {
				errs = append(errs, fmt.Errorf("Consul address %q: scheme %q; use http or https", c.Address, scheme))
			}
			hostport = strings.TrimSuffix(rest, "/")
		}
		if host, port, err := net.SplitHostPort(hostport); err != nil {
			errs = append(errs, fmt.Errorf("Consul address %q: %v", c.Address, err))
		} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || host == "" {
			errs = append(errs, fmt.Errorf("Consul address %q: want host:port", c.Address))
		}
	}
	if err := validSegment("cluster", c.Cluster); err != nil {
		errs = append(errs, err)
	}
	if err := validPrefix(c.Prefix); err != nil {
		errs = append(errs, err)
	}
	if err := validSegment("service name", c.ServiceName); err != nil {
		errs = append(errs, err)
	}
	if c.ServiceID != "" {
		if err := validSegment("service id", c.ServiceID); err != nil {
			errs = append(errs, err)
		}
	}
	if c.LockDelay < time.Millisecond || c.LockDelay > time.Minute {
		errs = append(errs, fmt.Errorf("lock delay %v: Consul takes 1ms to 60s", c.LockDelay))
	}
	if c.SessionTTL < 10*time.Second || c.SessionTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("session TTL %v: Consul takes 10s to 24h", c.SessionTTL))
	}
	if c.CheckTTL < 200*time.Millisecond {
		errs = append(errs, fmt.Errorf("check TTL %v is shorter than 200ms", c.CheckTTL))
	}
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("grace %v is negative", c.Grace))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("start timeout %v is negative", c.StartTimeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("ha: consul config: %w", errors.Join(errs...))
	}
	return nil
}

// Consul implements Elector, Discovery and Store on a Consul agent.
//
// One Consul serves one JobManager: it campaigns for it, registers it as a
// service and keeps its health check passing. Its Discovery and Store reads
// work without campaigning (TaskManagers and jmctl use a Consul only to
// find the leader).
type Consul struct {
	cfg    ConsulConfig
	log    *slog.Logger
	client *api.Client
	tr     *http.Transport
	keys   keys

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines started under mu while not closed

	mu       sync.Mutex
	closed   bool
	campaign *campaign     // the Campaign in progress
	reg      *registration // the service registration and its heartbeat
	term     *term         // the current (or last, fenced) leadership

	// Test hooks.
	pauseHeartbeat atomic.Bool  // stops passing the TTL check, as if the JobManager hung
	monitorOK      atomic.Int64 // unix nanos when the leader last confirmed its lock
}

// NewConsul validates cfg, waits for the agent to be reachable and to know
// a cluster leader (retrying with backoff for up to cfg.StartTimeout), and
// checks that the token may read and write the keys under the prefix,
// create sessions and register the service. A token that may not fails
// with an error wrapping ErrPermission that names the key (or resource)
// and the missing right.
func NewConsul(cfg ConsulConfig) (*Consul, error) {
	return newConsul(cfg, true)
}

// newConsul validates cfg, connects and waits for the agent to be
// reachable; with checkRights it also checks the token's rights.
func newConsul(cfg ConsulConfig, checkRights bool) (*Consul, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	client, tr, err := consulclient.New(cfg.Address, cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consul{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "ha", "consul", cfg.Address, "cluster", cfg.Cluster),
		client: client,
		tr:     tr,
		keys:   newKeys(cfg.Prefix, cfg.Cluster),
		ctx:    ctx,
		cancel: cancel,
	}
	sctx, scancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer scancel()
	if err := c.waitReachable(sctx); err != nil {
		c.shutdown()
		return nil, err
	}
	if checkRights {
		if err := c.checkRights(sctx); err != nil {
			c.shutdown()
			return nil, err
		}
	}
	return c, nil
}

// waitReachable retries until the agent answers with a cluster leader.
func (c *Consul) waitReachable(ctx context.Context) error {
	start := time.Now()
	b := backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	var lastErr error
	for attempt := 0; ; attempt++ {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		leader, err := c.client.Status().LeaderWithQueryOptions((&api.QueryOptions{}).WithContext(qctx))
		cancel()
		switch {
		case err == nil && leader != "":
			if attempt > 0 {
				c.log.Info("Consul agent reachable", "after", time.Since(start).Round(time.Millisecond))
			}
			return nil
		case err == nil:
			err = errors.New("the agent knows no cluster leader yet")
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		c.log.Warn("Consul agent not reachable yet; retrying", "attempt", attempt+1, "err", err)
		if !sleep(ctx, jitter(b.delay(attempt))) {
			break
		}
	}
	return fmt.Errorf("ha: Consul agent at %s not reachable after %v: %v", c.cfg.Address, time.Since(start).Round(time.Millisecond), lastErr)
}

// Rights the JobManager needs, checked by checkRights.
type right struct {
	resource string // what the right is on, for messages
	name     string // Consul's name of the right, e.g. key:write
}

// checkRights checks the token's rights without changing anything. One
// transaction checks the keys and the service: its first operation always
// fails (a check-index of 0), so it is never applied, but Consul checks
// the ACLs of every operation before it applies any and reports each
// denial. Sessions are checked by creating one and destroying it.
func (c *Consul) checkRights(ctx context.Context) error {
	probeJob := c.keys.job(".acl-probe")
	probePtr := c.keys.pointer(".acl-probe")
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: c.keys.leader, Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: c.keys.leader}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: probeJob, Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: probeJob}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: probePtr, Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: probePtr}},
		{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "sluice-acl-probe",
			Service: api.AgentService{ID: c.cfg.ServiceName + "-acl-probe", Service: c.cfg.ServiceName}}},
	}
	rights := []right{
		{fmt.Sprintf("key %q", c.keys.leader), "key:read"},
		{fmt.Sprintf("key %q", c.keys.leader), "key:write"},
		{fmt.Sprintf("key %q", c.keys.jobs), "key:read"},
		{fmt.Sprintf("key %q", c.keys.jobs), "key:write"},
		{fmt.Sprintf("key %q", c.keys.checkpoints), "key:read"},
		{fmt.Sprintf("key %q", c.keys.checkpoints), "key:write"},
		{fmt.Sprintf("service %q", c.cfg.ServiceName), "service:write"},
	}
	ok, resp, _, err := c.client.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		if strings.Contains(err.Error(), "ACL not found") {
			return fmt.Errorf("%w: Consul at %s does not know the token (%v)", ErrPermission, c.cfg.Address, err)
		}
		if isPermissionText(err.Error()) {
			return fmt.Errorf("%w: key %q: the token may not use the keys under %q (Consul at %s: %v)", ErrPermission, c.keys.leader, c.keys.root, c.cfg.Address, err)
		}
		return fmt.Errorf("ha: checking the token's rights at Consul %s: %w", c.cfg.Address, err)
	}
	if ok {
		return fmt.Errorf("ha: checking the token's rights at Consul %s: the probe transaction was applied", c.cfg.Address)
	}
	var denied []error
	for _, e := range resp.Errors {
		if !isPermissionText(e.What) {
			continue
		}
		if e.OpIndex < 0 || e.OpIndex >= len(rights) {
			denied = append(denied, fmt.Errorf("%s", e.What))
			continue
		}
		r := rights[e.OpIndex]
		denied = append(denied, fmt.Errorf("%s: the token lacks %s (Consul: %s)", r.resource, r.name, e.What))
	}
	if len(denied) > 0 {
		return fmt.Errorf("%w: %w", ErrPermission, errors.Join(denied...))
	}

	// Sessions: create one (without checks, so that nothing else is
	// needed) and destroy it.
	id, _, err := c.client.Session().CreateNoChecks(&api.SessionEntry{
		Name: "sluice ACL probe", TTL: "10s", Behavior: api.SessionBehaviorDelete,
	}, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		if isPermission(err) {
			return fmt.Errorf("%w: sessions on this agent's node: the token lacks session:write (Consul at %s: %v)", ErrPermission, c.cfg.Address, err)
		}
		return fmt.Errorf("ha: checking the token's rights at Consul %s: creating a session: %w", c.cfg.Address, err)
	}
	if _, err := c.client.Session().Destroy(id, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		c.log.Warn("could not destroy the ACL probe session (it expires by itself)", "session", id, "err", err)
	}
	return nil
}

// isPermissionText reports whether a Consul error message is an ACL denial.
func isPermissionText(s string) bool {
	return strings.Contains(s, "Permission denied") || strings.Contains(s, "ACL not found")
}

// isPermission reports whether err is Consul's answer 403.
func isPermission(err error) bool {
	if err == nil {
		return false
	}
	var se api.StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusForbidden || isPermissionText(se.Body)
	}
	return isPermissionText(err.Error())
}

// permissionErr wraps a 403 answer about a key with ErrPermission, naming
// the key and the right; it returns nil for other errors.
func permissionErr(err error, key, right string) error {
	if !isPermission(err) {
		return nil
	}
	return fmt.Errorf("%w: key %q: the token lacks %s (Consul: %v)", ErrPermission, key, right, err)
}

// Close resigns (if leading, within a few seconds), deregisters and stops
// every goroutine. A Campaign in progress returns ErrClosed.
func (c *Consul) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.resign(ctx, ErrClosed)
	c.shutdown()
	return err
}

func (c *Consul) shutdown() {
	c.cancel()
	c.wg.Wait()
	c.tr.CloseIdleConnections()
}
