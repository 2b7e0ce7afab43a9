//go:build unix && !linux

package localrun

import "syscall"

// procAttr puts a child in its own process group, so that stopping it
// stops what it started (the emulator starts the bootstrap).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
