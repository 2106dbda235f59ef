package main

import (
	"flag"
	"os"
	"strings"

	"github.com/sluicehq/sluice/nomad"
)

// addNomadFlags registers the flags of the nomad provider.
func addNomadFlags(c *nomad.ProviderConfig) {
	flag.StringVar(&c.Address, "nomad-addr", os.Getenv("NOMAD_ADDR"), "Nomad HTTP API address (env NOMAD_ADDR; default http://127.0.0.1:4646)")
	flag.StringVar(&c.Token, "nomad-token", os.Getenv("NOMAD_TOKEN"), "Nomad ACL token with submit-job and read-job (env NOMAD_TOKEN)")
	flag.StringVar(&c.Region, "nomad-region", os.Getenv("NOMAD_REGION"), "Nomad region of the TaskManager jobs (env NOMAD_REGION)")
	flag.StringVar(&c.Namespace, "nomad-namespace", os.Getenv("NOMAD_NAMESPACE"), "Nomad namespace of the TaskManager jobs (env NOMAD_NAMESPACE)")
	flag.Func("nomad-datacenters", "comma-separated datacenters TaskManagers may run in (default all: *)", func(v string) error {
		c.Datacenters = nil
		for _, dc := range strings.Split(v, ",") {
			if dc = strings.TrimSpace(dc); dc != "" {
				c.Datacenters = append(c.Datacenters, dc)
			}
		}
		return nil
	})
	flag.StringVar(&c.NodePool, "nomad-node-pool", "", "Nomad node pool of the TaskManagers")
	flag.StringVar(&c.Driver, "nomad-driver", nomad.DriverRawExec, "task driver of the TaskManagers: raw_exec, exec or docker")
	flag.StringVar(&c.DockerImage, "nomad-docker-image", "", "image TaskManagers run in with the docker driver")
	flag.Func("nomad-constraint", "a constraint on TaskManager nodes, `\"ATTRIBUTE OPERATOR VALUE\"` (e.g. \"attr.kernel.name = linux\"; ${} may be left out), repeatable", func(v string) error {
		con, err := nomad.ParseConstraint(v)
		if err != nil {
			return err
		}
		c.Constraints = append(c.Constraints, con)
		return nil
	})
	flag.IntVar(&c.CPUPerSlot, "nomad-cpu-per-slot", nomad.DefaultCPUPerSlot, "CPU (MHz) Nomad reserves for each slot of a TaskManager")
	flag.IntVar(&c.MemoryOverheadMB, "nomad-memory-overhead", nomad.DefaultMemoryOverhead, "memory (MB) Nomad reserves for a TaskManager on top of its managed memory")
	flag.StringVar(&c.ArtifactBaseURL, "nomad-artifact-url", "", "base URL Nomad clients fetch job binaries from, <URL>/v1/artifacts/<sha256> (default: this JobManager's REST address; a stable name such as http://sluice-jobmanager.service.consul:8081 survives a failover)")
}
