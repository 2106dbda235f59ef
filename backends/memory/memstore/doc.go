// Package memstore is the store of the memory state backend: snapshot
// objects in a map in the process's memory, write-once, each kept with its
// sha256 and verified when read. It implements plugins.Backend; the
// memory backend binary (package main one directory up) serves it as a
// plugin.
//
// Objects live as long as the process that holds them: when the backend
// process exits or crashes, every snapshot it stored is gone. It is meant
// for tests and local runs, not for state that must survive a failure.
package memstore
