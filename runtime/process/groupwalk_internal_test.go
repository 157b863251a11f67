package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// startForeign starts sleep as a group leader carrying a launch token of
// a service named name, as a berth that has exited would have left it:
// this runner did not launch it. Its PID file is written; the test's wait
// reaps it only at cleanup, so its zombie lingers after it exits, as
// under an init that reaps now and then.
func startForeign(t *testing.T, name string) (*runtime.Service, runtime.Handle) {
	t.Helper()
	dir := t.TempDir()
	svc := &runtime.Service{Name: name, Runner: metadata.RunnerProcess, Argv: []string{"sleep", "60"},
		Env: os.Environ(), Dir: dir, StopSignal: syscall.SIGTERM, StopGrace: 5 * time.Second,
		StateDir: filepath.Join(dir, "pids"), Root: dir}
	token, err := newToken(svc)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command("sleep", "60")
	c.Dir, c.Env = dir, append(os.Environ(), launchVar+"="+token)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); c.Wait() })
	pid := c.Process.Pid
	var st procStat
	deadline := time.Now().Add(5 * time.Second)
	for {
		tok, _ := launchToken(pid)
		if st, err = readStat(pid); err == nil && tok == token {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PID %d never showed its launch token", pid)
		}
		time.Sleep(time.Millisecond)
	}
	h := runtime.Handle{Service: name, Runner: metadata.RunnerProcess, PID: pid, PGID: pid,
		StartTime: st.StartTime, StartedAt: time.Now(), Env: dir, Token: token}
	if err := writePIDFile(pidPath(svc), h); err != nil {
		t.Fatal(err)
	}
	return svc, h
}

// liveMembers leaves a group's zombies out and finds its live members.
func TestLiveMembersLeavesZombiesOut(t *testing.T) {
	z := exec.Command("true")
	z.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	defer z.Wait()
	pid := z.Process.Pid
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if st, err := readStat(pid); err == nil && st.State == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PID %d never became a zombie", pid)
		}
	}
	if !groupAlive(pid) {
		t.Fatalf("group %d holds its zombie, yet kill(-pgid, 0) finds none", pid)
	}
	if m := liveMembers(pid); len(m) != 0 {
		t.Errorf("liveMembers(%d) = %v; want none, its only process a zombie", pid, m)
	}
	_, h := startForeign(t, "a")
	if m := liveMembers(h.PGID); len(m) != 1 || m[0].PID != h.PID || m[0].StartTime != h.StartTime {
		t.Errorf("liveMembers(%d) = %+v; want its leader %d", h.PGID, m, h.PID)
	}
}

// The stops of many services whose groups keep a zombie each (their init
// reaps later) share walks of the groups: a walk waits for the exits
// under way, rather than one walk after another for as long as exits
// come in.
func TestStopsOfLingeringZombiesShareWalks(t *testing.T) {
	const n = 24
	type one struct {
		svc *runtime.Service
		h   runtime.Handle
	}
	var all []one
	for i := range n {
		svc, h := startForeign(t, fmt.Sprintf("s%d", i))
		all = append(all, one{svc, h})
	}
	r := New(Options{})
	groups.mu.Lock()
	before := groups.walks
	groups.mu.Unlock()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, o := range all {
		wg.Go(func() {
			<-start
			if err := r.Stop(context.Background(), o.svc, o.h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	groups.mu.Lock()
	walks := groups.walks - before
	groups.mu.Unlock()
	t.Logf("%d stops, %d walks of the groups", n, walks)
	if walks > n/3 {
		t.Errorf("%d stops made %d walks of the groups; want them shared", n, walks)
	}
}
