package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
	"github.com/berthdev/berth/runtime/process"
)

// watchLiveness runs liveness for launch l of a service that has a
// liveness check in env, the environment its launch read (nil if it could
// not be read): a goroutine per launch, that waited for its start to
// settle and read the environment again to find none, cost a launch a
// second check of the environment's files and the growth of a new stack.
func (w *watch) watchLiveness(env *metadata.Env, l *launch) {
	if env == nil {
		return
	}
	if spec := env.Manifest.Services[w.name]; spec != nil && spec.Liveness != nil {
		go w.liveness(env, spec, l)
	}
}

// liveness runs the service's health check every interval while l runs;
// after liveness.failures failures in a row the service is unhealthy and,
// when its policy restarts it at all, it is stopped (its stop signal, its
// grace period, never KILL) and restarted.
func (w *watch) liveness(env *metadata.Env, spec *metadata.Service, l *launch) {
	s := w.s
	select {
	case <-l.settled:
	case <-l.done:
		return
	}
	if !l.ok {
		return
	}
	m := s.manager(env)
	defer m.Close()
	hc, opts, err := m.HealthCheckOf(w.name)
	if err != nil || hc == nil {
		return
	}
	t := time.NewTicker(health.Interval(hc))
	defer t.Stop()
	fails, limit := 0, spec.Liveness.Failures
	for {
		select {
		case <-l.done:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		r := health.Check(s.ctx, hc, opts)
		if r.Healthy {
			if fails >= limit {
				s.event(Event{Service: w.name, Kind: EventHealthy, PID: l.h.PID, Reason: r.Detail})
			}
			fails = 0
			continue
		}
		if fails++; fails != limit {
			continue
		}
		s.event(Event{Service: w.name, Kind: EventUnhealthy, PID: l.h.PID, Reason: fmt.Sprintf("%d failed checks in a row: %s", limit, r.Detail)})
		if spec.RestartPolicy() == metadata.RestartNo {
			continue
		}
		if s.bounce(w, l, fmt.Sprintf("unhealthy after %d failed checks", limit), true) {
			return
		}
		// It did not stop (it ignores its stop signal): it is left
		// running, never killed, and checked on as before.
		fails = 0
	}
}

// bounce stops launch l of w so that its loop restarts it at once. It
// says false when the service did not stop within its grace period: it is
// left running (a restart never KILLs) and the reason is logged.
func (s *Supervisor) bounce(w *watch, l *launch, why string, counts bool) bool {
	s.mu.Lock()
	if w.cur != l || w.stop != "" {
		s.mu.Unlock()
		return true
	}
	w.bounce, w.counts = why, counts
	svc := w.svc
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, svc.StopGrace+10*time.Second)
	defer cancel()
	err := s.proc.Stop(ctx, svc, l.h, runtime.StopOptions{Signal: svc.StopSignal, Grace: svc.StopGrace})
	if err == nil {
		return true
	}
	s.cfg.Logf("%s: restart (%s): %v: left running", w.name, why, err)
	s.mu.Lock()
	if w.cur == l && w.bounce == why {
		w.bounce, w.counts = "", false
	}
	s.mu.Unlock()
	return false
}

// comeback restarts, once name is healthy again after a restart, the
// running dependents that declare depends_on: {name: {restart: true}}.
func (s *Supervisor) comeback(name string, l *launch) {
	env, err := s.env()
	if err != nil {
		return
	}
	var deps []string
	for _, d := range env.Manifest.Graph().NeededBy(name) {
		if d.Restart {
			deps = append(deps, d.Service)
		}
	}
	if len(deps) == 0 {
		return
	}
	m := s.manager(env)
	defer m.Close()
	if hc, opts, err := m.HealthCheckOf(name); err == nil && hc != nil {
		r, err := health.WaitHealthy(s.ctx, hc, health.WaitOptions{Options: opts, Service: name,
			Timeout: env.Manifest.Services[name].StartWait(), Exited: l.done})
		if err != nil {
			return
		}
		s.event(Event{Service: name, Kind: EventHealthy, PID: l.h.PID, Reason: r.Detail})
	}
	for _, d := range deps {
		s.mu.Lock()
		w := s.watches[d]
		var cur *launch
		if w != nil {
			cur = w.cur
		}
		s.mu.Unlock()
		if cur != nil {
			s.bounce(w, cur, "because "+name+" restarted", false)
		}
	}
}

// cascade stops, in reverse dependency order, the running dependents of
// a service that exited and will not be restarted.
func (s *Supervisor) cascade(name, why string) {
	env, err := s.env()
	if err != nil {
		return
	}
	deps := env.Manifest.Graph().AllDependents(name)
	if len(deps) == 0 {
		return
	}
	reason := "because " + why
	s.mu.Lock()
	for _, d := range deps {
		if w := s.watches[d]; w != nil {
			w.stop = reason
		}
	}
	s.mu.Unlock()
	m := s.manager(env)
	defer m.Close()
	results, err := m.Stop(s.ctx, deps, runtime.StopRequest{IgnoreDependents: true})
	if err != nil {
		s.cfg.Logf("stop the dependents of %s: %v", name, err)
	}
	for _, r := range results {
		if r.WasRunning && r.Err == nil {
			s.event(Event{Service: r.Name, Kind: EventCascade, PID: r.PID, Reason: reason})
		}
	}
}

// adopt watches the host services found running (a supervisor was killed
// or replaced), identity-checked through their PID files, and records
// those that a supervisor watched and that ended meanwhile.
func (s *Supervisor) adopt() {
	recs := ReadRecords(s.paths)
	env, err := s.env()
	if err != nil {
		s.cfg.Logf("adopt: %v", err)
		return
	}
	m := s.manager(env)
	defer m.Close()
	for _, name := range env.Manifest.ServiceOrder {
		spec := env.Manifest.Services[name]
		if spec == nil || spec.Runner != metadata.RunnerProcess {
			continue
		}
		svc, _, err := m.BaseService(name)
		if err != nil {
			continue
		}
		st, err := s.proc.Inspect(s.ctx, svc)
		rec := recs[name]
		if err == nil && st.IsRunning() && st.Handle != nil && st.Handle.Token != "" && st.PID == st.Handle.PID {
			s.adoptOne(env, name, svc, *st.Handle, rec)
			continue
		}
		if rec.Supervised && rec.Wanted {
			s.event(Event{Service: name, Kind: EventUnwatched, PID: rec.PID})
			updateRecord(s.paths, name, func(r *Record) {
				r.Supervised, r.PID = false, 0
				r.LastExit = &ExitInfo{Unknown: true, At: time.Now().UTC()}
			})
		}
	}
}

func (s *Supervisor) adoptOne(env *metadata.Env, name string, svc *runtime.Service, h runtime.Handle, rec Record) {
	l := newLaunch(h)
	l.at = h.StartedAt
	l.settle(true)
	w := &watch{s: s, name: name, svc: svc, cur: l, looping: true, wake: make(chan struct{}, 1), total: rec.Restarts}
	s.mu.Lock()
	s.watches[name] = w
	s.goLoopLocked(w)
	s.mu.Unlock()
	go s.waitLaunch(l, false)
	w.watchLiveness(env, l)
	s.event(Event{Service: name, Kind: EventAdopted, PID: h.PID})
	updateRecord(s.paths, name, func(r *Record) { r.Wanted, r.Supervised, r.PID = true, true, h.PID })
}

// adoptable says whether adopt has anything to do: a PID file (a service
// runs only with one) or a record of a service a supervisor watched. The
// usual spawn, after a stop all, has neither, and need not parse the
// manifest, every record and resolve every service before it serves.
func (s *Supervisor) adoptable() bool {
	return anyPIDFile(filepath.Join(s.cfg.Root, metadata.PIDDirName)) || AnyWatchedRecord(s.paths)
}

// anyPIDFile says whether dir may hold a service's PID file (NAME.pid):
// only a service with one can be found running. Spares (.NAME.pid.spare)
// and start locks are not; a directory that cannot be read may.
func anyPIDFile(dir string) bool {
	names, err := readDirNames(dir)
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	for _, n := range names {
		if process.IsPIDFileName(n) {
			return true
		}
	}
	return false
}

// anyWatched says whether a record says a supervisor watched its service:
// one that is no longer running is recorded as unwatched.
func anyWatched(recs map[string]Record) bool {
	for _, r := range recs {
		if r.Supervised && r.Wanted {
			return true
		}
	}
	return false
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
