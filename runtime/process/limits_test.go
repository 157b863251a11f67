package process_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

const nsHelperVar = "BERTH_TEST_PIDNS_TESTSVC"

// nsHelper runs as PID 1 of a private PID namespace: it leads its own
// group, as an init does, starts victims in it, and asks berth to treat a
// PID file holding 1 (and forged records naming group 1) as a service.
// Whatever berth does can only reach this namespace.
func nsHelper(testsvc string) int {
	if os.Getpid() != 1 {
		fmt.Println("helper is not PID 1")
		return 2
	}
	unix.Setsid()
	dir, err := os.MkdirTemp("", "pidns")
	if err != nil {
		fmt.Println(err)
		return 2
	}
	var victims []*exec.Cmd
	for _, own := range []bool{false, true} {
		c := exec.Command(testsvc)
		c.Dir = dir
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: own}
		if err := c.Start(); err != nil {
			fmt.Println(err)
			return 2
		}
		victims = append(victims, c)
	}
	svc := &runtime.Service{Name: "x", Runner: metadata.RunnerProcess, Argv: []string{testsvc},
		Dir: dir, Root: dir, StateDir: filepath.Join(dir, "pids"), StopSignal: syscall.SIGTERM}
	os.MkdirAll(svc.StateDir, 0o755)
	os.WriteFile(filepath.Join(svc.StateDir, "x.pid"), []byte("1\n"), 0o644)
	r := newRunner()
	ctx := context.Background()
	st, _ := r.Inspect(ctx, svc)
	if st.IsRunning() {
		fmt.Println("a PID file holding 1 counts as running")
	}
	var self struct{ start uint64 }
	if b, err := os.ReadFile("/proc/1/stat"); err == nil {
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		self.start, _ = strconv.ParseUint(f[19], 10, 64)
	}
	opts := runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 200 * time.Millisecond, Kill: true}
	if st.Handle != nil {
		r.Stop(ctx, svc, *st.Handle, opts)
	}
	r.Stop(ctx, svc, runtime.Handle{Service: "x", PID: 1, PGID: 1, StartTime: self.start}, opts)
	failed := false
	for _, v := range victims {
		if err := syscall.Kill(v.Process.Pid, 0); err != nil {
			fmt.Printf("victim %d was killed\n", v.Process.Pid)
			failed = true
		} else if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", v.Process.Pid)); strings.Contains(string(b), ") Z") {
			fmt.Printf("victim %d was killed\n", v.Process.Pid)
			failed = true
		}
	}
	if failed {
		return 1
	}
	fmt.Println("victims alive")
	return 0
}

// A PID file holding 1 inside a PID namespace, where PID 1 leads its group,
// must not make berth signal group 1 (kill(-1) ends every process there).
func TestNeverSignalsPID1InPIDNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a private PID namespace (unshare --pid) needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare is not installed")
	}
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0])
	cmd.Env = append(os.Environ(), nsHelperVar+"="+testsvc)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "victims alive") {
		t.Fatalf("in a private PID namespace: %v\n%s", err, out)
	}
}

// Whatever a record says, berth never signals its own process or group, a
// process of another user, or a process it cannot show is the service's.
func TestHardLimits(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	stat := func(pid int) (pgid int, start uint64) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		pgid, _ = strconv.Atoi(f[2])
		start, _ = strconv.ParseUint(f[19], 10, 64)
		return pgid, start
	}
	tests := []struct {
		name  string
		start func(t *testing.T, svc *runtime.Service) int
	}{
		{"a process in berth's own group running the service's command", func(t *testing.T, svc *runtime.Service) int {
			c := exec.Command(svc.Argv[0], svc.Argv[1:]...)
			c.Dir = svc.Root
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Process.Kill(); c.Wait() })
			return c.Process.Pid
		}},
		{"another user's process running the service's command", func(t *testing.T, svc *runtime.Service) int {
			if os.Geteuid() != 0 {
				t.Skip("starting another user's process needs root")
			}
			c := exec.Command("sleep", "1000")
			c.Dir = "/" // the environment is not open to that user
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			if err := c.Start(); err != nil {
				t.Skipf("cannot start a process as nobody: %v", err)
			}
			t.Cleanup(func() { c.Process.Kill(); c.Wait() })
			svc.Argv = []string{"sleep", "1000"}
			return c.Process.Pid
		}},
		{"berth itself", func(t *testing.T, svc *runtime.Service) int {
			svc.Argv = nil
			return os.Getpid()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := service(t, "x", "--print", "limits")
			pid := tc.start(t, svc)
			pgid, start := stat(pid)
			for _, h := range []runtime.Handle{
				{Service: "x", PID: pid},
				{Service: "x", PID: pid, PGID: pgid, StartTime: start},
				{Service: "x", PID: pid, PGID: pid, StartTime: start},
			} {
				data := fmt.Sprintf("%d\n", pid)
				if h.StartTime != 0 {
					data = fmt.Sprintf(`{"pid":%d,"pgid":%d,"start_time":%d}`, h.PID, h.PGID, h.StartTime)
				}
				writePIDFile(t, svc, data)
				if st, _ := r.Inspect(ctx, svc); st.IsRunning() {
					t.Errorf("record %s counts as running", data)
				}
				r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: 200 * time.Millisecond, Kill: true})
				if !psAlive(pid) {
					t.Fatalf("a stop of record %s killed process %d", data, pid)
				}
			}
		})
	}
}
