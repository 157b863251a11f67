package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/berthdev/berth/hack/testkit"
)

func TestExecOnHostUsesTheServiceEnvironment(t *testing.T) {
	root := yamlEnvCLI(t, `version: 1
services:
  core:
    command: [TESTSVC]
    dir: work
    env: {CORE_MODE: debug}
`)
	os.MkdirAll(filepath.Join(root, "work"), 0o755)
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("FROM_DOTENV=yes\n"), 0o644)
	out, code := berthEnv(t, root, "exec", "core", "--", "sh", "-c", `echo "$CORE_MODE $FROM_DOTENV $(pwd)"; exit 4`)
	if code != 4 || out != "debug yes "+filepath.Join(root, "work")+"\n" {
		t.Fatalf("exec core: %d %q", code, out)
	}
	// Flags after SERVICE are the command's, with or without --.
	if out, code := berthEnv(t, root, "exec", "core", "sh", "-c", "echo -n x"); code != 0 || out != "x" {
		t.Fatalf("exec without --: %d %q", code, out)
	}
	if out, code := berthEnv(t, root, "exec", "core", "--", "no-such-program-berth"); code != 1 || !strings.Contains(out, "not found in the service's PATH") {
		t.Fatalf("missing program: %d %q", code, out)
	}
	if out, code := berthEnv(t, root, "exec", "cor", "--", "true"); code != 1 || !strings.Contains(out, `did you mean "core"?`) {
		t.Fatalf("unknown service: %d %q", code, out)
	}
	if out, code := berthEnv(t, root, "exec", "core"); code != 2 {
		t.Fatalf("no command: %d %q", code, out)
	}
}

func TestExecInAContainer(t *testing.T) {
	_, tag := testImage(t)
	root := t.TempDir()
	name := uniqueEnvName("bex")
	manifest := fmt.Sprintf("version: 1\nservices:\n  box:\n    runner: container\n    command: [--tick, 1h]\n    container: {image: %s}\n", tag)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_name="+name+"\nenvironment_root="+root+"\n"), 0o644)
	stopAllAtCleanup(t, root)
	if out, code := berthEnv(t, root, "exec", "box", "--", "/testsvc", "--exit", "0"); code != 1 || !strings.Contains(out, "box is not running: start it with berth start box") {
		t.Fatalf("exec in a stopped container: %d %s", code, out)
	}
	if out, code := berthEnv(t, root, "start", "box"); code != 0 {
		t.Fatalf("start: %d %s", code, out)
	}
	// Exit code and output, without a terminal.
	if out, code := berthEnv(t, root, "exec", "box", "--", "/testsvc", "--print", "inside", "--exit", "6"); code != 6 || !strings.Contains(out, "inside") {
		t.Fatalf("exec: %d %q", code, out)
	}
	if out, code := berthEnv(t, root, "exec", "box", "--", "/testsvc", "--print-tty", "--exit", "0"); code != 0 || !strings.Contains(out, "tty: false") {
		t.Fatalf("exec without a terminal: %d %q", code, out)
	}
	// With a terminal: the command gets one (testsvc says so) and stdin.
	cmd := exec.Command(berthBin, "--env", root, "exec", "box", "--", "/testsvc", "--print-tty", "--echo-stdin")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out := newSyncBuffer()
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := tty.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string) {
		t.Helper()
		if testkit.Poll(15*time.Second, func() error {
			if !strings.Contains(out.String(), s) {
				return os.ErrNotExist
			}
			return nil
		}) != nil {
			t.Fatalf("no %q on the terminal:\n%s", s, out.String())
		}
	}
	waitFor("tty: true")
	tty.Write([]byte("hello\r"))
	waitFor("got hello")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exec on a terminal: %v\n%s", err, out.String())
	}
}
