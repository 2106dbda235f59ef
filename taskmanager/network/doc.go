// Package network moves record buffers between the subtasks of a job.
//
// Every consumer subtask has one Inbox, a single queue that all of its input
// channels (one per producer subtask and input edge) push Buffers into, so a
// task blocks on one channel receive however many inputs it has.
//
// Flow control is credit based. Each channel owns a fixed number of credits;
// a credit is a reusable record batch. A producer takes a batch from its
// channel's free list (or allocates one while it has credits left), fills it,
// and pushes it to the inbox; the consumer hands the batch back once it has
// processed it. A slow consumer therefore stops exactly the producers that
// feed it, memory per channel is bounded by credits × batch size, and the
// inbox, sized to the sum of all credits, never blocks a push. Events
// (end of stream, checkpoint barriers, watermarks and watermark statuses)
// ride in-band and take a credit like data does, so they keep their order
// relative to records.
//
// Inside a TaskManager (and in the embedded mini-cluster) channels are
// in-process and batches are typed records. An inbox is closed (Inbox.Close,
// or Exchange.Release for a job attempt) when its consumer is gone; that
// stops its producers with ErrClosed.
//
// # Across processes
//
// A DataPlane carries channels between TaskManager processes. Two
// TaskManagers share one TCP connection running a yamux session, and each
// remote channel is one yamux stream from the producer's TaskManager to the
// consumer's. The producer writes serialized records in frames with a
// RemoteChannel; on the consumer's side a reader goroutine per stream
// acquires a credit from the inbox channel, reads one frame into it (the
// batch is a *Frame, reused), and sends it to the inbox.
//
// Backpressure reaches across the connection without anything of its own:
// a consumer that stops recycling stops its streams' readers, their yamux
// receive windows fill, and the producers' Sends block. Only that channel's
// producer stops; other streams on the connection go on. A remote channel
// holds at most credits × frame size plus one stream window
// (DataPlaneConfig.StreamWindow) of memory.
//
// Frames are at most MaxFramePayload bytes, and yamux sends a stream's data
// in messages of at most its window, queuing one message per stream at a
// time, so streams sharing a connection take turns message by message: no
// stream's large writes can starve the others. Each frame is one Write to
// yamux, and the DataPlane writes each yamux data message with one syscall.
// A producer that serializes behind FrameHeaderLen bytes of room hands the
// frame over with SendFrame, which writes the header into that room rather
// than copying the payload. How large frames are is the producer's choice
// (package stream grows a busy channel's frames to 256 KiB, since large
// writes cost the kernel less per byte); the default StreamWindow holds
// several such frames, so that a busy producer seldom waits for a window
// update.
//
// # Connections
//
// Sessions live in a registry keyed by peer id. The first Open to a peer
// dials it; concurrent Opens share that dial. A dialer first sends a hello:
//
//	"SLDP" | version (1 byte, 1) | uvarint length | JSON {"id": "<dialer id>"}
//
// and the acceptor answers one byte: 1 (accepted) or 2 (duplicate). If two
// TaskManagers dial each other at once, the connection dialed by the lower
// id (in byte order) wins on both sides: the other is refused as a
// duplicate, and its dialer uses the winner once it is registered (waiting
// at most DialTimeout). The dialer then runs the yamux client, the acceptor
// the yamux server; either side may open streams. A session that dies is
// dropped from the registry, and the next Open dials again. Keepalives
// notice a dead peer within about 15 s even when the connection is idle.
//
// With DataPlaneConfig.TLS and ClientTLS, every connection runs mutual TLS
// under the hello: the dialer verifies the acceptor's certificate for the
// host it dialed, and the acceptor requires and verifies the dialer's.
// The acceptor runs the handshake in the connection's own goroutine,
// bounded by DialTimeout like the hello, so a peer that stalls it holds up
// no other; one that fails it is refused and logged.
//
// # Streams
//
// A stream starts with a stream header, written by the producer:
//
//	"SLCH" | version (1 byte, 1) | uvarint length (≤ 64 KiB) | JSON StreamHeader
//
// for example {"inbox":{"job":"j","attempt":0,"task":"sink","subtask":3},
// "channels":4,"channel":1,"credits":4}. A header must name a job and a
// task and stay within 1 ≤ channels ≤ 65536, 0 ≤ channel < channels,
// 1 ≤ credits ≤ 1024 and channels × credits ≤ 2^20; unknown fields are
// rejected. Frames follow:
//
//	kind (1 byte) | payload length (4 bytes, little-endian, ≤ MaxFramePayload) | payload
//
// The kinds are 0 records (serialized records), 1 end of stream, 2 barrier
// (the checkpoint id, 8 bytes little-endian), 3 watermark (milliseconds
// since the epoch, 8 bytes little-endian two's complement), 4 idle and 5
// active (watermark statuses, no payload). A frame of kinds 2 to 5 with
// another payload length is a protocol violation.
//
// After the end of stream the producer closes the stream (RemoteChannel.Close
// sends the end of stream if Send has not).
//
// The reader validates everything before it uses it. A stream with a bad
// header or frame, for an inbox it does not fit, or for a channel that
// already has a stream, is reset and logged with the peer and inbox id; the
// session and its other streams go on. hashicorp/yamux cannot send a stream
// reset, so a reset is a close from the resetting end: the reader closes
// the stream, which the producer's RemoteChannel notices (Send then returns
// ErrStreamReset), and RemoteChannel.Abort closes it from the producer's
// end, which the reader sees as the stream ending without end of stream.
// A reader stops quietly when its inbox is closed, or its stream or session
// ends: failures are the JobManager's to handle.
package network
