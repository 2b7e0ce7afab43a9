package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"syscall"
	"time"
)

// process is a child process in its own process group.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // its exit status, once done is closed
}

func startProcess(name, path string, args, env []string, out io.Writer) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = procAttr()
	// Stop writes of a grandchild that outlives the group from holding
	// Wait forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop ends the process group: SIGTERM, then SIGKILL if it lingers.
func (p *process) stop() {
	pgid := -p.cmd.Process.Pid
	if done, _ := p.exited(); !done {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		t := time.NewTimer(3 * time.Second)
		select {
		case <-p.done:
		case <-t.C:
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-p.done
		}
		t.Stop()
	}
	// The group may hold a bootstrap the emulator did not wait for, also
	// when the emulator itself crashed earlier.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
}

// waitListening waits until addr accepts connections, the process exits,
// or ctx ends.
func (p *process) waitListening(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if done, werr := p.exited(); done {
			return fmt.Errorf("%s exited before listening on %s: %v", p.name, addr, werr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s: %w", p.name, addr, errors.Join(ctx.Err(), err))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freeAddrs returns n distinct loopback addresses with ports nobody
// listens on now: all n are held open until every one is picked, so that
// two of them are never the same port. Someone may take one before the
// caller does; callers retry.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
