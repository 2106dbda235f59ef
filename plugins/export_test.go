package plugins

import pb "github.com/sluicehq/sluice/plugins/proto"

// Hooks for the tests of package plugins_test.

// ProcessID returns the pid of c's current plugin process, 0 if none.
func ProcessID(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return 0
	}
	return c.cur.pid()
}

// RawClient returns the gRPC client of c's current plugin process, to
// speak the protocol wrongly on purpose.
func RawClient(c *Client) pb.BackendClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur.remote.rpc
}
