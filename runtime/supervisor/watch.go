package supervisor

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// launch is one run of a service's process.
type launch struct {
	h  runtime.Handle
	at time.Time
	// done is closed when the process has ended: exit and endedAt are set.
	done    chan struct{}
	exit    runtime.Exit
	endedAt time.Time
	// settled is closed when the start that launched it has ended: ok
	// says it succeeded (a supervisor's own relaunch settles at once).
	settled chan struct{}
	ok      bool
	once    sync.Once
	// failed is why a relaunch could not run at all.
	failed string
	// handled is closed once the supervisor has recorded how the launch
	// ended (and restarted the service or not): a user's stop waits for
	// it, so nothing is written in the environment after the stop returns.
	handled chan struct{}
}

func newLaunch(h runtime.Handle) *launch {
	return &launch{h: h, at: time.Now(), done: make(chan struct{}), settled: make(chan struct{}),
		handled: make(chan struct{})}
}

func (l *launch) settle(ok bool) {
	l.once.Do(func() {
		l.ok = ok
		close(l.settled)
	})
}

// watch is what the supervisor knows of one service. Its fields are
// guarded by the supervisor's mutex; loop runs while it has a launch.
type watch struct {
	s    *Supervisor
	name string
	// svc is what the last launch ran; for an adopted service, only what
	// stopping it needs (a relaunch resolves it afresh).
	svc *runtime.Service
	cur *launch
	// stop is why the current launch is being stopped ("by user",
	// "because api gave up"): it is never restarted.
	stop string
	// bounce is why the current launch is being restarted now (liveness,
	// a dependency came back); counts says it counts as a restart.
	bounce  string
	counts  bool
	looping bool
	// restarts since the last reset; total since the last user start.
	restarts, total int
	wake            chan struct{}
}

func (w *watch) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watch) markStop(reason string) {
	w.s.mu.Lock()
	w.stop = reason
	w.s.mu.Unlock()
	w.poke()
}

// launchFor launches svc for a command's start.
func (w *watch) launchFor(svc *runtime.Service) (*launch, error) {
	s := w.s
	h, err := s.proc.Start(s.ctx, svc)
	if err != nil {
		return nil, err
	}
	l := newLaunch(h)
	go s.waitLaunch(l, true)
	s.mu.Lock()
	w.svc, w.cur, w.stop, w.bounce, w.restarts, w.total = svc, l, "", "", 0, 0
	s.watches[w.name] = w
	poke := w.looping
	if !poke {
		w.looping = true
		s.goLoopLocked(w)
	}
	s.mu.Unlock()
	if poke {
		w.poke()
	}
	// The environment is read once per launch: its restart policy
	// (started) and its liveness check.
	env, _ := s.env()
	s.started(env, w.name, l, 0)
	w.watchLiveness(env, l)
	return l, nil
}

// beforeAfterExit, when set (by tests), runs as afterExit begins.
var beforeAfterExit atomic.Pointer[func(*Supervisor)]

// goLoopLocked starts w's loop, counted in s.loops, unless the supervisor
// is exiting (the launch is then left for the next one to adopt). Counted
// only under s.mu and before closing, so that no loop is added once Serve
// waits for them. The caller holds s.mu.
func (s *Supervisor) goLoopLocked(w *watch) {
	if s.closing {
		w.looping = false
		return
	}
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		w.loop()
	}()
}

func (s *Supervisor) started(env *metadata.Env, name string, l *launch, restarts int) {
	policy := metadata.RestartNo
	if env != nil && env.Manifest.Services[name] != nil {
		policy = env.Manifest.Services[name].RestartPolicy()
	}
	s.event(Event{Service: name, Kind: EventStarted, PID: l.h.PID, Restarts: restarts})
	updateRecord(s.paths, name, func(r *Record) {
		r.Wanted, r.Supervised, r.PID, r.Policy, r.Stopped, r.GaveUp = true, true, l.h.PID, policy, "", ""
		r.Restarts = restarts
	})
}

// waitLaunch waits for the end of l's process: a child's exit status
// through its wait, an adopted process's end through its pidfd.
func (s *Supervisor) waitLaunch(l *launch, child bool) {
	ex := runtime.Exit{Unknown: true}
	if child {
		var err error
		ex, err = s.proc.Wait(s.ctx, l.h)
		if err != nil {
			return
		}
		s.proc.Release(l.h.PID)
	} else if err := process.WaitExit(s.ctx, l.h.PID, l.h.StartTime); err != nil {
		return
	}
	l.exit, l.endedAt = ex, time.Now()
	close(l.done)
}

// loop follows the service from launch to launch until it is stopped or
// will not be restarted. It returns without touching anything when the
// supervisor exits.
func (w *watch) loop() {
	s := w.s
	for {
		s.mu.Lock()
		l := w.cur
		s.mu.Unlock()
		select {
		case <-l.done:
		case <-s.done:
			return
		}
		select {
		case <-l.settled:
		case <-s.done:
			return
		}
		if w.afterExit(l) {
			close(l.handled)
			continue
		}
		s.mu.Lock()
		if w.cur != l { // a command launched it again meanwhile
			s.mu.Unlock()
			close(l.handled)
			continue
		}
		w.looping = false
		delete(s.watches, w.name)
		s.mu.Unlock()
		close(l.handled)
		s.exitIfIdle()
		return
	}
}

// afterExit records how l ended and restarts the service when its policy
// says so; it returns true when the watch goes on with a new launch.
func (w *watch) afterExit(l *launch) bool {
	s := w.s
	if f := beforeAfterExit.Load(); f != nil {
		(*f)(s)
	}
	s.mu.Lock()
	if w.cur != l {
		s.mu.Unlock()
		return true
	}
	stop, bounce, counts, svc := w.stop, w.bounce, w.counts, w.svc
	w.bounce = ""
	s.mu.Unlock()
	ex := exitInfo(l.exit, l.endedAt)
	switch {
	case stop != "":
		if stop == "by user" {
			s.event(Event{Service: w.name, Kind: EventStopped, PID: l.h.PID, Reason: "by user"})
		}
		updateRecord(s.paths, w.name, func(r *Record) { r.Wanted, r.Supervised, r.Stopped, r.PID = false, false, stop, 0 })
		return false
	case !l.ok:
		s.event(Event{Service: w.name, Kind: EventExited, PID: l.h.PID, Exit: ex, Reason: "during its start"})
		updateRecord(s.paths, w.name, func(r *Record) { r.Wanted, r.Supervised, r.LastExit, r.PID = false, false, ex, 0 })
		return false
	}
	reason := l.failed
	if bounce != "" {
		reason = bounce
	}
	s.event(Event{Service: w.name, Kind: EventExited, PID: l.h.PID, Exit: ex, Reason: reason})
	s.cleanup(svc, l)
	env, err := s.env()
	var spec *metadata.Service
	if err == nil {
		spec = env.Manifest.Services[w.name]
	}
	s.mu.Lock()
	delay, give, ok := w.decide(spec, l, ex, bounce != "", counts)
	restarts, total := w.restarts, w.total
	s.mu.Unlock()
	updateRecord(s.paths, w.name, func(r *Record) {
		r.LastExit, r.Supervised, r.Restarts, r.PID, r.GaveUp = ex, ok, total, 0, give
	})
	if !ok {
		why := fmt.Sprintf("%s exited (%s)", w.name, ex)
		if give != "" {
			s.event(Event{Service: w.name, Kind: EventGaveUp, Restarts: restarts, Reason: ex.String()})
			why = fmt.Sprintf("%s %s", w.name, give)
		}
		s.cascade(w.name, why)
		return false
	}
	if delay > 0 {
		s.event(Event{Service: w.name, Kind: EventRestarting, Delay: delay.String(), Restarts: total})
	}
	if again, moved := w.sleep(l, delay); !again {
		return moved
	}
	return w.relaunch(env, l)
}

// decide says whether and when the service is restarted, or that the
// supervisor gave up on it. The caller holds the supervisor's mutex.
func (w *watch) decide(spec *metadata.Service, l *launch, ex *ExitInfo, bounced, counts bool) (delay time.Duration, gaveUp string, restart bool) {
	if spec == nil {
		return 0, "", false
	}
	initial, factor, maxDelay, reset := spec.Backoff()
	if l.endedAt.Sub(l.at) >= reset {
		w.restarts = 0
	}
	policy := spec.RestartPolicy()
	clean := !ex.Unknown && ex.Signal == "" && ex.Code == 0 && l.failed == ""
	switch {
	case bounced && !counts:
		return 0, "", true
	case bounced, policy == metadata.RestartAlways, policy == metadata.RestartUnlessStopped,
		policy == metadata.RestartOnFailure && !clean:
	default:
		return 0, "", false
	}
	if spec.MaxRestarts > 0 && w.restarts >= spec.MaxRestarts {
		return 0, fmt.Sprintf("gave up after %d restarts", w.restarts), false
	}
	delay = Backoff(initial, factor, maxDelay, w.restarts)
	w.restarts++
	w.total++
	return delay, "", true
}

// Backoff is the delay before restart n+1 (n restarts so far).
func Backoff(initial time.Duration, factor float64, maxDelay time.Duration, n int) time.Duration {
	d := float64(initial) * math.Pow(factor, float64(n))
	if d > float64(maxDelay) {
		return maxDelay
	}
	return time.Duration(d)
}

// sleep waits out a restart delay. again is false when the restart is off:
// a user stopped the service (moved false) or started it anew (moved true).
func (w *watch) sleep(l *launch, d time.Duration) (again, moved bool) {
	s := w.s
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		s.mu.Lock()
		stop, cur := w.stop, w.cur
		s.mu.Unlock()
		if cur != l {
			return false, true
		}
		if stop != "" {
			w.stoppedWaiting(stop)
			return false, false
		}
		select {
		case <-t.C:
			return true, false
		case <-w.wake:
		case <-s.done:
			return false, false
		}
	}
}

// stoppedWaiting records a stop that came while the service waited to
// restart.
func (w *watch) stoppedWaiting(stop string) {
	w.s.event(Event{Service: w.name, Kind: EventStopped, Reason: "by user, while it waited to restart"})
	updateRecord(w.s.paths, w.name, func(r *Record) { r.Wanted, r.Supervised, r.Stopped = false, false, stop })
}

// relaunch starts the service again under its start lock.
func (w *watch) relaunch(env *metadata.Env, old *launch) bool {
	s := w.s
	lock, err := metadata.Lock(runtime.StartLockPath(env.Path(metadata.PIDDirName), w.name))
	if err != nil {
		return w.failedLaunch(old, err)
	}
	defer lock.Unlock()
	s.mu.Lock()
	svc, cur, stop := w.svc, w.cur, w.stop
	s.mu.Unlock()
	if cur != old {
		return true
	}
	if stop != "" {
		w.stoppedWaiting(stop)
		return false
	}
	if svc == nil || len(svc.Argv) == 0 {
		if svc, err = runtime.Resolve(env, w.name); err != nil {
			return w.failedLaunch(old, err)
		}
	}
	if f := onRelaunch.Load(); f != nil {
		(*f)(w)
	}
	h, err := s.proc.Start(s.ctx, svc)
	if err != nil {
		return w.failedLaunch(old, err)
	}
	l := newLaunch(h)
	l.settle(true)
	go s.waitLaunch(l, true)
	s.mu.Lock()
	w.svc, w.cur = svc, l
	total := w.total
	// A user's stop that came while this launch started (after the check
	// above, before its PID file) found the launch before it, which had
	// ended, and nothing to signal: the user stopped the service, so this
	// launch is stopped too, rather than left running and never restarted
	// once it exits.
	stop = w.stop
	s.mu.Unlock()
	s.started(env, w.name, l, total)
	if stop != "" {
		s.cfg.Logf("%s: stopped %s as it restarted: stopping the new launch (PID %d)", w.name, stop, h.PID)
		go s.stopLaunch(svc, l)
		return true
	}
	w.watchLiveness(env, l)
	go s.comeback(w.name, l)
	return true
}

// onRelaunch, when set (by tests), is called by relaunch once it has
// checked that no stop came, before it starts the new launch.
var onRelaunch atomic.Pointer[func(w *watch)]

// stopLaunch stops launch l of svc with its stop signal and grace period,
// never KILL (the user's options went with the stop of the launch before;
// one left running is logged, and a stop of it by the user finds it); the
// watch's loop records its exit as the stop marked.
func (s *Supervisor) stopLaunch(svc *runtime.Service, l *launch) {
	ctx, cancel := context.WithTimeout(s.ctx, svc.StopGrace+10*time.Second)
	defer cancel()
	if err := s.proc.Stop(ctx, svc, l.h, runtime.StopOptions{Signal: svc.StopSignal, Grace: svc.StopGrace}); err != nil {
		s.cfg.Logf("%s: stopping PID %d: %v", svc.Name, l.h.PID, err)
	}
}

// failedLaunch stands for a relaunch that could not run: it ends at once,
// so the policy (and max_restarts) decides again.
func (w *watch) failedLaunch(old *launch, err error) bool {
	l := newLaunch(runtime.Handle{Service: w.name})
	l.failed = "restart failed: " + err.Error()
	l.exit, l.endedAt = runtime.Exit{Unknown: true}, time.Now()
	l.settle(true)
	close(l.done)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.cur != old {
		return true
	}
	w.cur = l
	return true
}

// cleanup stops what is left of an ended launch (processes that carry its
// launch token) and removes its PID file.
func (s *Supervisor) cleanup(svc *runtime.Service, l *launch) {
	if svc == nil || l.h.PID == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, svc.StopGrace+10*time.Second)
	defer cancel()
	if err := s.proc.Stop(ctx, svc, l.h, runtime.StopOptions{Signal: svc.StopSignal, Grace: svc.StopGrace}); err != nil {
		s.cfg.Logf("%s: leftovers of PID %d: %v", svc.Name, l.h.PID, err)
	}
}
