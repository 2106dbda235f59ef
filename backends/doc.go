// Package backends holds Sluice's state-backend plugins, each its own main
// package in a subdirectory (memory, s3) and each a hashicorp/go-plugin
// process speaking the contract of package plugins.
//
// Keyed state lives in TaskManager memory (package taskmanager/state);
// backends store its snapshots for checkpoints and savepoints.
package backends
