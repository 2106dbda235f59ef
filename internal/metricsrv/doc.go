// Package metricsrv serves a Sluice process's Prometheus metrics: a private
// registry (never the global default) holding the Go runtime and process
// collectors next to the process's own, the /metrics handler for it, and a
// small HTTP listener that serves only that handler, for processes that
// have no HTTP server of their own (TaskManagers).
package metricsrv
