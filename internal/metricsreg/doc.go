// Package metricsreg registers a process's Prometheus endpoint as a Consul
// service, so that Prometheus finds every JobManager and TaskManager with
// consul_sd_configs: service sluice-jobmanager-metrics or
// sluice-taskmanager-metrics, tags "sluice", "prometheus" and
// "cluster-<name>", the endpoint's address and port, metadata naming the
// process (and, where known, its job), and an HTTP check on the endpoint.
// The registration is made in the background, retried until it succeeds,
// and removed when the process shuts down; a process that dies without
// deregistering fails its check and Consul removes it a minute later.
package metricsreg
