package testproc

import (
	"errors"
	"os"
	"syscall"
)

// Windows has neither process groups to signal nor SIGSTOP: Kill kills the
// agent alone, and Pause and Resume fail.
const (
	sigStop = syscall.Signal(0x13)
	sigCont = syscall.Signal(0x12)
	sigKill = syscall.SIGKILL
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(p *os.Process, sig syscall.Signal) error {
	if sig == sigKill {
		return p.Kill()
	}
	return errors.New("pausing the process needs a Unix system")
}

func waitStopped(int) error { return nil }
