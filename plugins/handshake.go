package plugins

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/sluicehq/sluice/plugins/proto"
)

// ProtocolVersion is the state-backend protocol version this build speaks:
// the host offers it and a plugin built with Serve picks it.
const ProtocolVersion = 1

// MaxChunk bounds the data of one message of a Put or Get stream.
const MaxChunk = 256 << 10

// pluginName is the name the backend is dispensed under in the plugin set.
const pluginName = "backend"

// Handshake is what host and plugin check before talking: the plugin
// refuses to start unless the host put the magic cookie in its
// environment, so a backend run by hand explains itself and exits. It is
// a UX check, not a security measure (AutoMTLS authenticates the
// connection).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SLUICE_BACKEND_PLUGIN",
	MagicCookieValue: "9b3019e82b8535c780d7aefb54ab0342",
}

// versionedPlugins is the plugin set of each protocol version this build
// speaks; impl is nil on the host.
func versionedPlugins(impl Backend) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {pluginName: &grpcPlugin{impl: impl}},
	}
}

// grpcPlugin adapts a Backend to go-plugin's gRPC transport.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Backend
}

// GRPCServer registers the backend's gRPC service in the plugin process.
func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterBackendServer(s, &server{b: p.impl})
	return nil
}

// GRPCClient returns the host's view of the plugin. ctx ends when the
// plugin process exits, which is how the host tells a crash from an error.
func (p *grpcPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &remote{rpc: pb.NewBackendClient(cc), exited: ctx.Done()}, nil
}
