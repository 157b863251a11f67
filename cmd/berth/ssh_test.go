package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
)

// TestCLIContainersOverSSH runs a container service on a host reached as
// ssh://root@127.0.0.1:PORT: a real sshd started by the test, whose
// `docker system dial-stdio` reaches the machine's own daemon.
func TestCLIContainersOverSSH(t *testing.T) {
	if _, err := os.Stat(engine.DefaultSocket); err != nil {
		t.Skip("skipping: docker run by sshd reaches " + engine.DefaultSocket + ", which is absent")
	}
	_, tag := testImage(t)
	sshd := imagetest.StartSSHD(t)
	t.Setenv(engine.SSHEnv, sshd.BerthSSH(sshd.Key))

	root := t.TempDir()
	name := uniqueEnvName("bssh")
	manifest := fmt.Sprintf(`version: 1
hosts:
  far:
    endpoint: %s
services:
  web:
    runner: container
    host: far
    command: [--print, over-ssh]
    container: {image: %s}
  once:
    runner: container
    host: far
    command: [--print, once-over-ssh, --exit, "3"]
    container: {image: %s}
`, sshd.Endpoint, tag, tag)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_name="+name+"\nenvironment_root="+root+"\n"), 0o644)
	t.Cleanup(func() {
		berthEnv(t, root, "stop", "all", "--force", "--timeout", "1s")
	})

	if out, code := berthEnv(t, root, "start", "web"); code != 0 {
		t.Fatalf("start web: %d\n%s", code, out)
	}
	out, code := berthEnv(t, root, "status", "--host", "far")
	want := regexp.MustCompile(`^web: Running \(container [0-9a-f]{12} on far\)\nonce: Stopped\n$`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("status: %d\n%s", code, out)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if out, code := berthEnv(t, root, "logs", "--tail", "5", "web"); code != 0 || !strings.Contains(out, "over-ssh\n") {
			return fmt.Errorf("logs web: exit %d, want over-ssh in\n%s", code, out)
		}
		return nil
	})
	// Attached output and the exit code come back through ssh as well.
	if out, code := berthEnv(t, root, "start", "--foreground", "once"); code != 3 || !strings.Contains(out, "once-over-ssh") {
		t.Fatalf("start --foreground once: exit %d, want 3\n%s", code, out)
	}

	// A key the host does not accept: a clear error, quickly, and the
	// running container is left as it was.
	t.Setenv(engine.SSHEnv, sshd.BerthSSH(sshd.WrongKey))
	for _, args := range [][]string{{"stop", "web"}, {"status"}} {
		start := time.Now()
		out, code = berthEnv(t, root, args...)
		if code != 1 || !strings.Contains(out, "cannot reach the Docker daemon at "+sshd.Endpoint) || !strings.Contains(out, "Permission denied") {
			t.Errorf("berth %v with a wrong key: %d\n%s", args, code, out)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("berth %v with a wrong key took %s", args, d)
		}
	}
	t.Setenv(engine.SSHEnv, sshd.BerthSSH(sshd.Key))

	if out, code := berthEnv(t, root, "stop", "--host", "far", "all"); code != 0 || !strings.Contains(out, "web: Stopped") {
		t.Fatalf("stop --host far all: %d\n%s", code, out)
	}
	if out, _ := berthEnv(t, root, "status"); out != "web: Stopped\nonce: Stopped\n" {
		t.Fatalf("status after stop:\n%s", out)
	}
}
