package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/parts"
	"github.com/berthdev/berth/metadata"
)

// StopRequest says how stop treats every service.
type StopRequest struct {
	// Host, if set, limits the stop to the services on that manifest host.
	Host string
	// Grace overrides each service's stop_timeout when not zero.
	Grace time.Duration
	// Force sends KILL when the grace period ends.
	Force bool
	// WithDependents also stops the running services that depend on those
	// named, first; IgnoreDependents stops the named ones regardless.
	// Without either, a named service with running dependents is refused.
	WithDependents   bool
	IgnoreDependents bool
}

// StopPlan is what a stop will do.
type StopPlan struct {
	// Stop is every service to stop, in stop order: those named and, with
	// WithDependents, their running dependents.
	Stop []string
	// Added are the dependents added, in stop order.
	Added []string
	// All says all was named.
	All bool
	// Running holds the state of each service of Stop that runs.
	Running map[string]State
	// Affected maps each running service of Stop to the running services
	// that depend on it, directly or not (what its stop affects).
	Affected map[string][]string
	req      StopRequest
}

// DependentsRunningError means a service named to stop has running
// dependents and neither --with-dependents nor --ignore-dependents was given.
type DependentsRunningError struct {
	Service    string
	Dependents []string
}

func (e *DependentsRunningError) Error() string {
	return fmt.Sprintf("cannot stop %s: running services depend on it: %s (use --with-dependents to stop them first, or --ignore-dependents to stop %s anyway)",
		e.Service, strings.Join(e.Dependents, ", "), e.Service)
}

// stopPlanner inspects each service at most once while a stop is planned.
type stopPlanner struct {
	m      *Manager
	ctx    context.Context
	graph  *metadata.Graph
	states map[string]State
}

func (s *stopPlanner) state(n string) (State, error) {
	if st, ok := s.states[n]; ok {
		return st, nil
	}
	svc, run, err := s.m.base(n)
	if err != nil {
		return State{}, err
	}
	st, err := s.m.inspect(s.ctx, svc, run)
	if err != nil {
		return State{}, err
	}
	s.states[n] = st
	return st, nil
}

// prefetch inspects the services of names whose runner reads local files
// (the process runner), split between the processors: the plan of a stop
// all inspects every service before the first is stopped, one after
// another. Each part inspects in turn (a goroutine per service costs more
// than its inspection); what cannot be inspected is left to state.
func (s *stopPlanner) prefetch(names []string) {
	type one struct {
		name string
		svc  *Service
		run  Runner
	}
	var local []one
	for _, n := range names {
		if _, done := s.states[n]; done {
			continue
		}
		if svc, run, err := s.m.base(n); err == nil && run.Capabilities().LocalInspect {
			local = append(local, one{n, svc, run})
		}
	}
	if parts.Count(len(local), localShare) <= 1 {
		return
	}
	states := make([]State, len(local))
	ok := make([]bool, len(local))
	svcs, runs := make([]*Service, len(local)), make([]Runner, len(local))
	for j, l := range local {
		svcs[j], runs[j] = l.svc, l.run
	}
	prepare(s.ctx, svcs, runs)
	parts.Run(len(local), localShare, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			if st, err := s.m.inspect(s.ctx, local[j].svc, local[j].run); err == nil {
				states[j], ok[j] = st, true
			}
		}
	})
	for j, l := range local {
		if ok[j] {
			s.states[l.name] = states[j]
		}
	}
}

// runningDependents is every running service that depends on n, directly
// or not, in stop order.
func (s *stopPlanner) runningDependents(n string) ([]string, error) {
	var out []string
	var errs []error
	for _, d := range s.graph.AllDependents(n) {
		st, err := s.state(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.IsRunning() {
			out = append(out, d)
		}
	}
	// The dependents that could be inspected, and why the others could not.
	return out, errors.Join(errs...)
}

// PlanStop selects the services to stop and finds what runs. It refuses a
// named service whose dependents run unless req says what to do about them;
// all needs neither.
func (m *Manager) PlanStop(ctx context.Context, names []string, req StopRequest) (*StopPlan, error) {
	man := m.Env.Manifest
	sp := &stopPlanner{m: m, ctx: ctx, graph: man.Graph(), states: map[string]State{}}
	sel, all, err := Select(man, names, sp.graph.StopOrder())
	if err != nil {
		return nil, err
	}
	if sel, err = m.onHost(sel, all, req.Host); err != nil {
		return nil, err
	}
	sp.ctx = m.surveyFor(ctx, sel)
	p := &StopPlan{All: all, Running: map[string]State{}, Affected: map[string][]string{}, req: req}
	selected := map[string]bool{}
	for _, n := range sel {
		selected[n] = true
	}
	if !all && !req.IgnoreDependents {
		if err := sp.addDependents(p, sel, selected); err != nil {
			return nil, err
		}
	}
	p.Stop = sp.graph.InStopOrder(slices.Collect(maps.Keys(selected)))
	p.Added = sp.graph.InStopOrder(p.Added)
	sp.prefetch(p.Stop)
	for _, n := range p.Stop {
		st, err := sp.state(n)
		if err != nil && all {
			// Its daemon does not answer: stop all goes on with every
			// other service, and this one fails at the end, named.
			continue
		}
		if err != nil {
			return nil, err
		}
		if !st.IsRunning() {
			continue
		}
		p.Running[n] = st
		deps, err := sp.runningDependents(n)
		if err != nil && !all {
			return nil, err
		}
		p.Affected[n] = deps
	}
	return p, nil
}

// surveyFor hands the plan's inspections the survey of each runner of
// names that makes one (Surveyor), as a status does: a supervisor vouches
// in one request for the launches it watches, and the plan of a stop of
// 100 supervised services reads no /proc file of theirs (it read 200).
// Nothing is signalled on the survey's word: the supervisor verifies each
// process it stops, and a stop it does not take verifies it from /proc.
func (m *Manager) surveyFor(ctx context.Context, names []string) context.Context {
	var runs []Runner
	for _, n := range names {
		if _, run, err := m.base(n); err == nil {
			runs = append(runs, run)
		}
	}
	return survey(ctx, runs)
}

// addDependents finds, for each running service of sel, its running
// dependents outside the selection: with WithDependents they join it (and
// p.Added); otherwise the stop is refused, naming them.
func (s *stopPlanner) addDependents(p *StopPlan, sel []string, selected map[string]bool) error {
	var refused []error
	for _, n := range sel {
		st, err := s.state(n)
		if err != nil {
			return err
		}
		if !st.IsRunning() {
			continue
		}
		deps, err := s.runningDependents(n)
		if err != nil {
			return err
		}
		var outside []string
		for _, d := range deps {
			if !selected[d] {
				outside = append(outside, d)
			}
		}
		if len(outside) == 0 {
			continue
		}
		if !p.req.WithDependents {
			refused = append(refused, &DependentsRunningError{Service: n, Dependents: outside})
			continue
		}
		for _, d := range outside {
			selected[d] = true
			p.Added = append(p.Added, d)
		}
	}
	return errors.Join(refused...)
}

// StopResult is what stop did to one service.
type StopResult struct {
	Name       string
	WasRunning bool
	PID        int
	Err        error
	// Unreachable: the service could not even be inspected (its Docker
	// daemon does not answer), so nothing was done to it.
	Unreachable bool
	// Unmanaged: berth does not run the service (a remote one), so there
	// was nothing to stop.
	Unmanaged bool
}

// Stop plans and executes a stop.
func (m *Manager) Stop(ctx context.Context, names []string, req StopRequest) ([]StopResult, error) {
	p, err := m.PlanStop(ctx, names, req)
	if err != nil {
		return nil, err
	}
	return m.ExecuteStop(ctx, p)
}

// ExecuteStop stops the plan's services in reverse start order: a service
// is stopped once every service of the plan depending on it has stopped,
// and services that do not depend on each other stop at the same time. It
// goes on past failures and returns them joined, each naming its service.
func (m *Manager) ExecuteStop(ctx context.Context, p *StopPlan) ([]StopResult, error) {
	targets := map[string]stopTarget{}
	index := map[string]int{}
	for i, n := range p.Stop {
		svc, run, err := m.base(n)
		if err != nil {
			return nil, err
		}
		targets[n] = stopTarget{svc, run}
		index[n] = i
	}
	gates := map[string][]gate{}
	graph := m.Env.Manifest.Graph()
	for _, n := range p.Stop {
		for _, d := range graph.Dependents(n) {
			gates[n] = append(gates[n], gate{node: d, done: true})
		}
	}
	begun := m.beginStops(ctx, p, targets, gates)
	results := make([]StopResult, len(p.Stop))
	walk(ctx, p.Stop, gates, walkOptions{keepGoing: true, slotUntilDone: true}, func(_ context.Context, n string, _ func()) error {
		if b := begun[n]; b != nil {
			results[index[n]] = b.finish(ctx)
			return results[index[n]].Err
		}
		t := targets[n]
		planned, ok := p.Running[n]
		results[index[n]] = m.stopOne(ctx, t.svc, t.run, p.req, planned, ok)
		return results[index[n]].Err
	})
	return results, joinStopErrors(results)
}

// joinStopErrors joins the failures of results, one line for the
// services that failed for one same reason (a supervisor of another
// build, a daemon out of reach), in the order of their first failure:
// the reason, and what to do about it, is read once rather than once per
// service. Each result keeps its own error.
func joinStopErrors(results []StopResult) error {
	type group struct {
		names        []string
		first, cause error
	}
	var groups []*group
	byCause := map[string]*group{}
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		cause := errors.Unwrap(r.Err)
		if cause == nil {
			groups = append(groups, &group{names: []string{r.Name}, first: r.Err})
			continue
		}
		g := byCause[cause.Error()]
		if g == nil {
			g = &group{first: r.Err, cause: cause}
			byCause[cause.Error()] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, r.Name)
	}
	errs := make([]error, len(groups))
	for i, g := range groups {
		errs[i] = g.first
		if len(g.names) > 1 {
			errs[i] = &stopsFailed{names: g.names, cause: g.cause}
		}
	}
	return errors.Join(errs...)
}

// stopsFailed is the failure of several services' stops for one reason.
type stopsFailed struct {
	names []string
	cause error
}

func (e *stopsFailed) Error() string {
	names := "'" + strings.Join(e.names, "', '") + "'"
	if len(e.names) > 4 {
		names = fmt.Sprintf("'%s' and %d more", strings.Join(e.names[:3], "', '"), len(e.names)-3)
	}
	return fmt.Sprintf("failed to stop %s (%d services): %v", names, len(e.names), e.cause)
}

func (e *stopsFailed) Unwrap() error { return e.cause }

// RecordChecker is implemented by a runner whose stop takes the record
// its plan read, moments before, as it is, and checks it itself (the
// process runner): when the planned process cannot be shown alive and the
// service's record names another launch by then (relaunched in between),
// the stop does nothing and returns ErrRecordMoved, and the manager
// inspects the service again and stops what it finds. While the planned
// process lives, no other launch of the service can have been recorded.
// StillRecorded answers from the record alone whether it still names the
// launch of h (the same PID, start time and launch token). Read again
// before every stop, the records of a stop of 100 were 400 system calls,
// and before that each service's process and environment were inspected
// again (a fifth of a command's work).
type RecordChecker interface {
	StillRecorded(svc *Service, h Handle) bool
}

// stopState is the state a stop acts on: the planned one, which a
// RecordChecker or a StopBeginner (begun) checks itself as it stops
// (ErrRecordMoved), or a fresh inspection.
func (m *Manager) stopState(ctx context.Context, svc *Service, run Runner, planned State, ok, begun bool) (State, error) {
	if ok && planned.Handle != nil {
		if _, checks := run.(RecordChecker); checks || begun {
			return planned, nil
		}
	}
	return m.inspect(ctx, svc, run)
}

func (m *Manager) stopOne(ctx context.Context, svc *Service, run Runner, req StopRequest, planned State, ok bool) StopResult {
	res, h, opts, signal := m.prepareStop(ctx, svc, run, req, planned, ok, false)
	if !signal {
		return res
	}
	// pre_stop steps run while the service still runs; one that fails is
	// reported, and the service is stopped all the same.
	hookErr := m.runHooks(ctx, svc.Name, "pre_stop")
	err := run.Stop(ctx, svc, h, opts)
	if errors.Is(err, ErrRecordMoved) && ok {
		// Relaunched since it was inspected: stopped as it is now.
		return m.stopOne(ctx, svc, run, req, State{}, false)
	}
	return stopFailed(res, err, hookErr)
}

// prepareStop is a stop up to its first signal: the state it acts on and
// the options. signal is false when nothing is left to signal (res is the
// stop's result: not running, unmanaged, or failed). begun says a
// StopBeginner begins it (stopState).
func (m *Manager) prepareStop(ctx context.Context, svc *Service, run Runner, req StopRequest, planned State, ok, begun bool) (res StopResult, h Handle, opts StopOptions, signal bool) {
	res = StopResult{Name: svc.Name}
	fail := func(err error) StopResult {
		res.Err = fmt.Errorf("failed to stop '%s': %w", svc.Name, err)
		return res
	}
	if run.Capabilities().Unmanaged {
		// berth stops nothing it did not start (a remote service).
		res.Unmanaged = true
		return res, h, opts, false
	}
	st, err := m.stopState(ctx, svc, run, planned, ok, begun)
	if err != nil {
		res.Unreachable = true
		return fail(err), h, opts, false
	}
	if !st.IsRunning() {
		if st.Handle == nil {
			return res, h, opts, false
		}
		// A runner keeps the record while processes of the service that
		// left its group survive its main process: those are stopped too.
		var lo *LeftoverError
		if err := run.Forget(ctx, svc, *st.Handle); !errors.As(err, &lo) {
			if err != nil {
				return fail(err), h, opts, false
			}
			return res, h, opts, false
		}
	}
	res.WasRunning, res.PID = true, st.PID
	opts = StopOptions{Signal: svc.StopSignal, Grace: svc.StopGrace, Kill: req.Force}
	if req.Grace > 0 {
		opts.Grace = req.Grace
	}
	return res, *st.Handle, opts, true
}

// stopFailed is res with the error of the runner's stop and a pre_stop
// step's, if any.
func stopFailed(res StopResult, err, hookErr error) StopResult {
	switch {
	case err != nil:
		res.Err = fmt.Errorf("failed to stop '%s': %w", res.Name, errors.Join(err, hookErr))
	case hookErr != nil:
		res.Err = fmt.Errorf("failed to stop '%s': %w", res.Name, fmt.Errorf("stopped, but %w", hookErr))
	}
	return res
}
