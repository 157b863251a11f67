package process_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
	"github.com/berthdev/berth/runtime/runnertest"
)

var testsvc string

const logPipeArg = "berth-test-logpipe"

func TestMain(m *testing.M) {
	// The test binary doubles as the log writer, as berth does.
	if len(os.Args) > 1 && os.Args[1] == logPipeArg {
		var path string
		var size int64
		var files int
		for i := 2; i+1 < len(os.Args); i += 2 {
			switch os.Args[i] {
			case "--path":
				path = os.Args[i+1]
			case "--max-size":
				size, _ = strconv.ParseInt(os.Args[i+1], 10, 64)
			case "--max-files":
				files, _ = strconv.Atoi(os.Args[i+1])
			}
		}
		if err := process.LogPipe(os.Stdin, path, size, files); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(reaperHelperVar) != "" {
		os.Exit(reaperHelper())
	}
	if path := os.Getenv(nsHelperVar); path != "" {
		os.Exit(nsHelper(path))
	}
	os.Exit(runnertest.WithTestsvc(&testsvc, m.Run))
}

func newRunner() *process.Runner {
	return process.New(process.Options{LogPipe: []string{os.Args[0], logPipeArg}})
}

func service(t *testing.T, name string, args ...string) *runtime.Service {
	dir := t.TempDir()
	svc := &runtime.Service{
		Name: name, Runner: metadata.RunnerProcess,
		Argv: append([]string{testsvc}, args...), Env: os.Environ(), Dir: dir,
		StopSignal: syscall.SIGTERM, StopGrace: 5 * time.Second,
		StateDir: filepath.Join(dir, "pids"), Root: dir,
		Log: runtime.LogSpec{To: metadata.LogFile, Path: filepath.Join(dir, "logs", name, "service.log")},
	}
	t.Cleanup(func() { stopQuietly(svc) })
	return svc
}

// stopQuietly kills whatever a failed test left running.
func stopQuietly(svc *runtime.Service) {
	r := process.New(process.Options{})
	st, _ := r.Inspect(context.Background(), svc)
	if st.IsRunning() {
		r.Stop(context.Background(), svc, *st.Handle, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true})
	}
}

func TestConformance(t *testing.T) {
	var n atomic.Int32
	runnertest.Run(t, runnertest.Harness{
		New: func(*testing.T) runtime.Runner { return newRunner() },
		Service: func(t *testing.T, b runnertest.Behaviour) *runtime.Service {
			return service(t, fmt.Sprintf("svc%d", n.Add(1)), b.Args()...)
		},
	})
}

// psPGID reads a process's group from ps, an independent view.
func psAlive(pid int) bool {
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	return err == nil && len(out) > 0 && !strings.HasPrefix(strings.TrimSpace(string(out)), "Z")
}

func TestStopKillsGrandchild(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	childFile := filepath.Join(t.TempDir(), "child.pid")
	svc := service(t, "forker", "--fork", "--child-pid-file", childFile)
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	testkit.Eventually(t, 5*time.Second, func() error {
		b, _ := os.ReadFile(childFile)
		if child, _ = strconv.Atoi(string(b)); child == 0 {
			return fmt.Errorf("the grandchild wrote no PID to %s", childFile)
		}
		return nil
	})
	if !psAlive(child) {
		t.Fatalf("grandchild %d is not alive", child)
	}
	if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if psAlive(child) || psAlive(h.PID) {
		t.Fatalf("after stop: service alive %v, grandchild alive %v", psAlive(h.PID), psAlive(child))
	}
}

// startUnrelated starts a process berth did not start.
func startUnrelated(t *testing.T) *exec.Cmd {
	c := exec.Command(testsvc)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	return c
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "service.log")
	w := &process.RotatingWriter{Path: path, MaxSize: 10, MaxFiles: 2}
	for i := range 5 {
		if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	want := map[string]string{"service.log": "line 4\n", "service.log.1": "line 3\n", "service.log.2": "line 2\n"}
	for name, content := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != content {
			t.Errorf("%s = %q, %v; want %q", name, b, err, content)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("service.log.3 exists beyond max_files")
	}
}

func TestLogPipeRotatesWhileRunning(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	var args []string
	for i := range 20 {
		args = append(args, "--print", fmt.Sprintf("line-%02d", i))
	}
	svc := service(t, "chatty", append(args, "--exit", "0")...)
	svc.Log.MaxSize, svc.Log.MaxFiles = 32, 3
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	r.Wait(ctx, h)
	testkit.Eventually(t, 5*time.Second, func() error {
		if b, _ := os.ReadFile(svc.Log.Path); !strings.Contains(string(b), "ready") && !strings.Contains(string(b), "line-19") {
			return fmt.Errorf("log never got line-19: %q", b)
		}
		return nil
	})
	for _, suffix := range []string{"", ".1", ".2", ".3"} {
		fi, err := os.Stat(svc.Log.Path + suffix)
		if err != nil {
			t.Fatalf("missing %s: %v", suffix, err)
		}
		if fi.Size() > 32 {
			t.Errorf("service.log%s is %d bytes, over max_size 32", suffix, fi.Size())
		}
	}
}

// A launch whose output is discarded gets /dev/null as stdin, read-only,
// and as stdout and stderr, write-only, and each launch the same: the
// runner keeps one /dev/null per direction for all its launches, and
// none is closed under a later launch.
func TestDiscardedOutputIsDevNull(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	for i := range 3 {
		svc := service(t, fmt.Sprintf("null%d", i), "--tcp", "127.0.0.1:0")
		svc.Log = runtime.LogSpec{To: metadata.LogDiscard}
		h, err := r.Start(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		for fd, want := range map[int]int{0: os.O_RDONLY, 1: os.O_WRONLY, 2: os.O_WRONLY} {
			dir := fmt.Sprintf("/proc/%d", h.PID)
			if link, err := os.Readlink(fmt.Sprintf("%s/fd/%d", dir, fd)); err != nil || link != os.DevNull {
				t.Errorf("launch %d: fd %d is %q (%v), want %s", i, fd, link, err, os.DevNull)
			}
			info, _ := os.ReadFile(fmt.Sprintf("%s/fdinfo/%d", dir, fd))
			var flags int
			for line := range strings.Lines(string(info)) {
				if v, ok := strings.CutPrefix(line, "flags:"); ok {
					f, _ := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
					flags = int(f)
				}
			}
			if flags&(os.O_RDONLY|os.O_WRONLY|os.O_RDWR) != want {
				t.Errorf("launch %d: fd %d has flags %o, want access mode %o", i, fd, flags, want)
			}
		}
		if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
}
