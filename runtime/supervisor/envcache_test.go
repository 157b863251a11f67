package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

func writeEnv(t *testing.T, root, policy string) {
	t.Helper()
	y := "version: 1\nservices:\n  api:\n    command: [sleep, \"1000\"]\n    restart: " + policy + "\n"
	if err := os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
}

// The environment is read once while its files stay as they are, and
// again as soon as one changes.
func TestEnvCacheRereadsAChangedManifest(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	root := t.TempDir()
	writeEnv(t, root, "always")
	var c envCache
	a, err := c.get(root)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.get(root); b != a {
		t.Fatal("an unchanged environment was read again")
	}
	writeEnv(t, root, "on-failure")
	b, err := c.get(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Manifest.Services["api"].RestartPolicy(); got != "on-failure" {
		t.Fatalf("restart policy after the manifest changed: %s", got)
	}
}

// A file changed just now is not trusted to show its next change in its
// times (their clock is coarse): it is read again every time.
func TestEnvCacheRacyFileIsReadAgain(t *testing.T) {
	root := t.TempDir()
	writeEnv(t, root, "always")
	var c envCache
	a, _ := c.get(root)
	b, _ := c.get(root)
	if a == nil || a == b {
		t.Fatalf("a manifest written within %s of the read was kept", racyWindow)
	}
}

// A launch checks the environment's files once (for its restart policy
// and its liveness check), not again once its start has settled.
func TestLaunchReadsTheEnvironmentOnce(t *testing.T) {
	env, c, _ := serveForTest(t, 4)
	r := NewRunner(process.New(process.Options{}), c)
	svc, h := startSettled(t, env, r, "s0") // the supervisor's own first reads are over
	stopAtCleanup(t, r, svc, h)
	var gets atomic.Int64
	count := func() { gets.Add(1) }
	onEnvGet.Store(&count)
	defer onEnvGet.Store(nil)
	for _, name := range []string{"s1", "s2", "s3"} {
		svc, h := startSettled(t, env, r, name)
		if err := r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	if n := gets.Load(); n != 3 {
		t.Errorf("3 launches, started and stopped, checked the environment %d times, want 3", n)
	}
}
