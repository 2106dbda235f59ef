// Package backendtest is the conformance suite every state backend
// passes: Run(t, newBackend) checks the plugins.Backend contract (round
// trips of all sizes, write-once, not found, listing by prefix, delete,
// name validation, concurrency, cancellation, failed writes storing
// nothing). Run it against a store directly and against its plugin binary
// through plugins.Open.
//
// The suite writes only names under a random "backendtest-" prefix and
// never lists outside it, so a backend whose subtests share storage (one
// S3 bucket) passes too.
package backendtest
