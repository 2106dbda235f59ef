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
// (end of stream; later barriers and watermarks) ride in-band and take a
// credit like data does, so they keep their order relative to records.
//
// This package holds the in-process channels used inside a TaskManager and by
// the embedded mini-cluster.
package network
