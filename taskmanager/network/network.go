package network

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by a blocking call whose task was cancelled, by
// Acquire on a closed inbox, and by a RemoteChannel that was aborted or closed
// or whose DataPlane was closed.
var ErrClosed = errors.New("network: channel closed")

// Event is a control event carried in-band with the records.
type Event uint8

const (
	// EventNone marks a buffer of records.
	EventNone Event = iota
	// EventEndOfStream tells the consumer that the channel carries no more records.
	EventEndOfStream
	// EventBarrier is a checkpoint barrier: every record before it on the
	// channel belongs to checkpoint Buffer.Checkpoint, every record after
	// it to the next.
	EventBarrier
	// EventWatermark is a watermark: the producer will send no more
	// records with a timestamp at or below Buffer.Watermark (milliseconds
	// since the epoch), bar late ones. A producer sends it on every
	// channel of every output, whatever the partitioning.
	EventWatermark
	// EventIdle and EventActive are watermark statuses: an idle channel
	// sends neither records nor watermarks for a while, so its consumer
	// leaves it out of its input watermark until it is active again.
	EventIdle
	EventActive
)

// Buffer is the unit pushed through a channel.
type Buffer struct {
	// Channel is the index of the channel in the consumer's inbox.
	Channel int
	// Event is EventNone for records, or the event the buffer carries.
	Event Event
	// Checkpoint is the id of a barrier's checkpoint.
	Checkpoint int64
	// Watermark is the timestamp of a watermark.
	Watermark int64
	// Batch is the credit this buffer holds: for record buffers, a batch of
	// typed records made by the producer's code (for example a *[]T); for
	// events, whatever batch the producer had to take. The consumer gives
	// it back with Inbox.Recycle.
	Batch any
}

// Inbox is the merged input queue of one consumer subtask.
type Inbox struct {
	queue    chan Buffer
	channels []*Channel
	done     chan struct{} // closed by Close
	close    sync.Once
}

// NewInbox returns an inbox for a consumer with n input channels of `credits`
// credits each.
func NewInbox(n, credits int) *Inbox {
	if credits < 1 {
		credits = 1
	}
	in := &Inbox{queue: make(chan Buffer, n*credits), channels: make([]*Channel, n), done: make(chan struct{})}
	for i := range in.channels {
		in.channels[i] = &Channel{index: i, inbox: in, credits: credits, free: make(chan any, credits)}
	}
	return in
}

// Channels returns the number of input channels.
func (in *Inbox) Channels() int { return len(in.channels) }

// Channel returns the producer end of input channel i.
func (in *Inbox) Channel(i int) *Channel { return in.channels[i] }

// Queue returns the queue the consumer receives from.
func (in *Inbox) Queue() <-chan Buffer { return in.queue }

// Close marks the inbox as abandoned: producers blocked in Acquire, and those
// that call it later, get ErrClosed, and readers of remote streams feeding
// the inbox stop. Buffers already queued stay in the queue. Close is
// idempotent and safe to call from any goroutine.
func (in *Inbox) Close() { in.close.Do(func() { close(in.done) }) }

// Done returns a channel that is closed when the inbox is closed.
func (in *Inbox) Done() <-chan struct{} { return in.done }

// Recycle returns a processed buffer's batch to its channel, giving the
// producer its credit back.
func (in *Inbox) Recycle(b Buffer) {
	if b.Batch == nil {
		return
	}
	select {
	case in.channels[b.Channel].free <- b.Batch:
	default:
		// Cannot happen while producers respect their credits; dropping
		// the batch only costs an allocation later.
	}
}

// Buffers returns the number of buffers of the inbox: its channels'
// credits.
func (in *Inbox) Buffers() int {
	if len(in.channels) == 0 {
		return 0
	}
	return len(in.channels) * in.channels[0].credits
}

// BuffersInUse returns how many of the inbox's buffers are out of its
// channels' free lists: being filled by a producer, queued, or being
// processed. It is a snapshot for metrics, safe from any goroutine.
func (in *Inbox) BuffersInUse() int {
	n := 0
	for _, c := range in.channels {
		n += max(int(c.issued.Load())-len(c.free), 0)
	}
	return n
}

// Channel is the producer end of one input channel of an inbox. It is used
// by one producer goroutine.
type Channel struct {
	index   int
	inbox   *Inbox
	credits int
	// issued counts the batches handed out so far; only the producer
	// goroutine writes it (metrics read it).
	issued atomic.Int32
	free   chan any
	// blocked, if set, adds up the time Acquire waits for a credit (the
	// producer's backpressure).
	blocked *WaitTime
}

// CountBlocked makes Acquire add the time it waits for a credit to w. The
// producer calls it before its first Acquire.
func (c *Channel) CountBlocked(w *WaitTime) { c.blocked = w }

// Acquire returns a batch to fill: a recycled one, or nil when the producer
// may allocate a new one. It blocks while all of the channel's credits are in
// flight, until a batch comes back or done is closed (ErrClosed). It returns
// ErrClosed as well once the channel's inbox is closed.
func (c *Channel) Acquire(done <-chan struct{}) (any, error) {
	select {
	case <-c.inbox.done:
		return nil, ErrClosed
	default:
	}
	select {
	case b := <-c.free:
		return b, nil
	default:
	}
	if n := c.issued.Load(); n < int32(c.credits) {
		c.issued.Store(n + 1)
		return nil, nil
	}
	if c.blocked != nil {
		// Only a wait is timed: no clock read while credits are free.
		c.blocked.begin()
		defer c.blocked.end()
	}
	select {
	case b := <-c.free:
		return b, nil
	case <-done:
		return nil, ErrClosed
	case <-c.inbox.done:
		return nil, ErrClosed
	}
}

// Send pushes a buffer holding a batch got from Acquire. It never blocks.
func (c *Channel) Send(ev Event, batch any) {
	c.inbox.queue <- Buffer{Channel: c.index, Event: ev, Batch: batch}
}

// SendBarrier pushes the barrier of checkpoint id, holding a batch got
// from Acquire. It never blocks.
func (c *Channel) SendBarrier(id int64, batch any) {
	c.inbox.queue <- Buffer{Channel: c.index, Event: EventBarrier, Checkpoint: id, Batch: batch}
}

// SendWatermark pushes watermark wm, holding a batch got from Acquire. It
// never blocks.
func (c *Channel) SendWatermark(wm int64, batch any) {
	c.inbox.queue <- Buffer{Channel: c.index, Event: EventWatermark, Watermark: wm, Batch: batch}
}

// Exchange is the registry through which the producers and consumers of the
// jobs of one process find each other's inboxes. Either side may come first.
type Exchange struct {
	mu      sync.Mutex
	inboxes map[InboxID]*Inbox
	// released remembers the job attempts already released, so that a
	// stream arriving late cannot create an inbox nobody would release.
	released map[attemptKey]bool
}

type attemptKey struct {
	job     string
	attempt int
}

// ErrReleased is returned for an inbox of a job attempt already released.
var ErrReleased = errors.New("network: job attempt already released")

// InboxID names the inbox of one consumer subtask of one job attempt.
type InboxID struct {
	Job     string `json:"job"`
	Attempt int    `json:"attempt"`
	Task    string `json:"task"`
	Subtask int    `json:"subtask"`
}

func (id InboxID) String() string {
	return fmt.Sprintf("%s/%d/%s/%d", id.Job, id.Attempt, id.Task, id.Subtask)
}

// LogAttrs are the attributes that name the inbox's subtask on the lines
// logged on its behalf, with the keys of task.Deployment.Logger: job,
// task (the task's id), subtask and attempt.
func (id InboxID) LogAttrs() []any {
	return []any{slog.String("job", id.Job), slog.String("task", id.Task), slog.Int("subtask", id.Subtask), slog.Int("attempt", id.Attempt)}
}

// NewExchange returns an empty registry.
func NewExchange() *Exchange {
	return &Exchange{inboxes: make(map[InboxID]*Inbox), released: make(map[attemptKey]bool)}
}

// Inbox returns the inbox of id, creating it with n channels of the given
// credits if it does not exist yet. Both sides must agree on n.
func (x *Exchange) Inbox(id InboxID, n, credits int) (*Inbox, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if in, ok := x.inboxes[id]; ok {
		if in.Channels() != n {
			return nil, fmt.Errorf("network: inbox %s has %d channels, asked for %d", id, in.Channels(), n)
		}
		return in, nil
	}
	if x.released[attemptKey{id.Job, id.Attempt}] {
		return nil, fmt.Errorf("%w: inbox %s", ErrReleased, id)
	}
	in := NewInbox(n, credits)
	x.inboxes[id] = in
	return in, nil
}

// Release drops every inbox of a job attempt and closes them, which stops
// their producers and the readers of remote streams feeding them.
func (x *Exchange) Release(job string, attempt int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.released[attemptKey{job, attempt}] = true
	for id, in := range x.inboxes {
		if id.Job == job && id.Attempt == attempt {
			delete(x.inboxes, id)
			in.Close()
		}
	}
}

// Len returns the number of registered inboxes (for tests and metrics).
func (x *Exchange) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.inboxes)
}
