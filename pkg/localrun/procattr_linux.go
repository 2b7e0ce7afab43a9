package localrun

import "syscall"

// procAttr puts a child in its own process group, so that stopping it
// stops what it started (the emulator starts the bootstrap), and has the
// kernel kill it if this process dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
