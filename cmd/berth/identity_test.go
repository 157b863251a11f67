package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A copy of an environment (cp -a, then relocate) does not own the
// original's services: relocate says so, status shows them Stopped there,
// and stop all in the copy leaves them running.
func TestCLICopiedEnvironment(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"api", ""})
	if out, code := berthEnv(t, root, "start", "api"); code != 0 {
		t.Fatalf("start: %d %s", code, out)
	}
	copyRoot := filepath.Join(t.TempDir(), "env2")
	if out, err := exec.Command("cp", "-a", root, copyRoot).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	t.Cleanup(func() { berthEnv(t, copyRoot, "stop", "all", "--force", "--timeout", "1s") })
	out, code := berthEnv(t, copyRoot, "relocate")
	if code != 0 || !strings.Contains(out, "api: Stopped here") || !strings.Contains(out, root) {
		t.Fatalf("relocate in the copy: %d %s", code, out)
	}
	if out, _ := berthEnv(t, copyRoot, "status"); !strings.Contains(out, "api: Stopped") {
		t.Fatalf("status in the copy: %s", out)
	}
	if out, code := berthEnv(t, copyRoot, "stop", "all", "--force"); code != 0 {
		t.Fatalf("stop all in the copy: %d %s", code, out)
	}
	if psServices(root) != 1 {
		t.Fatal("stop all in the copy stopped the original's service")
	}
	if out, _ := berthEnv(t, root, "status"); !strings.Contains(out, "api: Running") {
		t.Fatalf("status in the original: %s", out)
	}
}
