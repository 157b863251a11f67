package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Restart plans a stop, then executes it with ExecuteRestart.
func (m *Manager) Restart(ctx context.Context, names []string, req StopRequest) ([]StopResult, []State, error) {
	p, err := m.PlanStop(ctx, names, req)
	if err != nil {
		return nil, nil, err
	}
	return m.ExecuteRestart(ctx, p)
}

// ExecuteRestart stops the plan's services and, only if every stop
// succeeded, starts them again in start order: those named, and the
// dependents stopped with them. The start keeps the stop's host.
func (m *Manager) ExecuteRestart(ctx context.Context, p *StopPlan) ([]StopResult, []State, error) {
	rolled, rstates, err := m.rollingRestarts(ctx, p)
	if err != nil || len(p.Stop) == 0 {
		return rolled, rstates, err
	}
	stopped, started, err := m.stopThenStart(ctx, p)
	return append(rolled, stopped...), append(rstates, started...), err
}

// Holder is a runner whose services are watched by a process that exits
// once it watches none (the supervisor). Hold keeps it until release: the
// stops of a restart would otherwise end it just before the start that
// follows spawns another.
type Holder interface {
	Hold() (release func())
}

// hold holds, until the returned release, every Holder that runs one of
// names.
func (m *Manager) hold(names []string) (release func()) {
	var held []Holder
	var releases []func()
	for _, n := range names {
		_, run, err := m.base(n)
		h, ok := run.(Holder)
		if err != nil || !ok || slices.Contains(held, h) {
			continue
		}
		held = append(held, h)
		releases = append(releases, h.Hold())
	}
	return func() {
		for _, r := range releases {
			r()
		}
	}
}

// RollingRestarter is a runner that restarts a running service in place,
// task by task, without stopping it first (Swarm's forced update, which
// keeps the service's update policy).
type RollingRestarter interface {
	Restart(ctx context.Context, svc *Service) (Handle, error)
}

// rollingRestarts restarts in place the running services of p whose runner
// can, waits until each is ready, and takes them out of p.
func (m *Manager) rollingRestarts(ctx context.Context, p *StopPlan) ([]StopResult, []State, error) {
	var results []StopResult
	var states []State
	var rest []string
	for _, n := range p.Stop {
		st, isRunning := p.Running[n]
		_, run, err := m.base(n)
		rr, ok := run.(RollingRestarter)
		if err != nil || !ok || !isRunning {
			rest = append(rest, n)
			continue
		}
		// The new tasks run what a start would: command, environment and
		// image resolved as start resolves them (the bare service of base
		// has no command, and a rolled task ran the image's default).
		svc, err := Resolve(m.Env, n)
		if err != nil {
			return results, states, fmt.Errorf("failed to restart '%s': %w", n, err)
		}
		h, err := rr.Restart(ctx, svc)
		if err == nil {
			_, err = m.ready(ctx, launched{svc: svc, run: run, h: h})
		}
		if err != nil {
			return results, states, fmt.Errorf("failed to restart '%s': %w", n, err)
		}
		results = append(results, StopResult{Name: n, WasRunning: true})
		if st, err = m.inspect(ctx, svc, run); err == nil {
			states = append(states, st)
		}
	}
	p.Stop = rest
	return results, states, nil
}

func (m *Manager) stopThenStart(ctx context.Context, p *StopPlan) ([]StopResult, []State, error) {
	defer m.hold(p.Stop)()
	stopped, err := m.ExecuteStop(ctx, p)
	unreachable := 0
	for _, r := range stopped {
		if r.Unreachable {
			unreachable++
		}
	}
	// A stop that failed on a service berth could stop stops the restart;
	// services whose daemon does not answer fail on their own and leave
	// restart all to restart the others.
	if err != nil && (!p.All || unreachable < len(errorsOf(stopped))) {
		return stopped, nil, fmt.Errorf("%w\nnothing was started again because a stop failed", err)
	}
	stopErr := err
	names := []string{All}
	if !p.All {
		names = nil
		for _, r := range stopped {
			if !slices.Contains(p.Added, r.Name) || r.WasRunning {
				names = append(names, r.Name)
			}
		}
	}
	started, err := m.Start(ctx, names, StartRequest{Host: p.req.Host})
	if stopErr != nil {
		// The start reports the unreachable services again: say it once.
		err = errors.Join(stopErr, withoutUnreachable(err))
	}
	return stopped, started, err
}

func errorsOf(rs []StopResult) []error {
	var errs []error
	for _, r := range rs {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errs
}
