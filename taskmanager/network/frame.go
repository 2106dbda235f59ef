package network

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Frame is a batch of serialized records (or an event) received from a
// remote producer. It is the Batch of Buffers from remote channels; Data
// holds the payload and is reused across frames.
type Frame struct {
	Data []byte
}

// MaxFramePayload is the largest payload of one frame. Producers batch
// records into frames of at most this size; a reader rejects a longer frame.
const MaxFramePayload = 1 << 20

// Errors a caller may branch on.
var (
	// ErrProtocol wraps every violation of the wire format: a bad hello,
	// stream header or frame.
	ErrProtocol = errors.New("network: protocol violation")
	// ErrFrameTooLarge is returned by RemoteChannel.Send for a payload over
	// MaxFramePayload; a reader wraps it (with ErrProtocol) for such a frame.
	ErrFrameTooLarge = errors.New("network: frame payload too large")
	// ErrStreamReset is returned by RemoteChannel.Send once the consumer end
	// of the stream is gone: it rejected the stream, its inbox was closed, or
	// the connection to its TaskManager was lost.
	ErrStreamReset = errors.New("network: stream reset by peer")
)

// FrameHeaderLen is the size of a frame's header: the kind byte and the
// little-endian uint32 payload length. RemoteChannel.SendFrame takes frames
// that begin with this much room for it.
const FrameHeaderLen = 5

// Wire constants; see the package documentation for the format.
const (
	streamMagic     = "SLCH"
	helloMagic      = "SLDP"
	protocolVersion = 1

	maxStreamHeader = 64 << 10 // JSON of a StreamHeader
	maxHello        = 4 << 10  // JSON of a hello

	kindRecords      = 0
	kindEndOfStream  = 1
	kindBarrier      = 2 // payload: the checkpoint id, 8 bytes little-endian
	kindWatermark    = 3 // payload: the watermark, 8 bytes little-endian (two's complement)
	kindIdle         = 4 // no payload
	kindActive       = 5 // no payload
	barrierPayload   = 8
	watermarkPayload = 8
	helloAccepted    = 1
	helloDuplicate   = 2
	maxChannels      = 1 << 16
	maxCredits       = 1 << 10
	maxInboxCapacity = 1 << 20 // channels × credits: the inbox queue's length
)

// StreamHeader opens every stream: it names the consumer's inbox and the
// channel the stream feeds.
type StreamHeader struct {
	Inbox    InboxID `json:"inbox"`    // the consumer subtask's inbox
	Channels int     `json:"channels"` // how many channels that inbox has (both sides compute it from the job graph)
	Channel  int     `json:"channel"`  // this stream's channel index in that inbox
	Credits  int     `json:"credits"`
}

// validate checks the header's fields against the limits of the format.
func (h StreamHeader) validate() error {
	switch {
	case h.Inbox.Job == "" || h.Inbox.Task == "":
		return fmt.Errorf("inbox %q names no job or task", h.Inbox)
	case h.Inbox.Attempt < 0 || h.Inbox.Subtask < 0:
		return fmt.Errorf("inbox %s has a negative attempt or subtask", h.Inbox)
	case h.Channels < 1 || h.Channels > maxChannels:
		return fmt.Errorf("%d channels, want 1 to %d", h.Channels, maxChannels)
	case h.Channel < 0 || h.Channel >= h.Channels:
		return fmt.Errorf("channel %d out of range [0, %d)", h.Channel, h.Channels)
	case h.Credits < 1 || h.Credits > maxCredits:
		return fmt.Errorf("%d credits, want 1 to %d", h.Credits, maxCredits)
	case h.Channels*h.Credits > maxInboxCapacity:
		return fmt.Errorf("%d channels × %d credits exceed %d buffers", h.Channels, h.Credits, maxInboxCapacity)
	}
	return nil
}

// hello is what a dialer sends first on a new TCP connection.
type hello struct {
	ID string `json:"id"`
}

// appendPreamble appends magic, the version byte, the uvarint length of v's
// JSON and the JSON itself: the layout of both the hello and the stream
// header.
func appendPreamble(dst []byte, magic string, v any, limit int) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("network: encoding %s preamble: %w", magic, err)
	}
	if len(js) > limit {
		return nil, fmt.Errorf("network: %s preamble of %d bytes exceeds %d", magic, len(js), limit)
	}
	dst = append(dst, magic...)
	dst = append(dst, protocolVersion)
	dst = binary.AppendUvarint(dst, uint64(len(js)))
	return append(dst, js...), nil
}

// readPreamble reads what appendPreamble wrote and decodes the JSON into v,
// strictly: unknown fields and trailing data are errors. It reads exactly
// the preamble's bytes and nothing after them.
func readPreamble(r io.Reader, magic string, v any, limit int) error {
	var fixed [5]byte
	if _, err := io.ReadFull(r, fixed[:len(magic)+1]); err != nil {
		return fmt.Errorf("reading %s preamble: %w", magic, err)
	}
	if string(fixed[:len(magic)]) != magic {
		return fmt.Errorf("%w: bad magic %q, want %q", ErrProtocol, fixed[:len(magic)], magic)
	}
	if ver := fixed[len(magic)]; ver != protocolVersion {
		return fmt.Errorf("%w: %s version %d, want %d", ErrProtocol, magic, ver, protocolVersion)
	}
	n, err := binary.ReadUvarint(&byteReader{r: r})
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("reading %s preamble: %w", magic, io.ErrUnexpectedEOF)
		}
		return fmt.Errorf("%w: %s preamble length: %w", ErrProtocol, magic, err)
	}
	if n == 0 || n > uint64(limit) {
		return fmt.Errorf("%w: %s preamble length %d, want 1 to %d", ErrProtocol, magic, n, limit)
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return fmt.Errorf("reading %s preamble: %w", magic, noEOF(err))
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s preamble: %w", ErrProtocol, magic, err)
	}
	if len(bytes.TrimSpace(js[dec.InputOffset():])) != 0 {
		return fmt.Errorf("%w: %s preamble: trailing data after JSON", ErrProtocol, magic)
	}
	return nil
}

// encodeStreamHeader returns the bytes that open a stream.
func encodeStreamHeader(h StreamHeader) ([]byte, error) {
	return appendPreamble(nil, streamMagic, h, maxStreamHeader)
}

// readStreamHeader reads and validates a stream header.
func readStreamHeader(r io.Reader) (StreamHeader, error) {
	var h StreamHeader
	if err := readPreamble(r, streamMagic, &h, maxStreamHeader); err != nil {
		return h, err
	}
	if err := h.validate(); err != nil {
		return h, fmt.Errorf("%w: stream header: %w", ErrProtocol, err)
	}
	return h, nil
}

// readHello reads and validates a dialer's hello.
func readHello(r io.Reader) (hello, error) {
	var h hello
	if err := readPreamble(r, helloMagic, &h, maxHello); err != nil {
		return h, err
	}
	if h.ID == "" {
		return h, fmt.Errorf("%w: hello without an id", ErrProtocol)
	}
	return h, nil
}

// putFrameHeader writes the 5-byte header of a frame of n payload bytes.
func putFrameHeader(b []byte, ev Event, n int) {
	switch ev {
	case EventEndOfStream:
		b[0] = kindEndOfStream
	case EventBarrier:
		b[0] = kindBarrier
	case EventWatermark:
		b[0] = kindWatermark
	case EventIdle:
		b[0] = kindIdle
	case EventActive:
		b[0] = kindActive
	default:
		b[0] = kindRecords
	}
	binary.LittleEndian.PutUint32(b[1:FrameHeaderLen], uint32(n))
}

// readFrame reads one frame into f, reusing f.Data's capacity, and returns
// its event. It returns io.EOF if the stream ends cleanly before a frame,
// io.ErrUnexpectedEOF if it ends inside one, and an error wrapping
// ErrProtocol for a frame of unknown kind or over MaxFramePayload (checked
// before the payload is read). hdr is scratch space for the header.
func readFrame(r io.Reader, f *Frame, hdr *[FrameHeaderLen]byte) (Event, error) {
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	var ev Event
	switch hdr[0] {
	case kindRecords:
		ev = EventNone
	case kindEndOfStream:
		ev = EventEndOfStream
	case kindBarrier:
		ev = EventBarrier
	case kindWatermark:
		ev = EventWatermark
	case kindIdle:
		ev = EventIdle
	case kindActive:
		ev = EventActive
	default:
		return 0, fmt.Errorf("%w: unknown frame kind %d", ErrProtocol, hdr[0])
	}
	n := binary.LittleEndian.Uint32(hdr[1:])
	if want, fixed := eventPayload(ev); fixed && n != uint32(want) {
		return 0, fmt.Errorf("%w: %s frame of %d bytes, want %d", ErrProtocol, eventName(ev), n, want)
	}
	if n > MaxFramePayload {
		return 0, fmt.Errorf("%w: %w: %d bytes, limit %d", ErrProtocol, ErrFrameTooLarge, n, MaxFramePayload)
	}
	if cap(f.Data) < int(n) {
		f.Data = make([]byte, n)
	}
	f.Data = f.Data[:n]
	if _, err := io.ReadFull(r, f.Data); err != nil {
		return 0, noEOF(err)
	}
	return ev, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF, for reads inside a unit.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// byteReader reads single bytes from an unbuffered reader, so that a
// preamble is read without consuming anything after it.
type byteReader struct {
	r io.Reader
	b [1]byte
}

func (br *byteReader) ReadByte() (byte, error) {
	if _, err := io.ReadFull(br.r, br.b[:]); err != nil {
		return 0, err
	}
	return br.b[0], nil
}

// eventPayload returns the payload length that frames of event ev must
// have, and false when it may vary (records, end of stream).
func eventPayload(ev Event) (int, bool) {
	switch ev {
	case EventBarrier:
		return barrierPayload, true
	case EventWatermark:
		return watermarkPayload, true
	case EventIdle, EventActive:
		return 0, true
	}
	return 0, false
}

// eventName names an event in errors.
func eventName(ev Event) string {
	switch ev {
	case EventNone:
		return "a record"
	case EventEndOfStream:
		return "an end-of-stream"
	case EventBarrier:
		return "a barrier"
	case EventWatermark:
		return "a watermark"
	case EventIdle:
		return "an idle"
	case EventActive:
		return "an active"
	}
	return fmt.Sprintf("an event %d", ev)
}

// barrierID reads the checkpoint id of a barrier frame's payload.
func barrierID(f *Frame) int64 { return int64(binary.LittleEndian.Uint64(f.Data)) }

// watermarkOf reads the watermark of a watermark frame's payload.
func watermarkOf(f *Frame) int64 { return int64(binary.LittleEndian.Uint64(f.Data)) }
