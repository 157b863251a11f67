package testkit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	n := 0
	if err := Poll(time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("Poll = %v after %d tries, want nil after 3", err, n)
	}
	start := time.Now()
	err := Poll(50*time.Millisecond, func() error { return errors.New("log holds \"x\", want \"y\"") })
	if err == nil || !strings.Contains(err.Error(), `not within 50ms: log holds "x", want "y"`) {
		t.Fatalf("Poll past its deadline = %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > time.Second {
		t.Fatalf("Poll gave up after %s, want about 50ms", d)
	}
}

// A zombie is not running; a live process is; a PID that names nothing is
// not.
func TestRunning(t *testing.T) {
	if !Running(os.Getpid()) {
		t.Fatal("this test's own process is not running")
	}
	c := exec.Command("true")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pid := c.Process.Pid
	if err := Poll(5*time.Second, func() error {
		if Running(pid) {
			return fmt.Errorf("%d still runs", pid)
		}
		return nil
	}); err != nil {
		t.Fatalf("an exited child not yet waited for (a zombie): %v", err)
	}
	c.Wait()
	if Running(pid) {
		t.Fatalf("%d: reaped, yet running", pid)
	}
}
