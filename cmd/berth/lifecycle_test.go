package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/berthdev/berth/hack/testkit"
)

// lifecycleEnv makes an environment whose services run testsvc.
func lifecycleEnv(t *testing.T, services ...[2]string) string {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\nservices:\n")
	for _, s := range services {
		fmt.Fprintf(&b, "  %s:\n    command: [%q%s]\n", s[0], testsvcBin, s[1])
	}
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	stopAllAtCleanup(t, root)
	return root
}

// berthEnv runs berth on the environment at root; stdout and stderr together.
func berthEnv(t *testing.T, root string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(berthBin, append([]string{"--env", root}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// psServicePIDs lists the live service processes running in root, as ps
// sees them, in PID order.
func psServicePIDs(root string) []int {
	out, _ := exec.Command("ps", "-eo", "pid=,stat=,args=").Output()
	var pids []int
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(f[1], "Z") || f[2] != testsvcBin {
			continue
		}
		if wd, _ := os.Readlink("/proc/" + f[0] + "/cwd"); wd == root {
			pid, _ := strconv.Atoi(f[0])
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

// psServices counts live service processes running in root, as ps sees them.
func psServices(root string) int { return len(psServicePIDs(root)) }

// statusPIDs are the PIDs status shows running, in PID order.
func statusPIDs(out string) []int {
	var pids []int
	for _, m := range regexp.MustCompile(`: Running \(PID (\d+)\)`).FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// steadyWait bounds checkAgree's wait for a reading of status during which
// nothing changed. On a steady system the first reading serves. What
// changes on its own in these tests is a launch a killed berth had begun:
// its child, between fork and exec when berth died, becomes the service
// moments later (a supervisor's launch, likewise, outlives the berth that
// asked for it). Moments on an idle machine; the bound is for a loaded one.
const steadyWait = 10 * time.Second

// checkAgree asserts that status shows running exactly the processes ps
// sees, and returns status's output. ps is read before and after status:
// a reading is trusted only when ps saw the same processes both times, so
// a service that came up while status ran is read again rather than taken
// for a disagreement. A disagreement on a steady system fails at once.
func checkAgree(t *testing.T, root string) string {
	t.Helper()
	var out string
	var code int
	var ps []int
	if err := testkit.Poll(steadyWait, func() error {
		before := psServicePIDs(root)
		out, code = berthEnv(t, root, "status")
		if ps = psServicePIDs(root); !slices.Equal(before, ps) {
			return fmt.Errorf("ps saw %v, then %v, while status ran", before, ps)
		}
		return nil
	}); err != nil {
		t.Fatalf("no steady reading of status: %v", err)
	}
	if code != 0 {
		t.Fatalf("status: %d %s", code, out)
	}
	if running := statusPIDs(out); !slices.Equal(running, ps) {
		t.Fatalf("status shows running %v, ps %v:\n%s", running, ps, out)
	}
	return out
}

func TestCLIStatusStartStop(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ", --ignore-term"})
	if out := checkAgree(t, root); out != "core: Stopped\ngateway: Stopped\n" {
		t.Fatalf("status:\n%s", out)
	}
	out, code := berthEnv(t, root, "start", "gateway")
	if code != 0 || !strings.Contains(out, "gateway  running") {
		t.Fatalf("start: %d\n%s", code, out)
	}
	out = checkAgree(t, root)
	var pid int
	if _, err := fmt.Sscanf(strings.Split(out, "\n")[1], "gateway: Running (PID %d)", &pid); err != nil || pid == 0 {
		t.Fatalf("status line %q: %v", out, err)
	}
	if out, code := berthEnv(t, root, "start", "gateway"); code != 1 || !strings.Contains(out, fmt.Sprintf("gateway is already running (PID %d)", pid)) {
		t.Fatalf("second start: %d %s", code, out)
	}
	if out, code := berthEnv(t, root, "start", "all", "--foreground"); code != 2 {
		t.Fatalf("--foreground with all: %d %s", code, out)
	}
	out, code = berthEnv(t, root, "stop", "all", "--timeout", "100ms")
	if code != 1 || !strings.Contains(out, "core: Stopped") || !strings.Contains(out, "failed to stop 'gateway': the process did not exit within 100ms after TERM") {
		t.Fatalf("stop all: %d\n%s", code, out)
	}
	checkAgree(t, root)
	if out, code := berthEnv(t, root, "stop", "gateway", "--force", "--timeout", "100ms"); code != 0 || out != "gateway: Stopped\n" {
		t.Fatalf("stop --force: %d %s", code, out)
	}
	if out := checkAgree(t, root); out != "core: Stopped\ngateway: Stopped\n" {
		t.Fatalf("status:\n%s", out)
	}
	if out, _ := berthEnv(t, root, "status", "-o", "json"); !strings.Contains(out, `"state": "stopped"`) || !strings.Contains(out, `"runner": "process"`) {
		t.Fatalf("status -o json:\n%s", out)
	}
}

func TestCLIForegroundPTY(t *testing.T) {
	tests := []struct {
		name     string
		args     string
		interupt bool
		input    string // typed at the terminal after ready
		wantCode int
	}{
		{"exit code passed through", `, --print, hi, --exit, "7"`, false, "", 7},
		{"ctrl-c forwarded", "", true, "", 130},
		{"the service reads the terminal", ", --echo-stdin", false, "hello\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := lifecycleEnv(t, [2]string{"fg", tc.args})
			cmd := exec.Command(berthBin, "--env", root, "start", "fg", "--foreground")
			tty, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer tty.Close()
			lines := make(chan string, 16)
			go func() {
				sc := bufio.NewScanner(tty)
				for sc.Scan() {
					lines <- strings.TrimSpace(sc.Text())
				}
				close(lines)
			}()
			if tc.interupt {
				waitLine(t, lines, "ready")
				if out := checkAgree(t, root); !strings.Contains(out, "fg: Running (PID ") {
					t.Fatalf("status elsewhere during foreground:\n%s", out)
				}
				tty.Write([]byte{3}) // ^C from the terminal reaches berth
			} else if tc.input != "" {
				// A debugger's prompt: the service owns the terminal while it
				// runs, so reading it does not stop it with SIGTTIN.
				waitLine(t, lines, "ready")
				tty.Write([]byte(tc.input))
				waitLine(t, lines, "got "+strings.TrimSpace(tc.input))
			} else {
				waitLine(t, lines, "hi")
			}
			err = cmd.Wait()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != tc.wantCode {
				t.Fatalf("berth exited %d, want %d", code, tc.wantCode)
			}
			if _, err := os.Stat(filepath.Join(root, "pids", "fg.pid")); !os.IsNotExist(err) {
				t.Fatalf("PID file left after the foreground run")
			}
			checkAgree(t, root)
		})
	}
}

func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if l == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within 10s", want)
		}
	}
}

// A berth killed with SIGKILL at any instant of a start never leaves a
// service running that status does not report.
func TestCLIKilledMidStart(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"a", ""}, [2]string{"b", ""}, [2]string{"c", ""})
	for i := range 12 {
		cmd := exec.Command(berthBin, "--env", root, "start", "all")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Spread the kill over berth's whole run (about 10-30 ms before the start check).
		time.AfterFunc(time.Duration(rand.IntN(30000))*time.Microsecond, func() { cmd.Process.Kill() })
		cmd.Wait()
		checkAgree(t, root)
		if i%3 == 2 {
			if out, code := berthEnv(t, root, "stop", "all"); code != 0 {
				t.Fatalf("stop all: %s", out)
			}
			checkAgree(t, root)
		}
	}
}

// With its Docker daemon out of reach, a container service is Unknown, the
// host processes are reported as ever, and status exits 1 saying why.
func TestCLIStatusWithoutDaemon(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"proc", ""})
	f, err := os.OpenFile(filepath.Join(root, "berth.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("  box:\n    runner: container\n    container: {image: nothing:here}\n")
	f.Close()
	if out, code := berthEnv(t, root, "start", "proc"); code != 0 {
		t.Fatalf("start proc: %s", out)
	}
	cmd := exec.Command(berthBin, "--env", root, "status")
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+filepath.Join(t.TempDir(), "missing.sock"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("status: %v; want exit 1", err)
	}
	if !regexp.MustCompile(`^proc: Running \(PID \d+\)\nbox: Unknown\n$`).MatchString(stdout.String()) {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "Error: inspect box: cannot reach the Docker daemon at unix://") {
		t.Errorf("stderr: %s", stderr.String())
	}
}
