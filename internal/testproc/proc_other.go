//go:build unix && !linux

package testproc

import "syscall"

// sysProcAttr puts the process in a process group of its own; only Linux can
// also tie its life to the test process.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// waitStopped: without /proc, trust that SIGSTOP has taken effect.
func waitStopped(int) error { return nil }
