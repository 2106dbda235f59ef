// Package testproc runs the service agents of tests (the Consul and Nomad
// agents of consultest and nomadtest) as real child processes: each in a
// process group of its own, its output in a log file, killed with its
// group when the test ends and, on Linux, by the kernel if the test
// process dies first. It also holds the small helpers those packages share:
// free loopback ports, a log tail for failure messages, a UUID.
package testproc
