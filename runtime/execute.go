package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime/health"
)

type launched struct {
	svc *Service
	run Runner
	h   Handle
	// exit, if set, is the one wait for the launch's end that its
	// readiness wait and start check share (each releases it once).
	exit *exitWatch
}

// execution is the state of one Execute, shared by its visits.
type execution struct {
	m *Manager
	p *StartPlan
	// ctx is the caller's: launches and start checks get it, so another
	// service's failure does not cut them in half.
	ctx context.Context

	mu      sync.Mutex
	done    []launched
	results map[string]*health.Result
	failed  map[string]error
	// An exit seen by the start check says more (exit status, log lines)
	// than a readiness wait that saw the process go.
	checkErrs map[string]error
	checks    sync.WaitGroup
	// sequenced are the services another waits for through StartPlan.After:
	// their visit ends only once their start check has passed.
	sequenced map[string]bool
}

// Execute launches the plan's services in dependency order, independent
// ones concurrently: at most the request's Parallel launches at a time,
// while readiness waits run alongside; a dependent waits for its
// dependencies' condition. With Parallel 1 the start is strictly
// sequential, each service launched after the one before it is ready, in
// start order. Then it watches every launched service together for the
// start check. The first failure ends further launches; services already
// launched stay running. It returns the state of every service that started.
func (m *Manager) Execute(ctx context.Context, p *StartPlan) ([]State, error) {
	defer p.release()
	for _, st := range p.Skipped {
		m.note("%s is already running (%s), skipped", st.Name, st.Describe())
	}
	e := &execution{m: m, p: p, ctx: ctx, results: map[string]*health.Result{},
		failed: map[string]error{}, checkErrs: map[string]error{}, sequenced: map[string]bool{}}
	nodes := make([]string, len(p.Launch))
	byName := map[string]*Service{}
	gates := map[string][]gate{}
	for i, svc := range p.Launch {
		nodes[i] = svc.Name
		byName[svc.Name] = svc
		for _, d := range p.Waits[svc.Name] {
			gates[svc.Name] = append(gates[svc.Name], gate{node: d.Service, done: d.Condition == metadata.ConditionHealthy})
		}
		if prev := p.After[svc.Name]; prev != "" {
			gates[svc.Name] = append(gates[svc.Name], gate{node: prev, done: true})
			e.sequenced[prev] = true
		}
	}
	limit := p.req.parallel()
	walk(ctx, nodes, gates, walkOptions{limit: limit, slotUntilDone: limit == 1}, func(wctx context.Context, n string, launchedFn func()) error {
		return e.visit(wctx, byName[n], launchedFn)
	})
	p.release()
	states, err := e.finish(nodes)
	// What could not be inspected fails last, once every other service
	// had its start.
	var left []error
	for _, n := range m.Env.Manifest.Graph().StartOrder() {
		if uerr := p.Unreachable[n]; uerr != nil {
			left = append(left, uerr)
		}
	}
	if len(left) > 0 {
		err = errors.Join(append([]error{err}, left...)...)
	}
	return states, err
}

func (e *execution) fail(n string, err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failed[n] = err
	return err
}

// visit confirms the health of running dependencies, launches svc, starts
// its start check, says it is launched and waits until it is ready.
func (e *execution) visit(wctx context.Context, svc *Service, launchedFn func()) error {
	n, run := svc.Name, e.p.runners[svc.Name]
	for _, d := range e.p.Confirm[n] {
		if err := e.m.confirmHealthy(wctx, d); err != nil {
			e.p.unlock(n)
			return e.fail(n, fmt.Errorf("failed to start '%s': it needs %s healthy: %w", n, d, err))
		}
	}
	h, err := run.Start(e.ctx, svc)
	e.p.unlock(n)
	if err != nil {
		return e.fail(n, fmt.Errorf("failed to start '%s': %w", n, err))
	}
	l := launched{svc, run, h, watchExit(e.ctx, run, h, 2)}
	e.mu.Lock()
	e.done = append(e.done, l)
	e.mu.Unlock()
	e.checks.Add(1)
	checked := make(chan error, 1)
	passed := make(chan struct{})
	go func() {
		defer e.checks.Done()
		err := e.m.startCheck(e.ctx, l, passed)
		if err != nil {
			e.mu.Lock()
			e.checkErrs[n] = err
			e.mu.Unlock()
		}
		checked <- err
	}()
	launchedFn()
	r, err := e.m.ready(wctx, l)
	if r != nil {
		e.mu.Lock()
		e.results[n] = r
		e.mu.Unlock()
	}
	if err == nil && r != nil && r.Healthy {
		close(passed) // its health check passed: it is up
	}
	if err != nil {
		if wctx.Err() != nil && e.ctx.Err() == nil {
			return nil // another service failed and cut this wait short
		}
		return e.fail(n, fmt.Errorf("failed to start '%s': %w", n, err))
	}
	if e.sequenced[n] {
		// The next in start_order launches only once this one is seen
		// still running; an immediate exit ends the start here.
		select {
		case err := <-checked:
			if err != nil {
				return e.fail(n, err)
			}
		case <-wctx.Done():
		}
	}
	// Ready: now its post_start steps (the database's migrations); a
	// dependent that needs it healthy waits for them too.
	if err := e.m.runHooks(wctx, n, "post_start"); err != nil {
		if wctx.Err() != nil && e.ctx.Err() == nil {
			return nil
		}
		return e.fail(n, fmt.Errorf("failed to start '%s': %w; %s was left running: see berth logs %s --stdout", n, err, n, n))
	}
	return nil
}

// finish waits for the start checks and reports, in start order, the state
// of every service still running and every failure.
func (e *execution) finish(nodes []string) ([]State, error) {
	rank := map[string]int{}
	for i, n := range nodes {
		rank[n] = i
	}
	sort.Slice(e.done, func(i, j int) bool { return rank[e.done[i].svc.Name] < rank[e.done[j].svc.Name] })
	e.checks.Wait()
	for n, err := range e.checkErrs {
		e.failed[n] = err
	}
	var errs []error
	for _, n := range nodes {
		if e.failed[n] != nil {
			errs = append(errs, e.failed[n])
		}
	}
	// The report inspects what it launched as a status does: with the
	// survey of each runner that makes one (the supervisor vouches in one
	// request for the launches it watches and has not seen end), so that
	// a supervised start of 100 reads no /proc file of theirs here (it
	// read 200). Taken after the start checks, as the inspections were.
	runs := make([]Runner, len(e.done))
	for i, l := range e.done {
		runs[i] = l.run
	}
	ctx := survey(e.ctx, runs)
	var states []State
	for _, l := range e.done {
		st, err := e.m.inspect(ctx, l.svc, l.run)
		if s, ok := l.run.(Settler); ok {
			s.Settle(l.svc, l.h, err == nil && st.IsRunning() && e.failed[l.svc.Name] == nil)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.IsRunning() {
			if r := e.results[l.svc.Name]; r != nil {
				st.Health, st.HealthDetail = string(health.StateHealthy), r.Detail
			}
			states = append(states, st)
		}
	}
	return states, errors.Join(errs...)
}
