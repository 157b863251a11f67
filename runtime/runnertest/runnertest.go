// Package runnertest is the conformance suite every runtime.Runner passes:
// start, a second start, inspect that changes nothing, stop (of a stopped
// service, of one that ignores TERM, with and without KILL), wait, forget,
// logs (all, tail, since, follow), foreground runs (exit codes, signals,
// forwarding) and the recovery of a service by a later berth process.
// A case that needs a capability a runner does not declare is skipped,
// naming it.
package runnertest

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/runtime"
)

// Behaviour names what a test service must do.
type Behaviour int

const (
	// Serve prints "ready" and runs until TERM.
	Serve Behaviour = iota
	// IgnoreTerm prints "ready" and ignores TERM.
	IgnoreTerm
	// Exit3 prints "boom" and exits with code 3 at once.
	Exit3
	// KilledByTerm kills itself with TERM at once.
	KilledByTerm
	// PrintLines prints "line-1" to "line-5", then "ready", and runs until TERM.
	PrintLines
	// Tick prints "ready", then "tick N" every 50ms until TERM.
	Tick
)

// Args are the hack/testsvc arguments that make it behave as b.
func (b Behaviour) Args() []string {
	switch b {
	case IgnoreTerm:
		return []string{"--ignore-term"}
	case Exit3:
		return []string{"--print", "boom", "--exit", "3"}
	case KilledByTerm:
		return []string{"--kill-self", "TERM"}
	case PrintLines:
		return []string{"--print", "line-1", "--print", "line-2", "--print", "line-3", "--print", "line-4", "--print", "line-5"}
	case Tick:
		return []string{"--tick", "50ms"}
	default:
		return nil
	}
}

// Harness adapts a runner to the suite.
type Harness struct {
	// New returns a runner. The suite calls it once for the runner under
	// test and again to play a later berth process, which knows a service
	// only from what is on disk or in the daemon.
	New func(t *testing.T) runtime.Runner
	// Service returns a new service (unique name, own state directory) with
	// the behaviour and its output logged where the runner reads it.
	Service func(t *testing.T, b Behaviour) *runtime.Service
	// Deadline bounds every wait of the suite; 10 s when zero. A runner
	// whose engine takes seconds to schedule work (Swarm) gives more.
	Deadline time.Duration
}

// deadline bounds every wait of the suite; grace is the stop grace period
// of cases that expect a service to outlive it.
const (
	defaultDeadline = 10 * time.Second
	grace           = 300 * time.Millisecond
)

// suite is one run of the suite: the harness and the runner under test.
type suite struct {
	Harness
	r    runtime.Runner
	caps runtime.Capabilities
}

// Run runs the suite. Every case runs in parallel with the others.
func Run(t *testing.T, h Harness) {
	s := &suite{Harness: h, r: h.New(t)}
	s.caps = s.r.Capabilities()
	for _, c := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"StartInspectStop", s.startInspectStop},
		{"StartTwice", s.startTwice},
		{"InspectChangesNothing", s.inspectChangesNothing},
		{"StopStopped", s.stopStopped},
		{"StopTimeoutWithoutKill", s.stopTimeoutWithoutKill},
		{"StopTimeoutThenKill", s.stopTimeoutThenKill},
		{"WaitExitStatus", s.waitExitStatus},
		{"WaitNotRunning", s.waitNotRunning},
		{"ForgetRunning", s.forgetRunning},
		{"ForgetStale", s.forgetStale},
		{"RecoverByLaterProcess", s.recover},
		{"Logs", s.logsAll},
		{"LogsTail", s.logsTail},
		{"LogsSince", s.logsSince},
		{"LogsFollow", s.logsFollow},
		{"RunExitCodes", s.runExitCodes},
		{"RunForwardsSignals", s.runForwardsSignals},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

func (s *suite) deadline() time.Duration {
	if s.Deadline > 0 {
		return s.Deadline
	}
	return defaultDeadline
}

// need skips t unless the runner declares the capability.
func (s *suite) need(t *testing.T, has bool, capability string) {
	t.Helper()
	if !has {
		t.Skipf("skipping: the runner (%T) does not declare the capability %s", s.r, capability)
	}
}

// start starts a service of behaviour b and fails t if it cannot.
func (s *suite) start(t *testing.T, b Behaviour) (*runtime.Service, runtime.Handle) {
	t.Helper()
	svc := s.Service(t, b)
	h, err := s.r.Start(context.Background(), svc)
	if err != nil {
		t.Fatalf("start %s: %v", svc.Name, err)
	}
	return svc, h
}

// inspect inspects svc with r and fails t on an error.
func inspect(t *testing.T, r runtime.Runner, svc *runtime.Service) runtime.State {
	t.Helper()
	st, err := r.Inspect(context.Background(), svc)
	if err != nil {
		t.Fatalf("inspect %s: %v", svc.Name, err)
	}
	return st
}

// sameState compares two inspections by value (the handle they point to
// included).
func sameState(a, b runtime.State) bool {
	ha, hb := a.Handle, b.Handle
	a.Handle, b.Handle = nil, nil
	if (ha == nil) != (hb == nil) || (ha != nil && *ha != *hb) {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// sameLaunch says whether two handles name the same launch.
func sameLaunch(a, b runtime.Handle) bool {
	return a.PID == b.PID && a.StartTime == b.StartTime && a.ID == b.ID
}

// logs reads the whole of what Logs returns for opts (which must not follow).
func (s *suite) logs(t *testing.T, svc *runtime.Service, opts runtime.LogOptions) string {
	t.Helper()
	rc, err := s.r.Logs(context.Background(), svc, opts)
	if err != nil {
		t.Fatalf("logs of %s: %v", svc.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read the logs of %s: %v", svc.Name, err)
	}
	return string(b)
}

// waitForLog polls the service's logs briefly under a deadline for want.
func (s *suite) waitForLog(t *testing.T, svc *runtime.Service, want string) {
	t.Helper()
	testkit.Eventually(t, s.deadline(), func() error {
		rc, err := s.r.Logs(context.Background(), svc, runtime.LogOptions{Tail: -1})
		if err != nil {
			return fmt.Errorf("logs of %s: %w", svc.Name, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("log of %s holds %q, want %q", svc.Name, b, want)
		}
		return nil
	})
}

// waitExit waits for the service of h to end.
func (s *suite) waitExit(t *testing.T, r runtime.Runner, h runtime.Handle) runtime.Exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.deadline())
	defer cancel()
	exit, err := r.Wait(ctx, h)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return exit
}
