// Command memory is Sluice's memory state backend, installed as
// sluice-backend-memory: a plugin process (see package plugins) that keeps
// snapshot objects in its own memory. They are gone when the process
// exits or crashes, so it suits tests and local runs only.
//
// It takes no settings. Run by hand it explains that Sluice starts it and
// exits with status 1.
package main

import (
	"github.com/sluicehq/sluice/backends/memory/memstore"
	"github.com/sluicehq/sluice/plugins"
)

func main() {
	plugins.Serve(memstore.New())
}
