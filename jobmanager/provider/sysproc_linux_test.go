package provider

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// deadOrZombie reports whether process pid is gone or a zombie that its new
// parent has not reaped yet.
func deadOrZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

func TestLocalChildDiesWithJobManager(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	jm := exec.Command(exe, "-test.run=^TestHelperProcess$")
	jm.Env = append(os.Environ(), helperEnv+"="+jobManagerHelper, workDirEnv+"="+t.TempDir())
	out, err := jm.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := jm.Start(); err != nil {
		t.Fatal(err)
	}
	var tm int
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, serr := fmt.Sscanf(line, "taskmanager %d", &tm); serr != nil {
		_ = jm.Process.Kill()
		_ = jm.Wait()
		t.Fatalf("helper JobManager said %q (%v)", line, err)
	}
	t.Cleanup(func() {
		if !deadOrZombie(tm) { // leave no orphan if the test fails
			_ = syscall.Kill(tm, syscall.SIGKILL)
		}
	})
	if pgid, err := syscall.Getpgid(tm); err != nil || pgid != tm {
		t.Errorf("TaskManager %d is in process group %d (%v), want its own", tm, pgid, err)
	}

	if err := jm.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = jm.Wait()
	waitFor(t, "the TaskManager to die with its JobManager", func() bool { return deadOrZombie(tm) })
}
