package runtime_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/runtime"
)

// A start lock the kernel has dropped from its page cache (idle for a
// while) records its holder without being read from disk first.
func TestStartLockReadsNoDroppedPage(t *testing.T) {
	ctx := context.Background()
	m, _ := fakeEnv(t, "version: 1\nservices:\n  x: {command: [x]}\n")
	p, err := m.PlanStart(ctx, []string{"x"}, runtime.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p.Abandon()
	testkit.DropFromCache(t, m.Env.Path("pids", "x.lock"))
	before := testkit.ReadBytes(t)
	if p, err = m.PlanStart(ctx, []string{"x"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	read := testkit.ReadBytes(t) - before
	p.Abandon()
	if read != 0 {
		t.Errorf("taking the start lock read %d bytes from disk", read)
	}
	if b, _ := os.ReadFile(m.Env.Path("pids", "x.lock")); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock records %q, want %d", b, os.Getpid())
	}
}
