package plugins

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"

	pb "github.com/sluicehq/sluice/plugins/proto"
)

// RegisterShared serves b on a gRPC server of the host, so that other
// processes can use the backend the host opened: the JobManager shares its
// memory backend with its TaskManagers this way. Clients cannot configure
// it; the host did. Checksums are verified on both sides as with a plugin.
func RegisterShared(s grpc.ServiceRegistrar, b Backend) {
	pb.RegisterBackendServer(s, &server{b: hostConfigured{b}})
}

// hostConfigured refuses Configure from clients of a shared backend.
type hostConfigured struct{ Backend }

func (hostConfigured) Configure(context.Context, map[string]string) error {
	return fmt.Errorf("%w: a shared backend is configured by the process that hosts it", ErrSettings)
}

// NewShared returns a Backend whose calls go to a backend shared with
// RegisterShared over cc. It is not configured (the host did that) and is
// safe for concurrent use; closing cc ends it.
func NewShared(cc grpc.ClientConnInterface) Backend {
	return &remote{rpc: pb.NewBackendClient(cc)}
}

// Unavailable returns a Backend whose every call fails with err: what a
// process uses when the backend it was told to open could not be opened,
// so that each checkpoint and restore says why.
func Unavailable(err error) Backend { return unavailable{err} }

type unavailable struct{ err error }

func (u unavailable) Configure(context.Context, map[string]string) error { return u.err }
func (u unavailable) Put(context.Context, string, io.Reader) (Object, error) {
	return Object{}, u.err
}
func (u unavailable) Get(context.Context, string) (io.ReadCloser, error) { return nil, u.err }
func (u unavailable) List(context.Context, string) ([]Object, error)     { return nil, u.err }
func (u unavailable) Delete(context.Context, string) error               { return u.err }
