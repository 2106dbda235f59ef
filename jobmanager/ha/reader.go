package ha

// NewConsulDiscovery returns a Consul for finding the leader only, as
// TaskManagers and jmctl use it: it waits for the agent to be reachable
// (up to cfg.StartTimeout) but, unlike NewConsul, asks only for the right
// to read the lock key. It must not campaign.
func NewConsulDiscovery(cfg ConsulConfig) (*Consul, error) {
	return newConsul(cfg, false)
}
