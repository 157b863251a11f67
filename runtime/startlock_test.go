package runtime_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/runtime"
)

// readBytes is what this process has read from storage (/proc/self/io).
func readBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io here")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "read_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Skip("no read_bytes in /proc/self/io")
	return 0
}

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
	f, err := os.Open(m.Env.Path("pids", "x.lock"))
	if err != nil {
		t.Fatal(err)
	}
	f.Sync()
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	f.Close()
	before := readBytes(t)
	if p, err = m.PlanStart(ctx, []string{"x"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	read := readBytes(t) - before
	p.Abandon()
	if read != 0 {
		t.Errorf("taking the start lock read %d bytes from disk", read)
	}
	if b, _ := os.ReadFile(m.Env.Path("pids", "x.lock")); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock records %q, want %d", b, os.Getpid())
	}
}
