package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime/health"
)

// DefaultStartCheck is how long the services launched by one start are
// watched, all together, for an immediate exit.
const DefaultStartCheck = 250 * time.Millisecond

// ReadyFunc waits until a launched service is ready. The lifecycle calls it
// after each launch and before launching any service started after it; an
// error fails the start. Health checks plug in here.
type ReadyFunc func(ctx context.Context, svc *Service, h Handle) error

// Manager carries out start, stop, restart and status for one environment.
type Manager struct {
	Env     *metadata.Env
	Runners *Registry
	// StartCheck overrides DefaultStartCheck; negative disables the check.
	StartCheck time.Duration
	// Ready, if set, is the readiness wait after each launch.
	Ready ReadyFunc
	// Progress, if set, receives notes such as skipped services.
	Progress io.Writer
	// Now is the clock for uptimes; time.Now if nil.
	Now func() time.Time
	// Host, if set, limits every command to the services on that manifest host.
	Host string
	// Parallel is how many services a start launches at once; 0 means
	// DefaultParallel, 1 a strictly sequential start.
	Parallel int
	// NoDeps starts only the services named, not their stopped dependencies.
	NoDeps bool
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) note(format string, args ...any) {
	if m.Progress != nil {
		fmt.Fprintf(m.Progress, format+"\n", args...)
	}
}

// base is a service as far as inspecting and stopping it needs: no
// expansion, so status and stop work before its component is installed.
func (m *Manager) base(name string) (*Service, Runner, error) {
	spec := m.Env.Manifest.Services[name]
	if spec == nil {
		return nil, nil, fmt.Errorf("unknown service %q (services: %s)", name, strings.Join(m.Env.Manifest.ServiceOrder, ", "))
	}
	kind := spec.Runner
	if kind == "" {
		kind = metadata.RunnerProcess
	}
	svc := &Service{Name: name, Runner: kind, Dir: m.Env.Root, StopSignal: spec.StopSignalOf(),
		StopGrace: spec.StopGrace(), StateDir: m.Env.Path("pids"), Spec: spec, Environment: m.Env.Name(),
		Root: m.Env.Root, CommandOf: commandOf(m.Env, name, spec)}
	run, err := m.Runners.Runner(kind)
	if err != nil {
		return nil, nil, fmt.Errorf("service %s: %w", name, err)
	}
	return svc, run, nil
}

func (m *Manager) inspect(ctx context.Context, svc *Service, run Runner) (State, error) {
	st, err := run.Inspect(ctx, svc)
	if err != nil {
		return st, fmt.Errorf("inspect %s: %w", svc.Name, err)
	}
	st.Name, st.Runner = svc.Name, svc.Runner
	if st.IsRunning() && st.StartedAt != nil {
		st.Uptime = m.now().Sub(*st.StartedAt).Truncate(time.Second).String()
	}
	return st, nil
}

// Status reports the named services (all when names is empty) in manifest
// order. It reads records only and changes nothing.
func (m *Manager) Status(ctx context.Context, names []string) ([]State, error) {
	sel, all := m.Env.Manifest.ServiceOrder, true
	if len(names) > 0 {
		var err error
		if sel, all, err = Select(m.Env.Manifest, names, m.Env.Manifest.ServiceOrder); err != nil {
			return nil, err
		}
	}
	sel, err := m.onHost(sel, all)
	if err != nil {
		return nil, err
	}
	// Inspections read files or ask a daemon: run them side by side, so a
	// status of many services costs about what one of few does.
	// Every service gets a state, so one unreachable daemon does not hide
	// the others: one that cannot be inspected is Unknown, and the error
	// names each of those.
	out := make([]State, len(sel))
	errs := make([]error, len(sel))
	var g errgroup.Group
	g.SetLimit(8)
	for i, n := range sel {
		svc, run, err := m.base(n)
		if err != nil {
			return nil, err
		}
		g.Go(func() error {
			st, err := m.inspect(ctx, svc, run)
			if err != nil {
				st = State{Name: n, Runner: svc.Runner, State: Unknown, Reason: err.Error()}
			}
			out[i], errs[i] = st, err
			return nil
		})
	}
	g.Wait()
	return out, errors.Join(errs...)
}

// DefaultParallel is how many services a start launches at once unless
// Manager.Parallel says otherwise.
const DefaultParallel = 4

// StartPlan is what a start will do: the services to launch in start order,
// what each waits for, and those skipped because they run already.
type StartPlan struct {
	Launch  []*Service
	Skipped []State
	// Pulled are the stopped dependencies added to the services named, in
	// start order (none with --no-deps or all).
	Pulled []string
	// Waits maps a service of Launch to the services of Launch it waits
	// for and on what condition (started: launched; healthy: ready).
	// Dependencies that run already are in Confirm; those not started
	// (--no-deps) are not waited for.
	Waits map[string][]metadata.Dependency
	// Confirm maps a service of Launch to the dependencies it needs healthy
	// that run already: their health is checked (within their
	// start_timeout) before it launches.
	Confirm map[string][]string

	mu      sync.Mutex
	locks   map[string]*metadata.FileLock
	runners map[string]Runner
}

func (p *StartPlan) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, l := range p.locks {
		l.Unlock()
		delete(p.locks, n)
	}
}

func (p *StartPlan) unlock(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.locks[name]; l != nil {
		l.Unlock()
		delete(p.locks, name)
	}
}

// lockStart takes the service's start lock and records this process as holder.
func lockStart(svc *Service) (*metadata.FileLock, error) {
	path := filepath.Join(svc.StateDir, svc.Name+".lock")
	l, err := metadata.TryLock(path)
	if errors.Is(err, metadata.ErrLocked) {
		holder, _ := os.ReadFile(path)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(holder)))
		return nil, &BusyError{Service: svc.Name, Holder: pid}
	}
	if err != nil {
		return nil, fmt.Errorf("start lock of %s: %w", svc.Name, err)
	}
	f := l.File()
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return l, nil
}

// PlanStart resolves and locks the selected services and their stopped
// dependencies (unless NoDeps), finds which run already and refuses
// conflicts. A named service that runs is an error and nothing is planned;
// with all, running services are skipped. The caller must Execute or
// Abandon the plan to release its locks.
func (m *Manager) PlanStart(ctx context.Context, names []string) (*StartPlan, error) {
	man := m.Env.Manifest
	order := StartOrder(man)
	sel, all, err := Select(man, names, order)
	if err != nil {
		return nil, err
	}
	if sel, err = m.onHost(sel, all); err != nil {
		return nil, err
	}
	named := map[string]bool{}
	for _, n := range sel {
		named[n] = true
	}
	if !all && !m.NoDeps {
		sel = WithDependencies(man, sel)
	}
	p := &StartPlan{locks: map[string]*metadata.FileLock{}, runners: map[string]Runner{}, Waits: map[string][]metadata.Dependency{}, Confirm: map[string][]string{}}
	ok := false
	defer func() {
		if !ok {
			p.release()
		}
	}()
	launching := map[string]bool{}
	for _, n := range sel {
		_, run, err := m.base(n)
		if err != nil {
			return nil, err
		}
		svc, err := Resolve(m.Env, n)
		if err != nil {
			if !named[n] {
				err = fmt.Errorf("%w (a dependency; --no-deps starts only the services named)", err)
			}
			return nil, err
		}
		l, err := lockStart(svc)
		if err != nil {
			return nil, err
		}
		p.locks[n] = l
		st, err := m.inspect(ctx, svc, run)
		if err != nil {
			return nil, err
		}
		if st.IsRunning() {
			if named[n] && !all {
				return nil, &AlreadyRunningError{Service: n, PID: st.PID}
			}
			if named[n] {
				p.Skipped = append(p.Skipped, st)
			}
			l.Unlock()
			delete(p.locks, n)
			continue
		}
		if !named[n] {
			p.Pulled = append(p.Pulled, n)
		}
		p.Launch = append(p.Launch, svc)
		p.runners[n] = run
		launching[n] = true
	}
	for _, svc := range p.Launch {
		for _, d := range man.Services[svc.Name].DependsOn {
			if launching[d.Service] {
				p.Waits[svc.Name] = append(p.Waits[svc.Name], d)
			} else if d.Condition == metadata.ConditionHealthy && m.isRunning(ctx, d.Service) {
				p.Confirm[svc.Name] = append(p.Confirm[svc.Name], d.Service)
			}
		}
	}
	if err := m.checkConflicts(ctx, p, launching); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// ConflictError means a service may not start while another one runs, or
// both were asked to start (conflicts in berth.yaml, either direction).
type ConflictError struct {
	Service string
	With    string
	// PID is the running conflicting service's, if known.
	PID int
	// Both says both were to be started by this command.
	Both bool
}

func (e *ConflictError) Error() string {
	if e.Both {
		return fmt.Sprintf("cannot start %s and %s together: they conflict (conflicts in berth.yaml); start one of them", e.Service, e.With)
	}
	pid := ""
	if e.PID != 0 {
		pid = fmt.Sprintf(" (PID %d)", e.PID)
	}
	return fmt.Sprintf("cannot start %s: it conflicts with %s, which is running%s; stop %s first", e.Service, e.With, pid, e.With)
}

// Conflicts lists the services that name must not run alongside: those it
// names in conflicts and those that name it, in manifest order.
func Conflicts(man *metadata.Manifest, name string) []string {
	want := map[string]bool{}
	if s := man.Services[name]; s != nil {
		for _, c := range s.Conflicts {
			want[c] = true
		}
	}
	for _, n := range man.ServiceOrder {
		if s := man.Services[n]; s != nil && slices.Contains(s.Conflicts, name) {
			want[n] = true
		}
	}
	var out []string
	for _, n := range man.ServiceOrder {
		if want[n] && n != name {
			out = append(out, n)
		}
	}
	return out
}

func (m *Manager) checkConflicts(ctx context.Context, p *StartPlan, launching map[string]bool) error {
	seen := map[string]*State{}
	for _, svc := range p.Launch {
		for _, c := range Conflicts(m.Env.Manifest, svc.Name) {
			if launching[c] {
				return &ConflictError{Service: svc.Name, With: c, Both: true}
			}
			st := seen[c]
			if st == nil {
				base, run, err := m.base(c)
				if err != nil {
					return err
				}
				// Hold the other service's start lock until this start has
				// launched, so that a berth starting it at the same moment
				// cannot pass its own conflict check while this one runs.
				l, err := lockStart(base)
				if err != nil {
					return fmt.Errorf("%s conflicts with %s: %w", svc.Name, c, err)
				}
				p.mu.Lock()
				p.locks[c] = l
				p.mu.Unlock()
				s, err := m.inspect(ctx, base, run)
				if err != nil {
					return err
				}
				st = &s
				seen[c] = st
			}
			if st.IsRunning() {
				return &ConflictError{Service: svc.Name, With: c, PID: st.PID}
			}
		}
	}
	return nil
}

// Abandon releases a plan's locks without starting anything.
func (p *StartPlan) Abandon() { p.release() }

// Start plans and executes a start.
func (m *Manager) Start(ctx context.Context, names []string) ([]State, error) {
	p, err := m.PlanStart(ctx, names)
	if err != nil {
		return nil, err
	}
	return m.Execute(ctx, p)
}

type launched struct {
	svc *Service
	run Runner
	h   Handle
}

func (m *Manager) parallel() int {
	if m.Parallel > 0 {
		return m.Parallel
	}
	return DefaultParallel
}

// Execute launches the plan's services in dependency order, independent
// ones concurrently: at most Parallel launches at a time, while readiness
// waits run alongside; a dependent waits for its dependencies' condition.
// With Parallel 1 the start is strictly sequential, each service launched
// after the one before it is ready, in start order. Then it watches every
// launched service together for the start check. The first failure ends
// further launches; services already launched stay running. It returns the
// state of every service that started.
func (m *Manager) Execute(ctx context.Context, p *StartPlan) ([]State, error) {
	defer p.release()
	for _, st := range p.Skipped {
		m.note("%s is already running (%s), skipped", st.Name, st.Describe())
	}
	var (
		mu      sync.Mutex
		done    []launched
		results = map[string]*health.Result{}
		failed  = map[string]error{}
		// An exit seen by the start check says more (exit status, log
		// lines) than a readiness wait that saw the process go.
		checkErrs = map[string]error{}
		checks    sync.WaitGroup
	)
	nodes := make([]string, len(p.Launch))
	byName := map[string]*Service{}
	gates := map[string][]gate{}
	for i, svc := range p.Launch {
		nodes[i] = svc.Name
		byName[svc.Name] = svc
		for _, d := range p.Waits[svc.Name] {
			gates[svc.Name] = append(gates[svc.Name], gate{node: d.Service, done: d.Condition == metadata.ConditionHealthy})
		}
	}
	limit := m.parallel()
	walk(ctx, nodes, gates, walkOptions{limit: limit, slotUntilDone: limit == 1}, func(wctx context.Context, n string, launchedFn func()) error {
		svc, run := byName[n], p.runners[n]
		for _, d := range p.Confirm[n] {
			if err := m.confirmHealthy(wctx, d); err != nil {
				p.unlock(n)
				err = fmt.Errorf("failed to start '%s': it needs %s healthy: %w", n, d, err)
				mu.Lock()
				failed[n] = err
				mu.Unlock()
				return err
			}
		}
		// The launch gets the caller's context: another service's failure
		// must not cut a launch in half.
		h, err := run.Start(ctx, svc)
		p.unlock(n)
		if err != nil {
			err = fmt.Errorf("failed to start '%s': %w", n, err)
			mu.Lock()
			failed[n] = err
			mu.Unlock()
			return err
		}
		l := launched{svc, run, h}
		mu.Lock()
		done = append(done, l)
		mu.Unlock()
		checks.Add(1)
		go func() {
			defer checks.Done()
			if err := m.startCheck(ctx, l); err != nil {
				mu.Lock()
				checkErrs[n] = err
				mu.Unlock()
			}
		}()
		launchedFn()
		r, err := m.ready(wctx, svc, run, h)
		mu.Lock()
		defer mu.Unlock()
		if r != nil {
			results[n] = r
		}
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				return nil // another service failed and cut this wait short
			}
			err = fmt.Errorf("failed to start '%s': %w", n, err)
			failed[n] = err
			return err
		}
		return nil
	})
	p.release()
	rank := map[string]int{}
	for i, n := range nodes {
		rank[n] = i
	}
	sort.Slice(done, func(i, j int) bool { return rank[done[i].svc.Name] < rank[done[j].svc.Name] })
	checks.Wait()
	for n, err := range checkErrs {
		failed[n] = err
	}
	var errs []error
	for _, n := range nodes {
		if failed[n] != nil {
			errs = append(errs, failed[n])
		}
	}
	var states []State
	for _, l := range done {
		st, err := m.inspect(ctx, l.svc, l.run)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.IsRunning() {
			if r := results[l.svc.Name]; r != nil {
				st.Health, st.HealthDetail = string(health.StateHealthy), r.Detail
			}
			states = append(states, st)
		}
	}
	return states, errors.Join(errs...)
}

// NotHealthyError means a started service did not become healthy in time.
// It is left running.
type NotHealthyError struct {
	Service string
	Err     error // the *health.WaitError
}

func (e *NotHealthyError) Error() string {
	return fmt.Sprintf("%v; %s was left running: see berth logs %s and berth health %s, or stop it with berth stop %s", e.Err, e.Service, e.Service, e.Service, e.Service)
}

func (e *NotHealthyError) Unwrap() error { return e.Err }

// ready waits for a launched service: the Ready hook if set, else its
// health check (if any) until healthy within its start_timeout. The wait
// ends at once if the service's process ends.
func (m *Manager) ready(ctx context.Context, svc *Service, run Runner, h Handle) (*health.Result, error) {
	if m.Ready != nil {
		return nil, m.Ready(ctx, svc, h)
	}
	spec := m.Env.Manifest.Services[svc.Name]
	if spec == nil || spec.Health == nil {
		return nil, nil
	}
	hc, err := m.healthCheck(svc.Name)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exited := make(chan struct{})
	go func() {
		if _, err := run.Wait(wctx, h); err == nil {
			close(exited)
		}
	}()
	r, err := health.WaitHealthy(ctx, hc, health.WaitOptions{
		Options: health.Options{Dir: svc.Dir, Env: svc.Env},
		Service: svc.Name, Timeout: spec.StartWait(), Exited: exited,
	})
	if err != nil {
		if errors.Is(err, health.ErrTimeout) {
			return nil, &NotHealthyError{Service: svc.Name, Err: err}
		}
		return nil, err
	}
	return &r, nil
}

// isRunning says whether the service runs; a service that cannot be
// inspected counts as not running.
func (m *Manager) isRunning(ctx context.Context, name string) bool {
	svc, run, err := m.base(name)
	if err != nil {
		return false
	}
	st, err := m.inspect(ctx, svc, run)
	return err == nil && st.IsRunning()
}

// confirmHealthy waits, within its start_timeout, until a dependency that
// runs already passes its health check.
func (m *Manager) confirmHealthy(ctx context.Context, name string) error {
	hc, err := m.healthCheck(name)
	if err != nil || hc == nil {
		return err
	}
	_, err = health.WaitHealthy(ctx, hc, health.WaitOptions{
		Options: m.checkOptions(name), Service: name,
		Timeout: m.Env.Manifest.Services[name].StartWait(),
	})
	return err
}

// healthCheck is the service's health check with its variables expanded,
// or nil when it has none.
func (m *Manager) healthCheck(name string) (*metadata.HealthCheck, error) {
	spec := m.Env.Manifest.Services[name]
	if spec == nil || spec.Health == nil {
		return nil, nil
	}
	vars, err := m.Env.Vars(spec.Component)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	hc, err := health.Expand(spec.Health, vars)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	return hc, nil
}

// startCheck watches one launched service for the check window from its
// launch; services launched by one start are watched at the same time, and
// while others are still being launched or waited for. A service that ends
// fails with its exit status and last log lines, and its record is removed.
// It returns nil when the service still runs at the end of the window.
func (m *Manager) startCheck(ctx context.Context, l launched) error {
	window := m.StartCheck
	if window == 0 {
		window = DefaultStartCheck
	}
	if window < 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	exit, err := l.run.Wait(cctx, l.h)
	if err != nil {
		return nil // still running when the window closed
	}
	l.run.Forget(ctx, l.svc, l.h)
	return fmt.Errorf("failed to start '%s': %w", l.svc.Name,
		&StartFailedError{Service: l.svc.Name, Exit: exit, LastLines: lastLines(l.svc.Log, 10)})
}

func lastLines(l LogSpec, n int) []string {
	if l.To != metadata.LogFile || l.Path == "" {
		return nil
	}
	f, err := os.Open(l.Path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const tail = 8 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(fi.Size()-tail, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil
	}
	lines := strings.Split(string(bytes.TrimRight(buf, "\n")), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// StopRequest says how stop treats every service.
type StopRequest struct {
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

// PlanStop selects the services to stop and finds what runs. It refuses a
// named service whose dependents run unless req says what to do about them;
// all needs neither.
func (m *Manager) PlanStop(ctx context.Context, names []string, req StopRequest) (*StopPlan, error) {
	man := m.Env.Manifest
	sel, all, err := Select(man, names, StopOrder(man))
	if err != nil {
		return nil, err
	}
	if sel, err = m.onHost(sel, all); err != nil {
		return nil, err
	}
	p := &StopPlan{All: all, Running: map[string]State{}, Affected: map[string][]string{}, req: req}
	states := map[string]State{}
	state := func(n string) (State, error) {
		if st, ok := states[n]; ok {
			return st, nil
		}
		svc, run, err := m.base(n)
		if err != nil {
			return State{}, err
		}
		st, err := m.inspect(ctx, svc, run)
		if err != nil {
			return State{}, err
		}
		states[n] = st
		return st, nil
	}
	selected := map[string]bool{}
	for _, n := range sel {
		selected[n] = true
	}
	runningDependents := func(n string) ([]string, error) {
		var out []string
		for _, d := range AllDependents(man, n) {
			st, err := state(d)
			if err != nil {
				return nil, err
			}
			if st.IsRunning() {
				out = append(out, d)
			}
		}
		return out, nil
	}
	var refused []error
	for _, n := range sel {
		st, err := state(n)
		if err != nil {
			return nil, err
		}
		if !st.IsRunning() || all || req.IgnoreDependents {
			continue
		}
		deps, err := runningDependents(n)
		if err != nil {
			return nil, err
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
		if !req.WithDependents {
			refused = append(refused, &DependentsRunningError{Service: n, Dependents: outside})
			continue
		}
		for _, d := range outside {
			if !selected[d] {
				selected[d] = true
				p.Added = append(p.Added, d)
			}
		}
	}
	if len(refused) > 0 {
		return nil, errors.Join(refused...)
	}
	for _, n := range StopOrder(man) {
		if selected[n] {
			p.Stop = append(p.Stop, n)
		}
	}
	p.Added = slices.DeleteFunc(StopOrder(man), func(n string) bool { return !slices.Contains(p.Added, n) })
	for _, n := range p.Stop {
		st, err := state(n)
		if err != nil {
			return nil, err
		}
		if !st.IsRunning() {
			continue
		}
		p.Running[n] = st
		deps, err := runningDependents(n)
		if err != nil {
			return nil, err
		}
		p.Affected[n] = deps
	}
	return p, nil
}

// StopResult is what stop did to one service.
type StopResult struct {
	Name       string
	WasRunning bool
	PID        int
	Err        error
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
	type target struct {
		svc *Service
		run Runner
	}
	targets := map[string]target{}
	index := map[string]int{}
	for i, n := range p.Stop {
		svc, run, err := m.base(n)
		if err != nil {
			return nil, err
		}
		targets[n] = target{svc, run}
		index[n] = i
	}
	gates := map[string][]gate{}
	for n, ds := range Dependents(m.Env.Manifest) {
		for _, d := range ds {
			gates[n] = append(gates[n], gate{node: d, done: true})
		}
	}
	results := make([]StopResult, len(p.Stop))
	walk(ctx, p.Stop, gates, walkOptions{keepGoing: true, slotUntilDone: true}, func(_ context.Context, n string, _ func()) error {
		t := targets[n]
		results[index[n]] = m.stopOne(ctx, t.svc, t.run, p.req)
		return results[index[n]].Err
	})
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}

func (m *Manager) stopOne(ctx context.Context, svc *Service, run Runner, req StopRequest) StopResult {
	res := StopResult{Name: svc.Name}
	fail := func(err error) StopResult {
		res.Err = fmt.Errorf("failed to stop '%s': %w", svc.Name, err)
		return res
	}
	st, err := m.inspect(ctx, svc, run)
	if err != nil {
		return fail(err)
	}
	if !st.IsRunning() {
		if st.Handle != nil {
			if err := run.Forget(ctx, svc, *st.Handle); err != nil {
				return fail(err)
			}
		}
		return res
	}
	res.WasRunning, res.PID = true, st.PID
	opts := StopOptions{Signal: svc.StopSignal, Grace: svc.StopGrace, Kill: req.Force}
	if req.Grace > 0 {
		opts.Grace = req.Grace
	}
	if err := run.Stop(ctx, svc, *st.Handle, opts); err != nil {
		return fail(err)
	}
	return res
}

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
// dependents stopped with them.
func (m *Manager) ExecuteRestart(ctx context.Context, p *StopPlan) ([]StopResult, []State, error) {
	stopped, err := m.ExecuteStop(ctx, p)
	if err != nil {
		return stopped, nil, fmt.Errorf("%w\nnothing was started again because a stop failed", err)
	}
	names := []string{All}
	if !p.All {
		names = nil
		for _, r := range stopped {
			if !slices.Contains(p.Added, r.Name) || r.WasRunning {
				names = append(names, r.Name)
			}
		}
	}
	started, err := m.Start(ctx, names)
	return stopped, started, err
}

// Foreground runs one service attached to stdio until it ends. Its record
// is written so that status elsewhere shows it, and the start lock is
// released once it runs.
func (m *Manager) Foreground(ctx context.Context, name string, stdio Stdio) (Exit, error) {
	if name == All {
		return Exit{}, fmt.Errorf("--foreground runs exactly one service, not all")
	}
	// Stopped dependencies start detached first, as for any start; the
	// service itself is then the only one the plan launches.
	if !m.NoDeps && m.Env.Manifest.Services[name] != nil {
		var stopped []string
		for _, d := range WithDependencies(m.Env.Manifest, []string{name}) {
			if d != name && !m.isRunning(ctx, d) {
				stopped = append(stopped, d)
			}
		}
		if len(stopped) > 0 {
			m.note("starting the dependencies of %s first: %s", name, strings.Join(stopped, ", "))
			if _, err := m.Start(ctx, stopped); err != nil {
				return Exit{}, err
			}
		}
	}
	noDeps := m.NoDeps
	m.NoDeps = true
	p, err := m.PlanStart(ctx, []string{name})
	m.NoDeps = noDeps
	if err != nil {
		return Exit{}, err
	}
	defer p.release()
	for _, d := range p.Confirm[name] {
		if err := m.confirmHealthy(ctx, d); err != nil {
			return Exit{}, fmt.Errorf("failed to run '%s': it needs %s healthy: %w", name, d, err)
		}
	}
	svc := p.Launch[0]
	run := p.runners[name]
	exit, err := run.Run(ctx, svc, stdio, func(Handle) { p.release() })
	if err != nil {
		return exit, fmt.Errorf("failed to run '%s': %w", name, err)
	}
	return exit, nil
}
