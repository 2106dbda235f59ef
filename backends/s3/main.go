package main

import (
	"github.com/sluicehq/sluice/backends/s3/s3store"
	"github.com/sluicehq/sluice/plugins"
)

func main() {
	plugins.Serve(s3store.New())
}
