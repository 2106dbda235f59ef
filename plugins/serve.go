package plugins

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-plugin"
)

// Serve serves b as a state-backend plugin; a backend binary's main calls
// it and nothing else. It returns when the host stops the plugin, and the
// process exits by itself if the host dies.
//
// The host (Sluice's JobManager or a TaskManager) starts the binary, and
// Serve completes the handshake, negotiates the protocol version and
// serves b over gRPC with mutual TLS. Run by hand, the binary prints a
// one-line explanation and exits with status 1.
//
// Serve makes slog's default logger write to the host: records at Debug
// and above travel over the plugin's stderr, and the host logs them with
// its own slog handler. Backends log with slog.Default() (or slog.Info and
// friends) and never write to stdout, which carries the handshake.
func Serve(b Backend) {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s is a Sluice state-backend plugin: Sluice starts it when a job uses it as its state backend; it is not run by hand.\n",
			filepath.Base(os.Args[0]))
		os.Exit(1)
	}
	// go-plugin swaps os.Stderr for a pipe once it serves; the host reads
	// the logs from the original.
	logger := slog.New(pluginLogHandler(os.Stderr))
	slog.SetDefault(logger)
	host := os.Getppid()
	if pid, err := strconv.Atoi(os.Getenv(hostPIDEnv)); err == nil {
		host = pid // the host may be gone already
	}
	go exitWithParent(host, time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versionedPlugins(b),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           newHclog(logger, ""), // the host names it
	})
}

// hostPIDEnv is the environment variable in which the host tells a
// plugin its pid.
const hostPIDEnv = "SLUICE_BACKEND_HOST_PID"

// exitWithParent ends the plugin once the host that started it is gone
// (its parent changes): go-plugin would leave it running, orphaned, when
// the host dies without stopping it.
func exitWithParent(ppid int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			slog.Error("the host process is gone; exiting", "host_pid", ppid)
			os.Exit(1)
		}
	}
}
