package agent

import (
	"log/slog"
	"runtime"
	"strconv"
)

// ProcsFor returns the GOMAXPROCS a TaskManager process with slots slots
// should run with: one scheduler thread per slot, but never more than the
// process has now (current, which the Go runtime already fits to the CPUs
// and any cgroup limit), and unchanged when the operator set GOMAXPROCS
// in the environment (env, its value) or the slots are unknown.
//
// A slot is one CPU's share of the machine. TaskManagers that share a
// machine (several per node under Nomad, or a JobManager next to them)
// each get their slots' share of its cores, and a process that keeps as
// many threads as the whole machine has cores pays for it on every hand-off
// between goroutines: the Go scheduler wakes an idle thread (a futex
// call, which is costly in virtual machines) for each one. On two cores
// shared by two one-slot TaskManagers and a JobManager, one thread each
// moves records across the data plane about 1.5 times as fast (see
// BENCHMARKS.md). With the default slots (one per core) nothing changes.
func ProcsFor(slots, current int, env string) int {
	if env != "" || slots <= 0 || slots >= current {
		return current
	}
	return slots
}

// SizeProcs sets GOMAXPROCS to ProcsFor the slots and logs a change.
// getenv reads the environment (os.Getenv).
func SizeProcs(slots int, getenv func(string) string, log *slog.Logger) {
	current := runtime.GOMAXPROCS(0)
	if n := ProcsFor(slots, current, getenv("GOMAXPROCS")); n != current {
		runtime.GOMAXPROCS(n)
		log.Debug("one scheduler thread per slot", "gomaxprocs", n, "was", current,
			"hint", "set GOMAXPROCS="+strconv.Itoa(current)+" to keep one per core")
	}
}
