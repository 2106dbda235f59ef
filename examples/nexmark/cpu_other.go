//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package nexmark

import "time"

// cpuTime is unknown on this platform.
func cpuTime() time.Duration { return 0 }
