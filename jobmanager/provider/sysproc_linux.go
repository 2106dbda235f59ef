package provider

import "syscall"

// sysProcAttr returns the process attributes of a TaskManager on Linux:
//
//   - Pdeathsig: it is killed (SIGKILL) when the thread that started it,
//     and so normally the JobManager, dies;
//   - Setpgid: it runs in a process group of its own, so that a Ctrl-C at
//     the terminal reaches the JobManager only, which then stops its
//     TaskManagers itself (Close) instead of seeing them die as lost.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
