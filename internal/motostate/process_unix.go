//go:build unix

package motostate

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the server in a group of its own, so that ending
// the group also ends any process it started (a pyenv shim's python).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
