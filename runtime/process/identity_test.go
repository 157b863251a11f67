package process_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/runtime"
)

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("waiting for %s", what)
	})
}

// ignoresTerm reads SigIgn from /proc/<pid>/status.
func ignoresTerm(pid int) bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
			mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return mask&(1<<(uint(syscall.SIGTERM)-1)) != 0
		}
	}
	return false
}

// readPID waits for a PID written to path by testsvc.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, "the grandchild's PID in "+path, func() bool {
		b, _ := os.ReadFile(path)
		pid, _ = strconv.Atoi(string(b))
		return pid > 0
	})
	return pid
}

func writePIDFile(t *testing.T, svc *runtime.Service, content string) string {
	t.Helper()
	os.MkdirAll(svc.StateDir, 0o755)
	path := filepath.Join(svc.StateDir, svc.Name+".pid")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startIn starts a process berth did not start, in dir, as a process
// group leader; it is killed at the end of the test.
func startIn(t *testing.T, dir string, argv ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL); c.Wait() })
	return c
}

// A plain PID file (the OQTOPUS CLI's) counts only when its process works
// in the environment root and it, or a process it started, runs the
// service's command; anything else is Stopped, with a warning, and is
// never signalled, however fresh the file is.
func TestPlainPIDFiles(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	tests := []struct {
		name        string
		inRoot      bool
		shell       bool
		argv        func(svc *runtime.Service) []string
		wantRunning bool
	}{
		{"the service's command in the root", true, false, func(svc *runtime.Service) []string { return svc.Argv }, true},
		{"a shell whose child runs the command (the CLI's subshell)", true, true, func(svc *runtime.Service) []string {
			return []string{"/bin/sh", "-c", strings.Join(svc.Argv, " ") + "; true"}
		}, true},
		{"another command in the root", true, false, func(svc *runtime.Service) []string { return []string{testsvc, "--print", "other"} }, false},
		{"the service's command elsewhere", false, false, func(svc *runtime.Service) []string { return svc.Argv }, false},
		{"an unrelated process (a copied or touched PID file)", false, false, func(svc *runtime.Service) []string { return []string{testsvc} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := service(t, "x", "--tcp", "127.0.0.1:0")
			dir := t.TempDir()
			if tc.inRoot {
				dir = svc.Root
			}
			c := startIn(t, dir, tc.argv(svc)...)
			pid := c.Process.Pid
			if tc.shell {
				// The shell's child must run the command before it can be
				// seen: a child listed between its fork and its exec is
				// still a shell.
				eventually(t, "the shell's child running the command", func() bool {
					out, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
					for _, child := range strings.Fields(string(out)) {
						if argv, _ := os.ReadFile("/proc/" + child + "/cmdline"); strings.HasPrefix(string(argv), testsvc+"\x00") {
							return true
						}
					}
					return false
				})
			}
			path := writePIDFile(t, svc, fmt.Sprintf("%d\n", pid))
			st, err := r.Inspect(ctx, svc)
			if err != nil {
				t.Fatal(err)
			}
			if st.IsRunning() != tc.wantRunning {
				t.Fatalf("running %v, want %v (%+v)", st.IsRunning(), tc.wantRunning, st)
			}
			if tc.wantRunning {
				if err := r.Stop(ctx, svc, *st.Handle, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second, Kill: true}); err != nil {
					t.Fatal(err)
				}
				eventually(t, "the service's end", func() bool { return !psAlive(pid) })
				return
			}
			if st.Warning == "" || !strings.Contains(st.Warning, strconv.Itoa(pid)) {
				t.Errorf("no warning naming PID %d: %+v", pid, st)
			}
			// Even a stop given the record as a handle signals nothing.
			h := runtime.Handle{Service: "x", PID: pid, PGID: pid}
			if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true}); err != nil {
				t.Fatal(err)
			}
			if !psAlive(pid) {
				t.Fatalf("stop signalled process %d, which is not the service's", pid)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("untrusted PID file kept: %v", err)
			}
		})
	}
}

// A berth PID file belongs to one environment and one launch: a copy of the
// environment (cp -a) sees the original's service Stopped and never
// signals it; a moved environment keeps its services.
func TestCopiedEnvironment(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	svc := service(t, "orig")
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	copyRoot := filepath.Join(t.TempDir(), "env2")
	if out, err := exec.Command("cp", "-a", svc.Root, copyRoot).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	cp := *svc
	cp.Root, cp.Dir, cp.StateDir = copyRoot, copyRoot, filepath.Join(copyRoot, "pids")
	st, err := r.Inspect(ctx, &cp)
	if err != nil {
		t.Fatal(err)
	}
	if st.IsRunning() || !strings.Contains(st.Warning, svc.Root) {
		t.Fatalf("the copy sees the original's service as %+v", st)
	}
	copied, _ := os.ReadFile(filepath.Join(copyRoot, "pids", "orig.pid"))
	var rec runtime.Handle = h
	if !strings.Contains(string(copied), h.Token) {
		t.Fatalf("copied PID file %q lacks the token", copied)
	}
	if err := r.Stop(ctx, &cp, rec, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true}); err != nil {
		t.Fatal(err)
	}
	if !psAlive(h.PID) {
		t.Fatal("a stop in the copy killed the original's service")
	}
	if st, _ := r.Inspect(ctx, svc); !st.IsRunning() {
		t.Fatalf("the original lost its service: %+v", st)
	}
	// A move within the file system keeps the environment's identity.
	moved := filepath.Join(filepath.Dir(svc.Root), "moved")
	if err := os.Rename(svc.Root, moved); err != nil {
		t.Fatal(err)
	}
	mv := *svc
	mv.Root, mv.Dir, mv.StateDir = moved, moved, filepath.Join(moved, "pids")
	t.Cleanup(func() { stopQuietly(&mv) })
	st, err = r.Inspect(ctx, &mv)
	if err != nil || !st.IsRunning() {
		t.Fatalf("after a move: %+v, %v", st, err)
	}
	if err := r.Stop(ctx, &mv, *st.Handle, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if psAlive(h.PID) {
		t.Fatal("stop after a move left the service running")
	}
}

// A service whose leader exits on TERM while its child ignores it is not
// stopped: stop names the survivor, status still shows it running, the
// record stays, and --force kills it though the leader is gone.
func TestStopWaitsForMembersThatOutliveLeader(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	childFile := filepath.Join(t.TempDir(), "child.pid")
	svc := service(t, "stubborn", "--fork", "--child-ignore-term", "--child-pid-file", childFile)
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	child := readPID(t, childFile)
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	eventually(t, "the child to ignore TERM", func() bool { return ignoresTerm(child) })
	err = r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 300 * time.Millisecond})
	var te *runtime.StopTimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), strconv.Itoa(child)) {
		t.Fatalf("stop = %v, want a timeout naming PID %d", err, child)
	}
	eventually(t, "the leader's exit", func() bool { return !psAlive(h.PID) })
	if _, err := os.Stat(filepath.Join(svc.StateDir, "stubborn.pid")); err != nil {
		t.Fatalf("the PID file went while a process of the service runs: %v", err)
	}
	st, err := r.Inspect(ctx, svc)
	if err != nil || !st.IsRunning() || st.PID != child {
		t.Fatalf("status with the child alive = %+v, %v; want running (PID %d)", st, err, child)
	}
	if err := r.Stop(ctx, svc, *st.Handle, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 300 * time.Millisecond, Kill: true}); err != nil {
		t.Fatal(err)
	}
	if psAlive(child) {
		t.Fatal("stop --force left the child running")
	}
	if st, _ := r.Inspect(ctx, svc); st.IsRunning() || st.Handle != nil {
		t.Fatalf("after the stop: %+v", st)
	}
}

// A grandchild that left the service's group (setsid) is found by the
// launch token it inherited, and stopped with the service.
func TestStopReachesSetsidGrandchild(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	childFile := filepath.Join(t.TempDir(), "child.pid")
	svc := service(t, "escaper", "--fork", "--child-setsid", "--child-pid-file", childFile)
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	child := readPID(t, childFile)
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if psAlive(child) {
		t.Fatalf("the setsid grandchild %d survived the stop", child)
	}
}

// A PID file berth cannot read is not a stopped service: status warns,
// and start refuses, naming the file, while the service's processes run.
func TestGarbagePIDFileRefusesStart(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	svc := service(t, "twin")
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	path := writePIDFile(t, svc, "garbage\x00\x01")
	st, err := r.Inspect(ctx, svc)
	if err != nil || st.IsRunning() || !strings.Contains(st.Warning, path) {
		t.Fatalf("status of a garbage PID file = %+v, %v; want a warning naming %s", st, err, path)
	}
	if h2, err := r.Start(ctx, svc); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), strconv.Itoa(h.PID)) {
		if err == nil {
			syscall.Kill(-h2.PID, syscall.SIGKILL)
		}
		t.Fatalf("start over a garbage PID file with the service running = %v", err)
	}
	syscall.Kill(-h.PGID, syscall.SIGKILL)
	eventually(t, "the first copy's end", func() bool { return !psAlive(h.PID) })
	h2, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatalf("start once the service is gone: %v", err)
	}
	r.Stop(ctx, svc, h2, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true})
}

// The last lines of a service that ended are in its log once Wait returns:
// the runner waits for its log writer to drain.
func TestWaitDrainsTheLog(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	for i := range 20 {
		svc := service(t, "brief", "--print", fmt.Sprintf("run-%d", i), "--exit", "3")
		h, err := r.Start(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		exit, err := r.Wait(ctx, h)
		if err != nil || exit.Code != 3 {
			t.Fatalf("wait = %+v, %v", exit, err)
		}
		b, _ := os.ReadFile(svc.Log.Path)
		if !strings.Contains(string(b), fmt.Sprintf("run-%d", i)) {
			t.Fatalf("run %d: the log holds %q once Wait returned", i, b)
		}
	}
}

// The PID file is written before the service runs: a launch cut short
// after the service started but before its PID was recorded leaves a
// pending record (the launch token, no PID). A later berth finds the
// service by its token, shows it running and stops it; a pending record
// whose service never ran is simply stopped.
func TestLaunchCutShortIsFoundByItsToken(t *testing.T) {
	ctx := context.Background()
	svc := service(t, "cut")
	h, err := newRunner().Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(h.PID, syscall.SIGKILL) })
	pending := h
	pending.PID, pending.PGID, pending.StartTime = 0, 0, 0
	data, _ := json.Marshal(pending)
	path := writePIDFile(t, svc, string(data))

	r := newRunner() // a later berth
	st, err := r.Inspect(ctx, svc)
	if err != nil || !st.IsRunning() || st.PID != h.PID {
		t.Fatalf("status over a pending record with its service running = %+v, %v; want Running, PID %d", st, err, h.PID)
	}
	if err := r.Stop(ctx, svc, *st.Handle, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if psAlive(h.PID) {
		t.Fatalf("the service %d survived the stop", h.PID)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the pending record is left after the stop: %v", err)
	}

	writePIDFile(t, svc, string(data)) // a launch cut short before the service ran
	if st, err := r.Inspect(ctx, svc); err != nil || st.IsRunning() || st.Warning != "" {
		t.Fatalf("status over a pending record with nothing running = %+v, %v; want Stopped", st, err)
	}
	h2, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatalf("start over a pending record with nothing running: %v", err)
	}
	r.Stop(ctx, svc, h2, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true})
}

// A berth killed between fork and exec leaves a pending record and a child
// that carries the launch token only once its exec is done. A later berth
// that inspects (or stops) it in that moment must not take the record for a
// launch that never ran: the child here takes the token 200 ms after the
// record was written, and status must still find it.
func TestPendingRecordOfALaunchStillCompleting(t *testing.T) {
	ctx := context.Background()
	svc := service(t, "late")
	r := newRunner()
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true}); err != nil {
		t.Fatal(err)
	}
	pending := h
	pending.PID, pending.PGID, pending.StartTime = 0, 0, 0
	pending.StartedAt = time.Now().UTC()
	data, _ := json.Marshal(pending)
	writePIDFile(t, svc, string(data))
	c := exec.Command("sh", "-c", `sleep 0.2; exec env "BERTH_LAUNCH=$1" sleep 30`, "sh", h.Token)
	c.Dir, c.Env = svc.Dir, []string{"PATH=/usr/bin:/bin"}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	st, err := newRunner().Inspect(ctx, svc)
	if err != nil || !st.IsRunning() || st.PID != c.Process.Pid {
		t.Fatalf("status over a pending record whose launch completes 200 ms later = %+v, %v; want Running, PID %d", st, err, c.Process.Pid)
	}
}
