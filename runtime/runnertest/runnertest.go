// Package runnertest is the conformance suite every runtime.Runner passes:
// start, inspect, stop, stop of a stopped service, the start check's view
// of an immediate exit, foreground exit codes and logs.
package runnertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
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
	default:
		return nil
	}
}

// Harness adapts a runner to the suite.
type Harness struct {
	Runner runtime.Runner
	// Service returns a new service (unique name, own state directory) with
	// the behaviour and its output logged to a file the runner can read.
	Service func(t *testing.T, b Behaviour) *runtime.Service
	// Foreground is false for runners that cannot attach a terminal.
	Foreground bool
}

const deadline = 10 * time.Second

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("StartInspectStop", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		svc := h.Service(t, Serve)
		hd, err := h.Runner.Start(ctx, svc)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		st, err := h.Runner.Inspect(ctx, svc)
		if err != nil || !st.IsRunning() {
			t.Fatalf("inspect after start: %+v, %v; want running", st, err)
		}
		if hd.PID != 0 && st.PID != hd.PID {
			t.Errorf("inspect PID %d, start handle PID %d", st.PID, hd.PID)
		}
		if err := h.Runner.Stop(ctx, svc, *st.Handle, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: deadline}); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if st, _ := h.Runner.Inspect(ctx, svc); st.IsRunning() || st.Handle != nil {
			t.Fatalf("inspect after stop: %+v; want stopped with no record", st)
		}
		// A second stop of the same handle is no error.
		if err := h.Runner.Stop(ctx, svc, hd, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second}); err != nil {
			t.Fatalf("stop of a stopped service: %v", err)
		}
	})
	t.Run("StopTimeoutThenKill", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		svc := h.Service(t, IgnoreTerm)
		hd, err := h.Runner.Start(ctx, svc)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		waitForLog(t, h, svc, "ready")
		err = h.Runner.Stop(ctx, svc, hd, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 200 * time.Millisecond})
		var te *runtime.StopTimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("stop of a TERM-ignoring service: %v; want StopTimeoutError", err)
		}
		if st, _ := h.Runner.Inspect(ctx, svc); !st.IsRunning() {
			t.Fatalf("after a failed stop the service must still run: %+v", st)
		}
		if err := h.Runner.Stop(ctx, svc, hd, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 200 * time.Millisecond, Kill: true}); err != nil {
			t.Fatalf("stop with kill: %v", err)
		}
		if st, _ := h.Runner.Inspect(ctx, svc); st.IsRunning() {
			t.Fatalf("after stop with kill: %+v", st)
		}
	})
	t.Run("ImmediateExit", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		for _, tc := range []struct {
			b    Behaviour
			want runtime.Exit
		}{{Exit3, runtime.Exit{Code: 3}}, {KilledByTerm, runtime.Exit{Signal: syscall.SIGTERM}}} {
			svc := h.Service(t, tc.b)
			hd, err := h.Runner.Start(ctx, svc)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			exit, err := h.Runner.Wait(ctx, hd)
			if err != nil {
				t.Fatalf("wait: %v", err)
			}
			if exit != tc.want {
				t.Errorf("exit %+v, want %+v", exit, tc.want)
			}
			if st, _ := h.Runner.Inspect(ctx, svc); st.IsRunning() {
				t.Errorf("inspect after exit: %+v", st)
			}
			if err := h.Runner.Forget(ctx, svc, hd); err != nil {
				t.Fatalf("forget: %v", err)
			}
			if st, _ := h.Runner.Inspect(ctx, svc); st.Handle != nil {
				t.Errorf("record left after forget: %+v", st)
			}
		}
	})
	t.Run("Logs", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		svc := h.Service(t, Exit3)
		hd, err := h.Runner.Start(ctx, svc)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		h.Runner.Wait(ctx, hd)
		waitForLog(t, h, svc, "boom")
	})
	if !h.Foreground {
		return
	}
	t.Run("ForegroundExitCodes", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			b    Behaviour
			code int
		}{{Exit3, 3}, {KilledByTerm, 128 + int(syscall.SIGTERM)}} {
			svc := h.Service(t, tc.b)
			var seen runtime.Handle
			exit, err := h.Runner.Run(context.Background(), svc, runtime.Stdio{}, func(hd runtime.Handle) {
				seen = hd
				if st, _ := h.Runner.Inspect(context.Background(), svc); st.Handle == nil {
					t.Errorf("no record while running in the foreground")
				}
			})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if exit.ExitCode() != tc.code {
				t.Errorf("exit code %d, want %d", exit.ExitCode(), tc.code)
			}
			if seen.PID == 0 && seen.ID == "" {
				t.Errorf("launched callback not called with a handle")
			}
			if st, _ := h.Runner.Inspect(context.Background(), svc); st.Handle != nil {
				t.Errorf("record left after the foreground run: %+v", st)
			}
		}
	})
}

// waitForLog polls the service's logs briefly under a deadline for want.
func waitForLog(t *testing.T, h Harness, svc *runtime.Service, want string) {
	t.Helper()
	testkit.Eventually(t, deadline, func() error {
		rc, err := h.Runner.Logs(context.Background(), svc, runtime.LogOptions{Tail: -1})
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
