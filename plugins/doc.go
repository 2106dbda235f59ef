// Package plugins is the go-plugin contract between Sluice and its state
// backends: the handshake and version negotiation, the gRPC service that
// stores, lists and deletes snapshot bytes (streamed, chunked, checksummed),
// the host-side loader, and the small SDK a third party uses to write a
// backend as its own binary: implement Backend, call Serve from main.
//
// # Writing a backend
//
// A backend is a program whose main serves a Backend:
//
//	package main
//
//	import (
//		"context"
//		"io"
//
//		"github.com/sluicehq/sluice/plugins"
//	)
//
//	type store struct{ /* a client of your storage */ }
//
//	func (s *store) Configure(ctx context.Context, settings map[string]string) error { ... }
//	func (s *store) Put(ctx context.Context, name string, r io.Reader) (plugins.Object, error) { ... }
//	func (s *store) Get(ctx context.Context, name string) (io.ReadCloser, error) { ... }
//	func (s *store) List(ctx context.Context, prefix string) ([]plugins.Object, error) { ... }
//	func (s *store) Delete(ctx context.Context, name string) error { ... }
//
//	func main() { plugins.Serve(&store{}) }
//
// What the methods must do:
//
//   - Configure refuses unknown or missing settings with an error wrapping
//     ErrSettings that names the key. It runs after every start of the
//     process, and again when the host re-configures.
//   - Put checks the name with ValidName, refuses an existing name with
//     ErrExists, and stores nothing unless it read r to io.EOF: the SDK
//     verifies the host's sha256 at the end of r and makes the last Read
//     fail on a mismatch, which must abort the write.
//   - Get returns ErrNotFound for a missing object, and a reader that
//     verifies the stored checksum at the end: wrap it with Verified.
//   - List returns the matching objects sorted by name; Delete of a
//     missing object succeeds.
//   - Errors wrap the sentinels (ErrNotFound, ErrExists, ErrChecksum,
//     ErrInvalidName, ErrSettings); they reach the host with their
//     identity, so errors.Is works there.
//   - Log with log/slog; Serve routes slog's default logger to the host.
//     Never write to stdout.
//
// Test it with backendtest.Run, both on the store directly and on the
// built binary through Open. Build the binary as sluice-backend-NAME and
// install it next to the Sluice binaries (see Find).
//
// # Protocol
//
// backend.proto in package proto defines the service. A Put streams the
// name, then chunks of at most MaxChunk bytes, then the sha256 the host
// computed; the plugin compares it with what it received before the
// backend commits. A Get streams chunks, then a trailer with the size and
// sha256 of what the plugin sent, which the host compares with what it
// received. Corruption at rest is caught by the backend's verifying
// reader, corruption in transit by the trailer: either way the reader
// returns an error wrapping ErrChecksum from its last Read.
//
// Host and plugin check the Handshake cookie, then negotiate the protocol
// version: the host offers the versions it speaks (ProtocolVersion), the
// plugin picks one, and a plugin that speaks none of them fails Open with
// an error naming its binary. Connections use go-plugin's AutoMTLS.
//
// # Hosting backends
//
// Open starts a backend binary and returns a Client, which is a Backend.
// When the plugin process dies, the call that finds out fails with an
// error wrapping ErrBackendCrashed and naming the backend, and the Client
// starts and configures a new process for the next call. A backend that
// keeps objects in its process — the memory backend — loses them in a
// crash; durable backends (files, S3) do not. A plugin whose host dies
// without closing it exits by itself.
//
// go-plugin's log, and what plugins log, goes to Config.Logger (log/slog),
// never raw to stderr.
package plugins
