// Package metrics exposes a JobManager's state to Prometheus: jobs by
// state, restarts and checkpoints per job, and the TaskManagers and slots
// of the cluster. Its Collector reads the JobManager core at scrape time;
// only checkpoint outcomes, which the core does not count, are recorded as
// they happen (CheckpointEnded). Series of a job disappear once it ends.
package metrics
