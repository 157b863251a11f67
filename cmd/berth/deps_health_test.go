package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// yamlEnvCLI makes an environment from a manifest where TESTSVC is the
// helper program and ADDR1, ADDR2 are free local addresses.
func yamlEnvCLI(t *testing.T, manifest string) string {
	t.Helper()
	root := t.TempDir()
	manifest = strings.ReplaceAll(manifest, "TESTSVC", testsvcBin)
	for _, k := range []string{"ADDR1", "ADDR2"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		manifest = strings.ReplaceAll(manifest, k, ln.Addr().String())
		ln.Close()
	}
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	stopAllAtCleanup(t, root, "--yes")
	return root
}

const cliManifest = `version: 1
services:
  db:
    command: [TESTSVC, --tcp, ADDR1]
    health: {type: tcp, address: ADDR1}
    critical: true
  api:
    command: [TESTSVC]
    depends_on: {db: {condition: healthy}}
    health: {type: tcp, address: ADDR2, retries: 1}
    start_timeout: 200ms
  web:
    command: [TESTSVC]
`

func TestCLIHealthDepsStatusWide(t *testing.T) {
	root := yamlEnvCLI(t, cliManifest)
	if out, code := berthEnv(t, root, "health"); code != 0 || out != "db: not running\napi: not running\nweb: not running\n0 healthy, 0 unhealthy, 3 not running\n" {
		t.Fatalf("health with nothing running: %d\n%s", code, out)
	}
	out, code := berthEnv(t, root, "start", "api")
	if code != 1 || !strings.Contains(out, "starting dependency db") || !strings.Contains(out, "api did not become healthy within") || !strings.Contains(out, "api was left running") {
		t.Fatalf("start api: %d\n%s", code, out)
	}
	berthEnv(t, root, "start", "web")
	out, code = berthEnv(t, root, "health")
	for _, want := range []string{"db: healthy (tcp ", "api: unhealthy (tcp ", "connection refused)", "web: running (no health check)", "1 healthy, 1 unhealthy, 0 not running, 1 without a check", "Error: unhealthy: api"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("health: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	out, code = berthEnv(t, root, "health", "db", "-o", "json")
	var rep struct {
		Services []struct{ Service, State string }
		Summary  struct{ Healthy int }
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Services) != 1 || rep.Services[0].State != "healthy" || rep.Summary.Healthy != 1 {
		t.Fatalf("health db -o json: %d %s", code, out)
	}
	// Default status lines are unchanged; wide adds health.
	out = checkAgree(t, root)
	if !strings.HasPrefix(out, "db: Running (PID ") || strings.Contains(out, "health") {
		t.Fatalf("status:\n%s", out)
	}
	out, _ = berthEnv(t, root, "status", "-o", "wide")
	if !strings.Contains(out, "HEALTH") || !strings.Contains(out, "healthy (tcp") || !strings.Contains(out, "unhealthy") || !strings.Contains(out, "no check") {
		t.Fatalf("status -o wide:\n%s", out)
	}
	out, _ = berthEnv(t, root, "status", "-o", "json")
	if !strings.Contains(out, `"health": "healthy"`) || !strings.Contains(out, `"health_detail": "tcp `) {
		t.Fatalf("status -o json:\n%s", out)
	}
	out, code = berthEnv(t, root, "deps", "db", "-o", "json")
	var one struct {
		Needs    []any
		NeededBy []struct{ Service, Condition string } `json:"needed_by"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &one) != nil || len(one.Needs) != 0 || len(one.NeededBy) != 1 || one.NeededBy[0].Service != "api" || one.NeededBy[0].Condition != "healthy" {
		t.Fatalf("deps db -o json: %d %s", code, out)
	}
	if out, _ := berthEnv(t, root, "deps"); out != "api\n└── db (healthy)\nweb\n" {
		t.Fatalf("deps:\n%s", out)
	}
	// Refusals: dependents, and a critical service without a terminal.
	if out, code := berthEnv(t, root, "stop", "db", "--yes"); code != 1 || !strings.Contains(out, "cannot stop db: running services depend on it: api") {
		t.Fatalf("stop db: %d %s", code, out)
	}
	if out, code := berthEnv(t, root, "stop", "db", "--with-dependents"); code != 1 || !strings.Contains(out, "db is critical") || !strings.Contains(out, "pass --yes") {
		t.Fatalf("stop critical db without a terminal: %d %s", code, out)
	}
	if out := checkAgree(t, root); strings.Count(out, "Running") != 3 {
		t.Fatalf("a refused stop stopped something:\n%s", out)
	}
	if out, code := berthEnv(t, root, "start", "web", "--parallel", "0"); code != 2 {
		t.Fatalf("--parallel 0: %d %s", code, out)
	}
}

// The confirmation of a critical service is asked on the terminal.
func TestCLIConfirmCriticalPTY(t *testing.T) {
	for _, tc := range []struct {
		answer  string
		code    int
		stopped bool
	}{{"y", 0, true}, {"n", 1, false}, {"", 1, false}} {
		t.Run("answer "+tc.answer, func(t *testing.T) {
			root := yamlEnvCLI(t, cliManifest)
			if out, code := berthEnv(t, root, "start", "db", "web"); code != 0 {
				t.Fatalf("start: %s", out)
			}
			cmd := exec.Command(berthBin, "--env", root, "stop", "db")
			tty, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer tty.Close()
			prompt := "Stop db? This affects: no other service [y/N] "
			buf := make([]byte, 0, 256)
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(string(buf), prompt) {
				if time.Now().After(deadline) {
					t.Fatalf("no prompt; got %q", buf)
				}
				b := make([]byte, 128)
				n, err := tty.Read(b)
				if err != nil {
					t.Fatalf("read: %v (got %q)", err, buf)
				}
				buf = append(buf, b[:n]...)
			}
			tty.Write([]byte(tc.answer + "\r"))
			go io.Copy(io.Discard, tty)
			err = cmd.Wait()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			out := checkAgree(t, root)
			if strings.Contains(out, "db: Stopped") != tc.stopped {
				t.Fatalf("answer %q: status\n%s", tc.answer, out)
			}
		})
	}
}

// health --watch prints a timestamped line per change and ends cleanly on
// an interrupt.
func TestCLIHealthWatch(t *testing.T) {
	root := yamlEnvCLI(t, cliManifest)
	berthEnv(t, root, "start", "db")
	cmd := exec.Command(berthBin, "--env", root, "health", "db", "--watch", "--interval", "50ms")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 8)
	go func() {
		b := make([]byte, 4096)
		var acc string
		for {
			n, err := stdout.Read(b)
			acc += string(b[:n])
			for strings.Contains(acc, "\n") {
				i := strings.Index(acc, "\n")
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no change printed within 10s")
		}
		return ""
	}
	if l := next(); !strings.Contains(l, " db: healthy (tcp ") || len(l) < 20 || l[4] != '-' || l[13] != ':' {
		t.Fatalf("first line %q", l)
	}
	berthEnv(t, root, "stop", "db", "--yes")
	if l := next(); !strings.HasSuffix(l, " db: not running") {
		t.Fatalf("after stop: %q", l)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("--watch after an interrupt: %v", err)
	}
}

// TestHealthSymbolsOnlyOnATerminal: symbols on a terminal, plain words in a
// pipe or with NO_COLOR.
func TestHealthSymbolsOnlyOnATerminal(t *testing.T) {
	root := yamlEnvCLI(t, cliManifest)
	onPTY := func(env ...string) string {
		t.Helper()
		cmd := exec.Command(berthBin, "--env", root, "health")
		cmd.Env = append(os.Environ(), env...)
		tty, err := pty.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		defer tty.Close()
		out, _ := io.ReadAll(tty) // EIO once berth has exited
		cmd.Wait()
		return string(out)
	}
	if out := onPTY("NO_COLOR="); !strings.Contains(out, "⚪ db: not running") {
		t.Errorf("on a terminal: %q", out)
	}
	if out := onPTY("NO_COLOR=1"); !strings.Contains(out, "db: not running") || strings.Contains(out, "⚪") {
		t.Errorf("with NO_COLOR: %q", out)
	}
	if out, _ := berthEnv(t, root, "health"); strings.Contains(out, "⚪") || !strings.HasPrefix(out, "db: not running\n") {
		t.Errorf("in a pipe: %q", out)
	}
}
