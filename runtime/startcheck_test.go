package runtime_test

import (
	"context"
	"errors"
	"net"
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

// A port held by another process is not the service's health: the start
// fails naming the holder, instead of reporting the service healthy until
// it dies on EADDRINUSE.
func TestPortSquatterIsNotHealth(t *testing.T) {
	ctx := context.Background()
	m := yamlEnv(t, `version: 1
services:
  web:
    command: [TESTSVC, --ready-after, 300ms, --tcp, ADDR1]
    health: {type: tcp, address: ADDR1}
    start_timeout: 10s
`)
	addr := m.Env.Manifest.Services["web"].Health.Address
	squatter := exec.Command(testsvc, "--tcp", addr)
	if err := squatter.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { squatter.Process.Kill(); squatter.Wait() })
	testkit.Eventually(t, 5*time.Second, func() error {
		if !listening(addr) {
			return errors.New("the squatter never listened")
		}
		return nil
	})
	_, err := m.Start(ctx, []string{"web"}, runtime.StartRequest{})
	if err == nil || !strings.Contains(err.Error(), "PID "+strconv.Itoa(squatter.Process.Pid)) {
		t.Fatalf("start with the port held by PID %d = %v; want a failure naming it", squatter.Process.Pid, err)
	}
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// A service that dies during the health wait fails with its exit code and
// its own last lines.
func TestDeathDuringHealthWait(t *testing.T) {
	ctx := context.Background()
	m := yamlEnv(t, `version: 1
services:
  flaky:
    command: [TESTSVC, --print, this-run, --die-after, 400ms]
    health: {type: tcp, address: ADDR1}
    start_timeout: 10s
    log: {to: file}
`)
	_, err := m.Start(ctx, []string{"flaky"}, runtime.StartRequest{})
	var sf *runtime.StartFailedError
	if !errors.As(err, &sf) || sf.Exit.Code != 5 || !strings.Contains(err.Error(), "dying") {
		t.Fatalf("err = %v; want the exit code 5 and the line it printed", err)
	}
}

// The lines shown when a start fails are this run's, not the last lines a
// previous run left in the log.
func TestStartFailureShowsThisRunsLines(t *testing.T) {
	ctx := context.Background()
	m := yamlEnv(t, `version: 1
services:
  quiet:
    command: [TESTSVC, --exit, "3"]
    start_check: 1m # until it exits, however late a loaded machine runs it
    log: {to: file}
`)
	m.StartCheck = 0 // the manifest's window, not the suite's short one
	path := filepath.Join(m.Env.Root, "logs", "quiet", "service.log")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte("previous-run-line\n"), 0o644)
	_, err := m.Start(ctx, []string{"quiet"}, runtime.StartRequest{})
	var sf *runtime.StartFailedError
	if !errors.As(err, &sf) || sf.Exit.Code != 3 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "previous-run-line") {
		t.Fatalf("the failure shows a previous run's lines: %v", err)
	}
}

// A grandchild that left the group and ignores TERM outlives its leader:
// stop names it, the record stays, and stop --force ends it though status
// can no longer see the service.
func TestStopForceEndsLeftoverOutsideGroup(t *testing.T) {
	ctx := context.Background()
	childFile := filepath.Join(t.TempDir(), "child.pid")
	m := yamlEnv(t, `version: 1
services:
  leaky:
    command: [TESTSVC, --fork, --child-setsid, --child-ignore-term, --child-pid-file, `+childFile+`]
`)
	if _, err := m.Start(ctx, []string{"leaky"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	var child int
	testkit.Eventually(t, 5*time.Second, func() error {
		b, _ := os.ReadFile(childFile)
		child, _ = strconv.Atoi(string(b))
		if child <= 0 || !ignoresTerm(child) {
			return errors.New("the grandchild never ignored TERM")
		}
		return nil
	})
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	_, err := m.Stop(ctx, []string{"leaky"}, runtime.StopRequest{Grace: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "PID "+strconv.Itoa(child)) {
		t.Fatalf("stop = %v; want a failure naming PID %d", err, child)
	}
	if _, err := os.Stat(filepath.Join(m.Env.Root, "pids", "leaky.pid")); err != nil {
		t.Fatalf("the record went while the grandchild runs: %v", err)
	}
	if _, err := m.Stop(ctx, []string{"leaky"}, runtime.StopRequest{Grace: 200 * time.Millisecond, Force: true}); err != nil {
		t.Fatal(err)
	}
	if syscall.Kill(child, 0) == nil {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat"); !strings.Contains(string(b), ") Z") {
			t.Fatal("stop --force left the grandchild running")
		}
	}
}

func ignoresTerm(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
			mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return mask&(1<<(uint(syscall.SIGTERM)-1)) != 0
		}
	}
	return false
}

// start_check sets the window in which an exit fails the start: a service
// that dies 600 ms after it started fails a start that watches it for 2 s
// (the default window would have missed it).
func TestStartCheckWindowFromManifest(t *testing.T) {
	m := yamlEnv(t, `version: 1
services:
  late:
    command: [TESTSVC, --die-after, 600ms]
    start_check: 2s
`)
	m.StartCheck = 0 // the manifest's window, not the suite's short one
	_, err := m.Start(context.Background(), []string{"late"}, runtime.StartRequest{})
	var sf *runtime.StartFailedError
	if !errors.As(err, &sf) || sf.Exit.Code != 5 {
		t.Fatalf("err = %v; want the start to fail with exit code 5", err)
	}
}

// The start check ends as soon as the service's health check passes: the
// service is up, and nothing is left to wait for.
func TestStartCheckEndsWhenHealthy(t *testing.T) {
	m := yamlEnv(t, `version: 1
services:
  web:
    command: [TESTSVC, --tcp, ADDR1]
    health: {type: tcp, address: ADDR1}
    start_check: 30s
`)
	m.StartCheck = 0
	t0 := time.Now()
	if _, err := m.Start(context.Background(), []string{"web"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Fatalf("start returned after %s: the 30 s window did not end when the health check passed", d)
	}
	if _, err := m.Stop(context.Background(), []string{"web"}, runtime.StopRequest{}); err != nil {
		t.Fatal(err)
	}
}
