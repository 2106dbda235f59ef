// Package taskmanager is the worker of a Sluice cluster: it offers task
// slots, runs the subtasks the JobManager deploys into them (one goroutine
// each, driven by package task), wires their channels through the exchange,
// and reports every subtask's state changes.
package taskmanager
