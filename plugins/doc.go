// Package plugins is the go-plugin contract between Sluice and its state
// backends: the handshake and version negotiation, the gRPC service that
// stores, lists and deletes snapshot bytes (streamed, chunked, checksummed),
// the host-side loader, and the small SDK a third party uses to write a
// backend as its own binary: implement Backend, call Serve from main.
package plugins
