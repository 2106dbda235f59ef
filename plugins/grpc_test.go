package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/sluicehq/sluice/plugins/proto"
)

// connectTo serves srv in-process and returns the host's view of it.
func connectTo(t *testing.T, srv pb.BackendServer) *remote {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	pb.RegisterBackendServer(s, srv)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Serve(lis) })
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		s.Stop()
		wg.Wait()
	})
	return &remote{rpc: pb.NewBackendClient(cc), exited: make(chan struct{})}
}

// failing is a Backend whose every call fails with err.
type failing struct{ err error }

func (f failing) Configure(context.Context, map[string]string) error { return f.err }
func (f failing) Put(_ context.Context, _ string, r io.Reader) (Object, error) {
	_, _ = io.Copy(io.Discard, r)
	return Object{}, f.err
}
func (f failing) Get(context.Context, string) (io.ReadCloser, error) { return nil, f.err }
func (f failing) List(context.Context, string) ([]Object, error)     { return nil, f.err }
func (f failing) Delete(context.Context, string) error               { return f.err }

// TestErrorIdentity sends each sentinel across the boundary: the host's
// error wraps the same sentinel and keeps the plugin's message.
func TestErrorIdentity(t *testing.T) {
	ctx := context.Background()
	for _, sentinel := range []error{ErrNotFound, ErrExists, ErrChecksum, ErrInvalidName, ErrSettings} {
		orig := fmt.Errorf("%w: %q (said the plugin)", sentinel, "job/chk-1")
		r := connectTo(t, &server{b: failing{orig}})
		calls := map[string]error{
			"Configure": r.Configure(ctx, nil),
			"Delete":    r.Delete(ctx, "job/chk-1"),
		}
		_, calls["Put"] = r.Put(ctx, "job/chk-1", strings.NewReader("bytes"))
		_, calls["Get"] = r.Get(ctx, "job/chk-1")
		_, calls["List"] = r.List(ctx, "job/")
		for call, err := range calls {
			if !errors.Is(err, sentinel) || err.Error() != orig.Error() {
				t.Errorf("%s with %v = %v, want %q wrapping it", call, sentinel, err, orig)
			}
			for _, other := range []error{ErrNotFound, ErrExists, ErrChecksum, ErrInvalidName, ErrSettings} {
				if other != sentinel && errors.Is(err, other) {
					t.Errorf("%s with %v also is %v", call, sentinel, other)
				}
			}
		}
	}
	// Other errors arrive with their message.
	r := connectTo(t, &server{b: failing{errors.New("disk on fire")}})
	if err := r.Delete(ctx, "x"); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Delete = %v, want the plugin's message", err)
	}
}

// lying is a Get stream with a trailer that does not match its data.
type lying struct {
	pb.UnimplementedBackendServer
	trailer *pb.Trailer // nil: end the stream without one
}

func (l *lying) Get(_ *pb.GetRequest, s pb.Backend_GetServer) error {
	if err := s.Send(&pb.GetResponse{Msg: &pb.GetResponse_Data{Data: []byte("bytes in transit")}}); err != nil {
		return err
	}
	if l.trailer == nil {
		return nil
	}
	return s.Send(&pb.GetResponse{Msg: &pb.GetResponse_Trailer{Trailer: l.trailer}})
}

// TestGetVerifiesTrailer checks that the host detects bytes changed in
// transit (a trailer that does not match) and a stream cut short.
func TestGetVerifiesTrailer(t *testing.T) {
	data := []byte("bytes in transit")
	sum := sha256.Sum256(data)
	good := hex.EncodeToString(sum[:])
	for _, tc := range []struct {
		name    string
		trailer *pb.Trailer
		want    error
	}{
		{"good", &pb.Trailer{Size: int64(len(data)), Sha256: good}, nil},
		{"wrong sum", &pb.Trailer{Size: int64(len(data)), Sha256: strings.Repeat("ab", 32)}, ErrChecksum},
		{"wrong size", &pb.Trailer{Size: 3, Sha256: good}, ErrChecksum},
		{"no trailer", nil, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := connectTo(t, &lying{trailer: tc.trailer})
			rc, err := r.Get(context.Background(), "job/obj")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if !errors.Is(err, tc.want) || tc.want != nil && !strings.Contains(err.Error(), `"job/obj"`) {
				t.Fatalf("ReadAll = %v, want %v naming the object", err, tc.want)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("read %q", got)
			}
		})
	}
}

// mapBackend is a minimal Backend for in-process tests.
type mapBackend struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *mapBackend) Configure(context.Context, map[string]string) error { return nil }
func (m *mapBackend) Put(_ context.Context, name string, r io.Reader) (Object, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Object{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	m.objs[name] = data
	sum := sha256.Sum256(data)
	return Object{Name: name, Size: int64(len(data)), Checksum: hex.EncodeToString(sum[:])}, nil
}
func (m *mapBackend) Get(_ context.Context, name string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objs[name]
	if !ok {
		return nil, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}
func (m *mapBackend) List(context.Context, string) ([]Object, error) { return nil, nil }
func (m *mapBackend) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, name)
	return nil
}

// TestPutRefusesWrongChecksum sends a checksum that does not match the
// data, and data chunks over the limit: the plugin refuses without
// storing.
func TestPutRefusesWrongChecksum(t *testing.T) {
	b := &mapBackend{}
	r := connectTo(t, &server{b: b})
	for _, tc := range []struct {
		name string
		msgs []*pb.PutRequest
		want string
	}{
		{"wrong sum", []*pb.PutRequest{
			{Msg: &pb.PutRequest_Name{Name: "a"}},
			{Msg: &pb.PutRequest_Data{Data: []byte("abc")}},
			{Msg: &pb.PutRequest_Sha256{Sha256: strings.Repeat("0", 64)}},
		}, "DataLoss"},
		{"no sum", []*pb.PutRequest{
			{Msg: &pb.PutRequest_Name{Name: "a"}},
			{Msg: &pb.PutRequest_Data{Data: []byte("abc")}},
		}, "without a checksum"},
		{"chunk too big", []*pb.PutRequest{
			{Msg: &pb.PutRequest_Name{Name: "a"}},
			{Msg: &pb.PutRequest_Data{Data: make([]byte, MaxChunk+1)}},
		}, "InvalidArgument"},
		{"no name", []*pb.PutRequest{
			{Msg: &pb.PutRequest_Data{Data: []byte("abc")}},
		}, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := r.rpc.Put(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range tc.msgs {
				if err := stream.Send(m); err != nil {
					break
				}
			}
			_, err = stream.CloseAndRecv()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Put = %v, want %s", err, tc.want)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if len(b.objs) != 0 {
				t.Fatalf("stored %v", b.objs)
			}
		})
	}
}

// TestVerified checks the reader backends return from Get.
func TestVerified(t *testing.T) {
	data := []byte("stored bytes")
	sum := sha256.Sum256(data)
	obj := Object{Name: "n", Size: int64(len(data)), Checksum: hex.EncodeToString(sum[:])}
	for _, tc := range []struct {
		name string
		read []byte
		want error
	}{
		{"intact", data, nil},
		{"flipped", []byte("stored bytex"), ErrChecksum},
		{"short", data[:5], ErrChecksum},
		{"long", append(append([]byte{}, data...), "more"...), ErrChecksum},
	} {
		rc := Verified(io.NopCloser(bytes.NewReader(tc.read)), obj)
		_, err := io.ReadAll(rc)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: ReadAll = %v, want %v", tc.name, err, tc.want)
		}
		if _, again := rc.Read(make([]byte, 1)); tc.want != nil && !errors.Is(again, tc.want) {
			t.Errorf("%s: Read after the end = %v, want the same error", tc.name, again)
		}
	}
}
