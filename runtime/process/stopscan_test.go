package process_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// startTicks is field 22 of /proc/<pid>/stat.
func startTicks(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	n, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startWithToken starts testsvc as a group leader carrying BERTH_LAUNCH=token.
func startWithToken(t *testing.T, dir, token string) *exec.Cmd {
	t.Helper()
	c := exec.Command(testsvc)
	c.Dir = dir
	c.Env = append(os.Environ(), "BERTH_LAUNCH="+token)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); c.Wait() })
	return c
}

// A launch token is made at each launch and the launch's leader is forked
// after it: a process that started before the leader did not inherit it
// from the launch, whatever its environment says, and a stop never signals
// it (the walk of /proc reads only the environments of processes that
// started since the leader).
func TestStopLeavesAProcessOlderThanTheLaunch(t *testing.T) {
	ctx := context.Background()
	svc := service(t, "api")
	fi, err := os.Stat(svc.Root)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	token := fmt.Sprintf("%d:%d/api/0123456789abcdef", st.Dev, st.Ino)
	older := startWithToken(t, svc.Dir, token)
	olderStart := startTicks(t, older.Process.Pid)
	var leader *exec.Cmd
	for leader == nil || startTicks(t, leader.Process.Pid) == olderStart {
		time.Sleep(10 * time.Millisecond) // start times count clock ticks
		leader = startWithToken(t, svc.Dir, token)
	}
	pid := leader.Process.Pid
	h := runtime.Handle{Service: "api", Runner: svc.Runner, PID: pid, PGID: pid, StartTime: startTicks(t, pid),
		StartedAt: time.Now(), Env: svc.Root, Token: token}
	eventually(t, "the leader's environment", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		return bytes.Contains(b, []byte(token))
	})
	if err := newRunner().Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if psAlive(pid) {
		t.Fatal("the stop left the leader running")
	}
	if !psAlive(older.Process.Pid) {
		t.Fatalf("the stop signalled PID %d, which started before the launch", older.Process.Pid)
	}
}
