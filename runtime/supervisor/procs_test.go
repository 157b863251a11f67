package supervisor

import (
	"sync/atomic"
	"testing"

	"github.com/berthdev/berth/runtime/process"
)

// A command is told once, when its first launch through the supervisor is
// answered (cmd/berth then runs on one processor).
func TestLaunchedOnceLaunching(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 2, `[sleep, "1000"]`)
	r := NewRunner(process.New(process.Options{}), c)
	var told atomic.Int64
	r.Launched = func() { told.Add(1) }
	svc, h := startSettled(t, env, r, "s0")
	stopAtCleanup(t, r, svc, h)
	if n := told.Load(); n != 1 {
		t.Errorf("the first launch told the command %d times, want 1", n)
	}
	svc, h = startSettled(t, env, r, "s1")
	stopAtCleanup(t, r, svc, h)
	if n := told.Load(); n != 1 {
		t.Errorf("two launches told the command %d times, want 1", n)
	}
}
