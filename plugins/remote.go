package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	pb "github.com/sluicehq/sluice/plugins/proto"
)

// remote is the host's Backend over one plugin connection. Its errors
// carry the sentinels (fromStatus); transport failures stay gRPC status
// errors so that the Client can tell a crash.
type remote struct {
	rpc    pb.BackendClient
	exited <-chan struct{} // closed when the plugin process has exited
}

func (r *remote) Configure(ctx context.Context, settings map[string]string) error {
	_, err := r.rpc.Configure(ctx, &pb.ConfigureRequest{Settings: settings})
	return fromStatus(ctx, err)
}

// Put streams r to the plugin in chunks, computing the sha256 on the way,
// and sends it last for the plugin to verify.
func (r *remote) Put(ctx context.Context, name string, src io.Reader) (Object, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // on an early return this aborts the stream: nothing is stored
	stream, err := r.rpc.Put(ctx)
	if err != nil {
		return Object{}, fromStatus(ctx, err)
	}
	// A failed Send means the stream is over; CloseAndRecv has the reason.
	closeErr := func() error {
		_, err := stream.CloseAndRecv()
		if err == nil {
			err = errors.New("the plugin ended the stream early")
		}
		return fromStatus(ctx, err)
	}
	if err := stream.Send(&pb.PutRequest{Msg: &pb.PutRequest_Name{Name: name}}); err != nil {
		return Object{}, closeErr()
	}
	h := sha256.New()
	var size int64
	buf := make([]byte, MaxChunk)
	for {
		n, err := fill(src, buf)
		if n > 0 {
			h.Write(buf[:n])
			size += int64(n)
			if sendErr := stream.Send(&pb.PutRequest{Msg: &pb.PutRequest_Data{Data: buf[:n]}}); sendErr != nil {
				return Object{}, closeErr()
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Object{}, fmt.Errorf("reading the bytes of %q: %w", name, err)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := stream.Send(&pb.PutRequest{Msg: &pb.PutRequest_Sha256{Sha256: sum}}); err != nil {
		return Object{}, closeErr()
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return Object{}, fromStatus(ctx, err)
	}
	obj := fromProto(resp.GetObject())
	if obj.Name != name || obj.Size != size || obj.Checksum != sum {
		return obj, fmt.Errorf("%w: object %q: sent %d bytes with sha256 %s, the backend reports %q with %d bytes and sha256 %s",
			ErrChecksum, name, size, sum, obj.Name, obj.Size, obj.Checksum)
	}
	return obj, nil
}

// Get opens the stream and waits for its first message, so that a missing
// object fails here rather than at the first Read.
func (r *remote) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := r.rpc.Get(ctx, &pb.GetRequest{Name: name})
	if err != nil {
		cancel()
		return nil, fromStatus(ctx, err)
	}
	gr := &getReader{ctx: ctx, cancel: cancel, stream: stream, name: name, hash: sha256.New()}
	switch err := gr.next(); {
	case err == io.EOF: // an empty object: the trailer came first
		gr.err = err
	case err != nil:
		cancel()
		return nil, err
	}
	return gr, nil
}

// getReader reads a Get stream, verifying the size and sha256 of what it
// received against the trailer: a mismatch is returned from Read at the
// end, instead of io.EOF, as an error wrapping ErrChecksum.
type getReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	stream pb.Backend_GetClient
	name   string
	hash   hash.Hash
	size   int64
	buf    []byte
	err    error // io.EOF after a good trailer
}

func (g *getReader) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.err = g.next()
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// next receives one message into buf; it returns io.EOF after a trailer
// that matches.
func (g *getReader) next() error {
	msg, err := g.stream.Recv()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("get %q: %w: the stream ended without a trailer", g.name, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return fromStatus(g.ctx, err)
	}
	switch m := msg.GetMsg().(type) {
	case *pb.GetResponse_Data:
		g.hash.Write(m.Data)
		g.size += int64(len(m.Data))
		g.buf = m.Data
		return nil
	case *pb.GetResponse_Trailer:
		sum := hex.EncodeToString(g.hash.Sum(nil))
		if g.size != m.Trailer.GetSize() || sum != m.Trailer.GetSha256() {
			return fmt.Errorf("%w: object %q: received %d bytes with sha256 %s, the backend sent %d bytes with sha256 %s",
				ErrChecksum, g.name, g.size, sum, m.Trailer.GetSize(), m.Trailer.GetSha256())
		}
		return io.EOF
	default:
		return fmt.Errorf("get %q: unexpected message %T", g.name, m)
	}
}

// Close ends the stream.
func (g *getReader) Close() error {
	g.cancel()
	return nil
}

func (r *remote) List(ctx context.Context, prefix string) ([]Object, error) {
	resp, err := r.rpc.List(ctx, &pb.ListRequest{Prefix: prefix})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	objs := make([]Object, len(resp.GetObjects()))
	for i, o := range resp.GetObjects() {
		objs[i] = fromProto(o)
	}
	return objs, nil
}

func (r *remote) Delete(ctx context.Context, name string) error {
	_, err := r.rpc.Delete(ctx, &pb.DeleteRequest{Name: name})
	return fromStatus(ctx, err)
}
