package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/sluicehq/sluice/plugins/proto"
)

// server is the plugin side of the protocol: it serves a Backend over
// gRPC, verifying the checksum of every Put before the backend may commit
// it.
type server struct {
	pb.UnimplementedBackendServer
	b Backend
}

func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	settings := req.GetSettings()
	if settings == nil {
		settings = map[string]string{}
	}
	if err := s.b.Configure(ctx, settings); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ConfigureResponse{}, nil
}

func (s *server) Put(stream pb.Backend_PutServer) error {
	first, err := stream.Recv()
	if err != nil {
		return toStatus(err)
	}
	name, ok := first.GetMsg().(*pb.PutRequest_Name)
	if !ok {
		return status.Error(codes.InvalidArgument, "put: the first message must carry the object name")
	}
	if err := ValidName(name.Name); err != nil {
		return toStatus(err)
	}
	r := &putReader{stream: stream, name: name.Name, hash: sha256.New()}
	obj, err := s.b.Put(stream.Context(), name.Name, r)
	if err != nil {
		return toStatus(err)
	}
	if err := r.finish(obj); err != nil {
		// The backend committed without reading to the end, or reports
		// other bytes than it was sent: take the object back.
		if delErr := s.b.Delete(context.WithoutCancel(stream.Context()), name.Name); delErr != nil {
			err = errors.Join(err, fmt.Errorf("deleting it again: %w", delErr))
		}
		return toStatus(err)
	}
	return stream.SendAndClose(&pb.PutResponse{Object: toProto(obj)})
}

// putReader is the io.Reader a backend's Put reads: the data chunks of the
// stream. At the end it compares the sha256 the host sent with that of the
// bytes received and, if they differ, returns an error wrapping ErrChecksum
// instead of io.EOF, so that the backend stores nothing.
type putReader struct {
	stream pb.Backend_PutServer
	name   string
	hash   hash.Hash
	size   int64
	buf    []byte
	eof    bool
	err    error
}

func (r *putReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next receives one message: a chunk into buf, or the checksum.
func (r *putReader) next() error {
	msg, err := r.stream.Recv()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("put %q: %w: the stream ended without a checksum", r.name, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return err
	}
	switch m := msg.GetMsg().(type) {
	case *pb.PutRequest_Data:
		if len(m.Data) > MaxChunk {
			return status.Errorf(codes.InvalidArgument, "put %q: chunk of %d bytes, more than %d", r.name, len(m.Data), MaxChunk)
		}
		r.hash.Write(m.Data)
		r.size += int64(len(m.Data))
		r.buf = m.Data
		return nil
	case *pb.PutRequest_Sha256:
		got := hex.EncodeToString(r.hash.Sum(nil))
		if want := strings.ToLower(m.Sha256); got != want {
			return fmt.Errorf("%w: object %q: the host sent sha256 %s, the plugin received %d bytes with sha256 %s",
				ErrChecksum, r.name, want, r.size, got)
		}
		r.eof = true
		return nil
	default:
		return status.Errorf(codes.InvalidArgument, "put %q: unexpected message %T", r.name, m)
	}
}

// finish checks, after the backend stored obj, that it read everything
// and reports the bytes it was sent.
func (r *putReader) finish(obj Object) error {
	if !r.eof {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fmt.Errorf("put %q: the backend stored the object before the end of the stream: %w", r.name, err)
		}
	}
	sum := hex.EncodeToString(r.hash.Sum(nil))
	if obj.Size != r.size || obj.Checksum != sum {
		return fmt.Errorf("%w: object %q: the backend reports %d bytes with sha256 %s, it was sent %d bytes with sha256 %s",
			ErrChecksum, r.name, obj.Size, obj.Checksum, r.size, sum)
	}
	return nil
}

func (s *server) Get(req *pb.GetRequest, stream pb.Backend_GetServer) error {
	if err := ValidName(req.GetName()); err != nil {
		return toStatus(err)
	}
	rc, err := s.b.Get(stream.Context(), req.GetName())
	if err != nil {
		return toStatus(err)
	}
	defer rc.Close()
	h := sha256.New()
	var size int64
	buf := make([]byte, MaxChunk)
	for {
		n, err := fill(rc, buf)
		if n > 0 {
			h.Write(buf[:n])
			size += int64(n)
			if sendErr := stream.Send(&pb.GetResponse{Msg: &pb.GetResponse_Data{Data: buf[:n]}}); sendErr != nil {
				return sendErr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return toStatus(err)
		}
	}
	trailer := &pb.Trailer{Size: size, Sha256: hex.EncodeToString(h.Sum(nil))}
	return stream.Send(&pb.GetResponse{Msg: &pb.GetResponse_Trailer{Trailer: trailer}})
}

// fill reads from r until buf is full or r fails; at the end of r it
// returns io.EOF, possibly with n > 0.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *server) List(ctx context.Context, req *pb.ListRequest) (*pb.ListResponse, error) {
	objs, err := s.b.List(ctx, req.GetPrefix())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.ListResponse{Objects: make([]*pb.Object, len(objs))}
	for i, o := range objs {
		resp.Objects[i] = toProto(o)
	}
	return resp, nil
}

func (s *server) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	if err := ValidName(req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	if err := s.b.Delete(ctx, req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteResponse{}, nil
}

func toProto(o Object) *pb.Object {
	return &pb.Object{Name: o.Name, Size: o.Size, Sha256: o.Checksum}
}

func fromProto(o *pb.Object) Object {
	return Object{Name: o.GetName(), Size: o.GetSize(), Checksum: o.GetSha256()}
}
