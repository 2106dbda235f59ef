// Command foreign is a binary that is not a working Sluice state backend,
// for the tests of the host's errors. Its first argument says how it
// fails:
//
//	garbage     prints a line that is not a plugin handshake
//	version99   a go-plugin plugin with Sluice's cookie that speaks only
//	            protocol version 99
//	othercookie a go-plugin plugin of some other program (another magic
//	            cookie), which refuses to run
//	panic       panics before the handshake
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-plugin"

	"github.com/sluicehq/sluice/plugins"
)

type nothing struct{ plugin.NetRPCUnsupportedPlugin }

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "garbage":
		fmt.Println("hello, I am not a plugin")
	case "version99":
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  plugins.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{99: {"backend": nothing{}}},
		})
	case "othercookie":
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: plugin.HandshakeConfig{
				ProtocolVersion:  1,
				MagicCookieKey:   "SOME_OTHER_PLUGIN",
				MagicCookieValue: "d1f0c2",
			},
			Plugins: plugin.PluginSet{"thing": nothing{}},
		})
	case "panic":
		panic("foreign: broken at start-up")
	default:
		fmt.Fprintln(os.Stderr, "usage: foreign garbage|version99|othercookie|panic")
		os.Exit(2)
	}
}
