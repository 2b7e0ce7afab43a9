package localrun

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A leader that exited on its own (an emulator that crashed) may leave a
// child (its bootstrap) in the group: stop still ends it.
func TestStopKillsGroupOfExitedLeader(t *testing.T) {
	// Read only after the process is done, when Wait has copied all.
	var out bytes.Buffer
	p, err := startProcess("sh", "/bin/sh", []string{"-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $!"}, nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("child pid %q: %v", out.String(), err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if !alive(pid) {
		t.Fatal("the child is not running before stop")
	}
	p.stop()
	// SIGKILL is delivered at once, but the reaper may take a moment: a
	// bound for the test, not a timing assertion.
	for i := 0; alive(pid); i++ {
		if i == 500 {
			t.Fatalf("process %d outlived stop", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}
