package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/berthdev/berth/runtime/health"
)

// CheckHealth runs, at the same time, the health check of every running
// service of states and returns one report per state, in order. It reads
// records and runs checks only; a stopped service is "not running" and is
// not checked. The states gain Health and HealthDetail.
func (m *Manager) CheckHealth(ctx context.Context, states []State) []health.Report {
	reports := make([]health.Report, len(states))
	var wg sync.WaitGroup
	for i := range states {
		st := &states[i]
		if st.State == Unknown {
			// Its daemon does not answer: a failure, said as such.
			r := health.Result{Kind: "inspect", Detail: st.Reason, At: time.Now()}
			reports[i] = health.NewReport(st.Name, true, &r)
			continue
		}
		if !st.IsRunning() && !m.unmanaged(st.Name) {
			reports[i] = health.NewReport(st.Name, false, nil)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i] = m.checkOne(ctx, st.Name)
			st.Health = string(reports[i].State)
			if r := reports[i].Result; r != nil {
				st.HealthDetail = r.Detail
			}
		}()
	}
	wg.Wait()
	return reports
}

// checkOne runs the check of a running service once.
func (m *Manager) checkOne(ctx context.Context, name string) health.Report {
	hc, err := m.healthCheck(name)
	if err != nil {
		r := health.Result{Kind: m.Env.Manifest.Services[name].Health.Type, Detail: err.Error(), At: time.Now()}
		return health.NewReport(name, true, &r)
	}
	if hc == nil {
		return m.runnerHealth(ctx, name)
	}
	r := health.Check(ctx, hc, m.checkOptions(name))
	return health.NewReport(name, true, &r)
}

// checkOptions gives a command check the service's own directory and
// environment; a service that cannot be resolved any more (its component
// was uninstalled) is checked from the root with berth's environment.
func (m *Manager) checkOptions(name string) health.Options {
	if svc, err := Resolve(m.Env, name); err == nil {
		return health.Options{Dir: svc.Dir, Env: svc.Env, Exec: m.Exec}
	}
	return health.Options{Dir: m.Env.Root, Exec: m.Exec}
}

// Health reports the health of the named services (all when names is
// empty), in manifest order. A service that cannot be inspected (its
// daemon does not answer) is reported unhealthy among the others, and the
// error names it.
func (m *Manager) Health(ctx context.Context, names []string) ([]health.Report, error) {
	states, err := m.Status(ctx, names, StatusRequest{})
	if states == nil {
		return nil, err
	}
	return m.CheckHealth(ctx, states), err
}

// WatchHealth checks the named services every interval (each check's own
// interval when zero) until ctx ends, and calls fn whenever a service's
// state changes, and once for each at the start. A failing check makes a
// running service unhealthy only after its retries; a service that stops or
// starts is reported at once. fn is never called concurrently. It returns
// nil when ctx ends.
func (m *Manager) WatchHealth(ctx context.Context, names []string, interval time.Duration, fn func(at time.Time, r health.Report)) error {
	states, err := m.Status(ctx, names, StatusRequest{})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, st := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.watchOne(ctx, st.Name, interval, func(r health.Report) {
				mu.Lock()
				defer mu.Unlock()
				fn(time.Now(), r)
			})
		}()
	}
	wg.Wait()
	return nil
}

func (m *Manager) watchOne(ctx context.Context, name string, interval time.Duration, emit func(health.Report)) {
	spec := m.Env.Manifest.Services[name]
	var tracker *health.Tracker
	if interval <= 0 {
		interval = health.DefaultInterval
		if spec.Health != nil {
			interval = health.Interval(spec.Health)
		}
	}
	var last health.State
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		states, err := m.Status(ctx, []string{name}, StatusRequest{})
		if ctx.Err() != nil {
			return
		}
		rep := health.NewReport(name, false, nil)
		if err == nil && len(states) == 1 && states[0].IsRunning() {
			rep = m.checkOne(ctx, name)
			if ctx.Err() != nil {
				return
			}
			if rep.Result != nil {
				if tracker == nil {
					tracker = health.NewTracker(spec.Health)
				}
				s, _ := tracker.Observe(*rep.Result)
				rep.State = s
			}
		} else {
			tracker = nil // a restarted service starts its count again
		}
		if rep.State != last {
			last = rep.State
			emit(rep)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// runnerHealth is the report of a running service without a check of its
// own: its runner's check where it has one (Docker's health of compose
// containers), else "no check".
func (m *Manager) runnerHealth(ctx context.Context, name string) health.Report {
	svc, run, err := m.base(name)
	if err != nil {
		return health.NewReport(name, true, nil)
	}
	hr, ok := run.(HealthReporter)
	if !ok {
		return health.NewReport(name, true, nil)
	}
	r, err := hr.RunnerHealth(ctx, svc)
	if err != nil {
		r = &health.Result{Kind: svc.Runner, Detail: err.Error(), At: time.Now()}
	}
	return health.NewReport(name, true, r)
}

// unmanaged says whether berth only checks the service (a remote one): its
// check is its health also when it fails.
func (m *Manager) unmanaged(name string) bool {
	_, run, err := m.base(name)
	return err == nil && run.Capabilities().Unmanaged
}
