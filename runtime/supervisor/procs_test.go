package supervisor

import (
	"sync"
	"testing"

	"github.com/berthdev/berth/runtime/process"
)

// procsSet records the GOMAXPROCS the code under test asked for, in place
// of setting it: supervisors serve in the test's own process.
var procsSet struct {
	sync.Mutex
	n []int
}

func init() {
	setMaxProcs = func(n int) int {
		procsSet.Lock()
		defer procsSet.Unlock()
		procsSet.n = append(procsSet.n, n)
		return 0
	}
}

func procsAsked() []int {
	procsSet.Lock()
	defer procsSet.Unlock()
	return append([]int(nil), procsSet.n...)
}

// A command runs on one processor once its first launch through the
// supervisor is answered, and asks once; the supervisor keeps its own; a
// GOMAXPROCS the user set is left alone.
func TestOneProcessorOnceLaunching(t *testing.T) {
	before := len(procsAsked())
	env, c, _ := serveCommandForTest(t, 2, `[sleep, "1000"]`)
	r := NewRunner(process.New(process.Options{}), c)
	svc, h := startSettled(t, env, r, "s0")
	stopAtCleanup(t, r, svc, h)
	if got := procsAsked()[before:]; len(got) != 1 || got[0] != 1 {
		t.Errorf("the first launch asked for GOMAXPROCS %v, want 1 once", got)
	}
	svc, h = startSettled(t, env, r, "s1")
	stopAtCleanup(t, r, svc, h)
	if got := procsAsked()[before:]; len(got) != 1 {
		t.Errorf("two launches asked for GOMAXPROCS %v, want 1 once", got)
	}

	t.Setenv("GOMAXPROCS", "2")
	before = len(procsAsked())
	oneProc()
	if got := procsAsked()[before:]; len(got) != 0 {
		t.Errorf("with GOMAXPROCS set, oneProc asked for %v", got)
	}
}
