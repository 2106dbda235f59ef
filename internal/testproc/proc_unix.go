//go:build unix

package testproc

import (
	"os"
	"syscall"
)

// signalGroup sends sig to the process's process group (the process leads its
// own group, see sysProcAttr), so anything it started goes with it.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	return syscall.Kill(-p.Pid, sig)
}

// Pause and Resume use these.
const (
	sigStop = syscall.SIGSTOP
	sigCont = syscall.SIGCONT
	sigKill = syscall.SIGKILL
)
