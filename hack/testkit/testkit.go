// Package testkit holds the helpers every berth test package shares: polling
// under a deadline and requiring what the tests need from the machine (a
// Docker daemon, sshd). It imports nothing of berth, so any test package,
// internal or external, can use it without an import cycle.
package testkit

import (
	"fmt"
	"os"
	"testing"
	"time"
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
