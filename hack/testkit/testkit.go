// Package testkit holds the helpers every berth test package shares: polling
// under a deadline and requiring what the tests need from the machine (a
// Docker daemon, sshd). It imports nothing of berth, so any test package,
// internal or external, can use it without an import cycle.
package testkit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Interval is how often Poll tries again: short, so that a test waits little
// past the event, and long enough not to spin.
const Interval = 10 * time.Millisecond

// Poll calls cond every Interval until it returns nil or within has passed.
// It returns nil, or cond's last error saying how long it waited.
func Poll(within time.Duration, cond func() error) error {
	end := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(end) {
			return fmt.Errorf("not within %s: %w", within, err)
		}
		time.Sleep(Interval)
	}
}

// Eventually polls cond as Poll does and fails t with cond's last error when
// within passes first. cond's error should say what was seen and what was
// wanted: it is the failure message.
func Eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(within, cond); err != nil {
		t.Fatal(err)
	}
}

// RequireEnv is the variable that makes a missing daemon or tool a failure
// instead of a skip (CI sets it).
const RequireEnv = "BERTH_REQUIRE_DOCKER"

// Missing skips t saying what is missing and how to get it, or fails t when
// BERTH_REQUIRE_DOCKER=1.
func Missing(t testing.TB, what, fix string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s=1 but %s", RequireEnv, what)
	}
	t.Skipf("skipping: %s (%s)", what, fix)
}

// RequireDocker skips or fails t (see Missing) when err, the result of
// connecting to the daemon, is not nil.
func RequireDocker(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		Missing(t, fmt.Sprintf("no Docker daemon reachable: %v", err), "set "+RequireEnv+"=1 to make this a failure")
	}
}

// ReadBytes is what this process has read from storage (/proc/self/io);
// the test skips where the kernel does not count it.
func ReadBytes(t testing.TB) int64 {
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

// DropFromCache writes path's pages to disk and asks the kernel to drop
// them from its page cache, as an idle file's are after a while here.
func DropFromCache(t testing.TB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Sync()
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// Running reports whether pid names a process that has not exited: one that
// exists and is not a zombie. A process berth detached (its supervisor)
// has init for parent once berth exits, and init reaps when it gets to it
// (every 1-2 s on some machines): until then the exited process is a
// zombie, which kill(pid, 0) still finds.
func Running(pid int) bool {
	if unix.Kill(pid, 0) != nil {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which may hold ") ".
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}
