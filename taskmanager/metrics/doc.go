// Package metrics exposes a TaskManager to Prometheus: per running subtask
// its records, bytes, backpressure time, watermark lag and keyed state per
// operator, and per TaskManager its slots and network buffers. The
// Collector reads the counters the task loop keeps anyway (task.Stats,
// updated once per buffer) at scrape time, so metrics add nothing to the
// per-record path. A subtask's series disappear when it ends; the attempt
// is not a label, so a restarted subtask continues the same series (its
// counters restart from zero, which rate() handles).
package metrics
