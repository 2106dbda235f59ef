// Package jobmanager coordinates a Sluice cluster: it accepts jobs, places
// their subtasks into the slots of registered TaskManagers (package
// scheduler), deploys them, follows their states and decides each job's
// state.
//
// The decisions live in job, a state machine without I/O: it takes subtask
// updates and commands and returns what the JobManager must do (cancel the
// job's subtasks, release its resources). JobManager does that I/O through
// the TaskManagerGateway interface, which in-process TaskManagers implement
// directly.
package jobmanager
