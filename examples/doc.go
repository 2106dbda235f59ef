// Package examples holds the code of Sluice's example jobs, so that their
// runnable mains (examples/wordcount, ...) and cmd/taskmanager, a binary
// with every example built in, share it.
package examples
