package ha

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_HA_TEST_HELPER") == "1" {
		os.Exit(helperJobManager())
	}
	goleak.VerifyTestMain(m)
}

// helperJobManager is a JobManager in a process of its own (the test
// binary run again), which tests kill or stop: it campaigns, prints
// "leading <epoch>" once it leads and "lost" when it loses leadership,
// then waits to be killed.
func helperJobManager() int {
	c, err := NewConsul(ConsulConfig{
		Address:      os.Getenv("SLUICE_HA_CONSUL"),
		Cluster:      os.Getenv("SLUICE_HA_CLUSTER"),
		StartTimeout: 10 * time.Second,
	})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	id := os.Getenv("SLUICE_HA_ID")
	epoch, lost, err := c.Campaign(context.Background(), Leader{ID: id, REST: "127.0.0.1:1", RPC: "127.0.0.1:2"})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("leading", epoch)
	<-lost
	fmt.Println("lost")
	select {}
}
