package testkit

import (
	"errors"
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
