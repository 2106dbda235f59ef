package network

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

var testHeader = StreamHeader{Inbox: InboxID{Job: "job", Attempt: 1, Task: "sink", Subtask: 2}, Channels: 4, Channel: 3, Credits: 2}

func TestStreamHeaderRoundTrip(t *testing.T) {
	b, err := encodeStreamHeader(testHeader)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("SLCH\x01")) {
		t.Fatalf("header starts %q", b[:5])
	}
	// Whatever follows the header is left unread.
	r := bytes.NewReader(append(b, 0xAA))
	h, err := readStreamHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	if h != testHeader {
		t.Fatalf("got %+v, want %+v", h, testHeader)
	}
	if r.Len() != 1 {
		t.Fatalf("reader consumed past the header: %d bytes left", r.Len())
	}
}

// rawPreamble builds a preamble around arbitrary JSON.
func rawPreamble(magic string, version byte, js string) []byte {
	b := append([]byte(magic), version)
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...)
}

func TestReadStreamHeaderRejects(t *testing.T) {
	good := `{"inbox":{"job":"j","attempt":0,"task":"t","subtask":0},"channels":2,"channel":1,"credits":2}`
	huge := `{"inbox":{"job":"` + strings.Repeat("x", maxStreamHeader) + `"}}`
	tests := []struct {
		name  string
		input []byte
		proto bool // a protocol error rather than a truncated stream
	}{
		{"bad magic", rawPreamble("SLDP", 1, good), true},
		{"bad version", rawPreamble("SLCH", 2, good), true},
		{"zero length", rawPreamble("SLCH", 1, ""), true},
		{"too long", rawPreamble("SLCH", 1, huge), true},
		{"overflowing length", append([]byte("SLCH\x01"), bytes.Repeat([]byte{0xff}, 11)...), true},
		{"not JSON", rawPreamble("SLCH", 1, "{bad"), true},
		{"unknown field", rawPreamble("SLCH", 1, strings.Replace(good, `"credits"`, `"extra":1,"credits"`, 1)), true},
		{"trailing data", rawPreamble("SLCH", 1, good+" {}"), true},
		{"no job", rawPreamble("SLCH", 1, strings.Replace(good, `"job":"j"`, `"job":""`, 1)), true},
		{"channel out of range", rawPreamble("SLCH", 1, strings.Replace(good, `"channel":1`, `"channel":2`, 1)), true},
		{"negative channel", rawPreamble("SLCH", 1, strings.Replace(good, `"channel":1`, `"channel":-1`, 1)), true},
		{"no credits", rawPreamble("SLCH", 1, strings.Replace(good, `"credits":2`, `"credits":0`, 1)), true},
		{"too many channels", rawPreamble("SLCH", 1, strings.Replace(good, `"channels":2`, `"channels":100000`, 1)), true},
		{"inbox too big", rawPreamble("SLCH", 1, strings.Replace(strings.Replace(good, `"channels":2`, `"channels":60000`, 1), `"credits":2`, `"credits":1000`, 1)), true},
		{"empty", nil, false},
		{"truncated magic", []byte("SL"), false},
		{"truncated length", []byte("SLCH\x01\x80"), false},
		{"truncated JSON", rawPreamble("SLCH", 1, good)[:20], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readStreamHeader(bytes.NewReader(tt.input))
			if err == nil {
				t.Fatal("accepted")
			}
			if got := errors.Is(err, ErrProtocol); got != tt.proto {
				t.Fatalf("err = %v; protocol error %v, want %v", err, got, tt.proto)
			}
		})
	}
}

func TestReadHello(t *testing.T) {
	b, err := appendPreamble(nil, helloMagic, hello{ID: "tm-1"}, maxHello)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := readHello(bytes.NewReader(b)); err != nil || h.ID != "tm-1" {
		t.Fatalf("readHello = %+v, %v", h, err)
	}
	for _, in := range [][]byte{
		rawPreamble("SLDP", 1, `{"id":""}`),
		rawPreamble("SLDP", 1, `{"name":"x"}`),
		rawPreamble("SLCH", 1, `{"id":"x"}`),
	} {
		if _, err := readHello(bytes.NewReader(in)); !errors.Is(err, ErrProtocol) {
			t.Errorf("readHello(%q) err = %v, want a protocol error", in, err)
		}
	}
}

func frameBytes(kind byte, n uint32, payload []byte) []byte {
	b := []byte{kind, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[1:], n)
	return append(b, payload...)
}

func TestReadFrame(t *testing.T) {
	var in bytes.Buffer
	in.Write(frameBytes(kindRecords, 3, []byte("abc")))
	in.Write(frameBytes(kindRecords, 1, []byte("d")))
	in.Write(frameBytes(kindEndOfStream, 0, nil))
	var hdr [FrameHeaderLen]byte
	f := &Frame{}
	ev, err := readFrame(&in, f, &hdr)
	if err != nil || ev != EventNone || string(f.Data) != "abc" {
		t.Fatalf("frame 1 = %v %q %v", ev, f.Data, err)
	}
	first := &f.Data[0]
	ev, err = readFrame(&in, f, &hdr)
	if err != nil || ev != EventNone || string(f.Data) != "d" {
		t.Fatalf("frame 2 = %v %q %v", ev, f.Data, err)
	}
	if &f.Data[0] != first {
		t.Fatal("a smaller frame did not reuse the buffer")
	}
	ev, err = readFrame(&in, f, &hdr)
	if err != nil || ev != EventEndOfStream || len(f.Data) != 0 {
		t.Fatalf("frame 3 = %v %q %v", ev, f.Data, err)
	}
	if _, err := readFrame(&in, f, &hdr); err != io.EOF {
		t.Fatalf("at the end: err = %v, want io.EOF", err)
	}
}

func TestReadFrameRejects(t *testing.T) {
	var hdr [FrameHeaderLen]byte
	tests := []struct {
		name  string
		input []byte
		want  []error
	}{
		{"unknown kind", frameBytes(7, 0, nil), []error{ErrProtocol}},
		{"too long", frameBytes(kindRecords, MaxFramePayload+1, nil), []error{ErrProtocol, ErrFrameTooLarge}},
		{"truncated header", []byte{kindRecords, 1}, []error{io.ErrUnexpectedEOF}},
		{"truncated payload", frameBytes(kindRecords, 10, []byte("abc")), []error{io.ErrUnexpectedEOF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Frame{}
			_, err := readFrame(bytes.NewReader(tt.input), f, &hdr)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			if cap(f.Data) > 16 {
				t.Errorf("allocated %d bytes for a rejected frame", cap(f.Data))
			}
		})
	}
}

func TestWireConnCoalescesDataHeaders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	d := &DataPlane{}
	c := &wireConn{Conn: raw, d: d}
	yhdr := func(typ byte, length uint32) []byte {
		h := make([]byte, yamuxHeaderLen)
		h[1] = typ
		binary.BigEndian.PutUint32(h[8:], length)
		return h
	}
	data, body := yhdr(0, 3), []byte("abc")
	window := yhdr(1, 1<<17) // a window update has no body
	empty := yhdr(0, 0)      // a data message without a body (a FIN)
	var want bytes.Buffer
	write := func(b []byte) {
		t.Helper()
		if n, err := c.Write(b); err != nil || n != len(b) {
			t.Fatalf("Write(%d bytes) = %d, %v", len(b), n, err)
		}
		want.Write(b)
	}
	write(window)
	write(empty)
	write([]byte("SLDP\x01"))
	if d.BytesSent() != int64(want.Len()) {
		t.Fatalf("headers without a body were held: sent %d, want %d", d.BytesSent(), want.Len())
	}
	write(data)
	if d.BytesSent() != int64(want.Len()-yamuxHeaderLen) {
		t.Fatal("a data header was written before its body")
	}
	write(body)
	write(data)
	write(body)
	if d.BytesSent() != int64(want.Len()) {
		t.Fatalf("BytesSent = %d, want %d", d.BytesSent(), want.Len())
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("bytes on the wire differ:\n got %x\nwant %x", got, want.Bytes())
	}
}
