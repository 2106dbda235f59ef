package network

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadFrame feeds arbitrary bytes to the data plane's frame decoder,
// as a peer could send them: it must return frames or an error (never
// panic), never hold a payload over MaxFramePayload, and any frame it
// returns must encode back to the bytes it came from.
func FuzzReadFrame(f *testing.F) {
	frame := func(ev Event, payload []byte) []byte {
		b := make([]byte, FrameHeaderLen, FrameHeaderLen+len(payload))
		putFrameHeader(b, ev, len(payload))
		return append(b, payload...)
	}
	f.Add(frame(EventNone, []byte("records")))
	f.Add(append(frame(EventNone, nil), frame(EventEndOfStream, nil)...))
	f.Add(frame(EventBarrier, make([]byte, 8)))
	f.Add(frame(EventWatermark, make([]byte, 8)))
	f.Add([]byte{kindRecords, 0xff, 0xff, 0xff, 0x7f}) // huge length
	f.Add([]byte{0x42, 0, 0, 0, 0})                    // unknown kind
	f.Add([]byte{kindBarrier, 3, 0, 0, 0, 1, 2, 3})    // wrong fixed size
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var fr Frame
		var hdr [FrameHeaderLen]byte
		var back []byte
		for {
			start := len(data) - r.Len()
			ev, err := readFrame(r, &fr, &hdr)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrProtocol) {
					t.Fatalf("readFrame error %v is neither EOF nor a protocol error", err)
				}
				if errors.Is(err, io.EOF) && start != len(data) {
					t.Fatalf("io.EOF with %d bytes unread", len(data)-start)
				}
				break
			}
			if len(fr.Data) > MaxFramePayload {
				t.Fatalf("frame of %d bytes passed the %d limit", len(fr.Data), MaxFramePayload)
			}
			back = append(back, frame(ev, fr.Data)...)
			if !bytes.Equal(back, data[:len(back)]) {
				t.Fatalf("frame %s of %d bytes does not encode back to its input", eventName(ev), len(fr.Data))
			}
		}
	})
}

// FuzzReadStreamHeader feeds arbitrary bytes to the stream-header decoder
// a TaskManager runs on every stream a peer opens: an error or a valid
// header that encodes back, never a panic.
func FuzzReadStreamHeader(f *testing.F) {
	good, err := encodeStreamHeader(testHeader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(rawPreamble("SLCH", 1, `{"inbox":{"job":"j","attempt":0,"task":"t","subtask":0},"channels":2,"channel":5,"credits":2}`))
	f.Add(append([]byte("SLCH\x01"), bytes.Repeat([]byte{0xff}, 11)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := readStreamHeader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := h.validate(); err != nil {
			t.Fatalf("readStreamHeader accepted an invalid header %+v: %v", h, err)
		}
		if _, err := encodeStreamHeader(h); err != nil {
			t.Fatalf("an accepted header does not encode: %v", err)
		}
	})
}

// FuzzReadHello does the same for the session greeting.
func FuzzReadHello(f *testing.F) {
	f.Add(rawPreamble("SLDP", 1, `{"id":"tm-1"}`))
	f.Add(rawPreamble("SLDP", 1, `{}`))
	f.Add([]byte("SLDP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = readHello(bytes.NewReader(data))
	})
}
