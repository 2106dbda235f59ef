package ha

import (
	"context"
	"fmt"

	"github.com/hashicorp/consul/api"
)

// NewConsulDiscovery returns a Consul for finding the leader only, as
// TaskManagers and jmctl use it: it waits for the agent to be reachable
// (up to cfg.StartTimeout) but, unlike NewConsul, asks only for the right
// to read the lock key. It must not campaign.
func NewConsulDiscovery(cfg ConsulConfig) (*Consul, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ac := api.DefaultConfig()
	ac.Address = cfg.Address
	if cfg.Token != "" {
		ac.Token = cfg.Token
	}
	tr := ac.Transport
	client, err := api.NewClient(ac)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("ha: Consul client for %s: %w", cfg.Address, err)
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
	return c, nil
}
