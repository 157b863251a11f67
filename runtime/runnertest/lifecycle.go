package runnertest

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

func term(g time.Duration, kill bool) runtime.StopOptions {
	return runtime.StopOptions{Signal: syscall.SIGTERM, Grace: g, Kill: kill}
}

func (s *suite) startInspectStop(t *testing.T) {
	ctx := context.Background()
	svc, hd := s.start(t, Serve)
	st := inspect(t, s.r, svc)
	if !st.IsRunning() || st.Handle == nil {
		t.Fatalf("inspect after start: %+v; want running with a record", st)
	}
	if !sameLaunch(*st.Handle, hd) {
		t.Errorf("inspect found %+v, start returned %+v", *st.Handle, hd)
	}
	if hd.PID != 0 && st.PID != hd.PID {
		t.Errorf("inspect PID %d, start handle PID %d", st.PID, hd.PID)
	}
	if err := s.r.Stop(ctx, svc, *st.Handle, term(s.deadline(), false)); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if st := inspect(t, s.r, svc); st.IsRunning() || st.Handle != nil {
		t.Fatalf("inspect after stop: %+v; want stopped with no record", st)
	}
}

// A second start of a running service is refused and leaves the first alone.
func (s *suite) startTwice(t *testing.T) {
	svc, hd := s.start(t, Serve)
	_, err := s.r.Start(context.Background(), svc)
	var are *runtime.AlreadyRunningError
	if !errors.As(err, &are) {
		t.Fatalf("second start: %v; want an AlreadyRunningError", err)
	}
	if are.Service != svc.Name {
		t.Errorf("AlreadyRunningError names %q, want %q", are.Service, svc.Name)
	}
	st := inspect(t, s.r, svc)
	if !st.IsRunning() || st.Handle == nil || !sameLaunch(*st.Handle, hd) {
		t.Fatalf("after a refused second start: %+v; want the first launch %+v running", st, hd)
	}
}

// Inspect changes nothing: of a running service and of a stale record, a
// second inspection sees the same as the first, and the stale record stays.
func (s *suite) inspectChangesNothing(t *testing.T) {
	running, _ := s.start(t, Serve)
	ended, eh := s.start(t, Exit3)
	s.waitExit(t, s.r, eh)
	for _, svc := range []*runtime.Service{running, ended} {
		first := inspect(t, s.r, svc)
		for range 2 {
			if again := inspect(t, s.r, svc); !sameState(first, again) {
				t.Fatalf("inspect of %s changed what it reports: %+v, then %+v", svc.Name, first, again)
			}
		}
		if first.Handle == nil {
			t.Errorf("inspect of %s found no record: %+v", svc.Name, first)
		}
	}
	if st := inspect(t, s.r, ended); st.IsRunning() || st.Handle == nil || !sameLaunch(*st.Handle, eh) {
		t.Fatalf("the record of a service that ended must stay until forgotten: %+v", st)
	}
	// The ended service's record is still the one Forget removes.
	if err := s.r.Forget(context.Background(), ended, eh); err != nil {
		t.Fatalf("forget: %v", err)
	}
}

// Stop of a service that ended on its own, and again of one already
// stopped, is no error and leaves no record.
func (s *suite) stopStopped(t *testing.T) {
	ctx := context.Background()
	svc, hd := s.start(t, Exit3)
	s.waitExit(t, s.r, hd)
	for i := range 2 {
		if err := s.r.Stop(ctx, svc, hd, term(time.Second, false)); err != nil {
			t.Fatalf("stop %d of a stopped service: %v", i+1, err)
		}
		if st := inspect(t, s.r, svc); st.IsRunning() || st.Handle != nil {
			t.Fatalf("after stop %d of a stopped service: %+v; want no record", i+1, st)
		}
	}
}

func (s *suite) stopTimeoutWithoutKill(t *testing.T) {
	s.need(t, s.caps.StopWithoutKill, "StopWithoutKill")
	svc, hd := s.start(t, IgnoreTerm)
	s.waitForLog(t, svc, "ready")
	began := time.Now()
	err := s.r.Stop(context.Background(), svc, hd, term(grace, false))
	var te *runtime.StopTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("stop of a TERM-ignoring service: %v; want a StopTimeoutError", err)
	}
	if te.Service != svc.Name || te.Grace != grace || te.Signal != syscall.SIGTERM {
		t.Errorf("StopTimeoutError %+v; want service %s, grace %s, TERM", te, svc.Name, grace)
	}
	if d := time.Since(began); d < grace {
		t.Errorf("stop gave up after %s, before the grace period of %s", d, grace)
	}
	if st := inspect(t, s.r, svc); !st.IsRunning() || st.Handle == nil || !sameLaunch(*st.Handle, hd) {
		t.Fatalf("after a stop that timed out the service must still run, recorded: %+v", st)
	}
}

func (s *suite) stopTimeoutThenKill(t *testing.T) {
	svc, hd := s.start(t, IgnoreTerm)
	s.waitForLog(t, svc, "ready")
	began := time.Now()
	if err := s.r.Stop(context.Background(), svc, hd, term(grace, true)); err != nil {
		t.Fatalf("stop with kill: %v", err)
	}
	if d := time.Since(began); d < grace {
		t.Errorf("KILL came after %s, before the grace period of %s", d, grace)
	}
	if st := inspect(t, s.r, svc); st.IsRunning() || st.Handle != nil {
		t.Fatalf("after stop with kill: %+v; want stopped with no record", st)
	}
}

// Wait reports how a detached service ended: its code or its signal.
func (s *suite) waitExitStatus(t *testing.T) {
	for _, tc := range []struct {
		b    Behaviour
		want runtime.Exit
	}{{Exit3, runtime.Exit{Code: 3}}, {KilledByTerm, runtime.Exit{Signal: syscall.SIGTERM}}} {
		svc, hd := s.start(t, tc.b)
		if exit := s.waitExit(t, s.r, hd); exit != tc.want {
			t.Errorf("exit %+v, want %+v", exit, tc.want)
		}
		if st := inspect(t, s.r, svc); st.IsRunning() {
			t.Errorf("inspect after exit: %+v", st)
		}
	}
}

// Wait on a service that no longer runs returns at once, for this runner
// and for a later berth process: ErrNotRunning or how it ended.
func (s *suite) waitNotRunning(t *testing.T) {
	svc, hd := s.start(t, Serve)
	if err := s.r.Stop(context.Background(), svc, hd, term(s.deadline(), false)); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, r := range []runtime.Runner{s.r, s.New(t)} {
		ctx, cancel := context.WithTimeout(context.Background(), s.deadline())
		_, err := r.Wait(ctx, hd)
		cancel()
		if err != nil && !errors.Is(err, runtime.ErrNotRunning) {
			t.Fatalf("wait on a stopped service (%T): %v; want an exit or ErrNotRunning", r, err)
		}
	}
}

// Forget of a running service's handle leaves the service and its record.
func (s *suite) forgetRunning(t *testing.T) {
	svc, hd := s.start(t, Serve)
	if err := s.r.Forget(context.Background(), svc, hd); err != nil {
		t.Fatalf("forget of a running service: %v", err)
	}
	if st := inspect(t, s.r, svc); !st.IsRunning() || st.Handle == nil || !sameLaunch(*st.Handle, hd) {
		t.Fatalf("after forget of a running service: %+v; want it running and recorded as %+v", st, hd)
	}
}

// Forget of a stale handle removes the record.
func (s *suite) forgetStale(t *testing.T) {
	svc, hd := s.start(t, Exit3)
	s.waitExit(t, s.r, hd)
	if st := inspect(t, s.r, svc); st.IsRunning() || st.Handle == nil {
		t.Fatalf("after exit: %+v; want stopped with a stale record", st)
	}
	if err := s.r.Forget(context.Background(), svc, hd); err != nil {
		t.Fatalf("forget: %v", err)
	}
	if st := inspect(t, s.r, svc); st.Handle != nil {
		t.Fatalf("record left after forget: %+v", st)
	}
}

// A later berth process (a new runner) finds a running service from what
// is on disk or in the daemon, waits for it and stops it.
func (s *suite) recover(t *testing.T) {
	svc, hd := s.start(t, Serve)
	later := s.New(t)
	st := inspect(t, later, svc)
	if !st.IsRunning() || st.Handle == nil || !sameLaunch(*st.Handle, hd) {
		t.Fatalf("a later runner found %+v; want %+v running", st, hd)
	}
	waited := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.deadline())
		defer cancel()
		_, err := later.Wait(ctx, *st.Handle)
		waited <- err
	}()
	if err := later.Stop(context.Background(), svc, *st.Handle, term(s.deadline(), false)); err != nil {
		t.Fatalf("stop by a later runner: %v", err)
	}
	if err := <-waited; err != nil && !errors.Is(err, runtime.ErrNotRunning) {
		t.Fatalf("wait by a later runner: %v", err)
	}
	if st := inspect(t, s.r, svc); st.IsRunning() || st.Handle != nil {
		t.Fatalf("after a later runner stopped it: %+v; want no record", st)
	}
}
