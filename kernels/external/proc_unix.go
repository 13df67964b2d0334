//go:build unix

package external

import (
	"os/exec"
	"syscall"
)

// setGroup makes the child the leader of a new process group, so that a timeout kills
// everything it started (a Python interpreter's helpers, a shell script's children).
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the child's process group, and the child itself should the group be gone.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
