package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
	"github.com/berthdev/berth/metadata"
)

// DefaultParallel is how many services a start launches at once unless
// StartRequest.Parallel says otherwise.
const DefaultParallel = 4

// StartRequest says how one start treats its services.
type StartRequest struct {
	// Host, if set, limits the start to the services on that manifest host.
	Host string
	// Parallel is how many services the start launches at once; 0 means
	// DefaultParallel, 1 a strictly sequential start.
	Parallel int
	// NoDeps starts only the services named, not their stopped dependencies.
	NoDeps bool
	// SkipRunning skips a named service that runs already, as all does,
	// instead of refusing the start (compose's up).
	SkipRunning bool
	// Profiles are the profiles named (--profile): with all, services in
	// profiles or with auto_start: false start only when one of their
	// profiles is named; the dependencies of those that start come too.
	Profiles []string
}

func (r StartRequest) parallel() int {
	if r.Parallel > 0 {
		return r.Parallel
	}
	return DefaultParallel
}

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
	// Unreachable are the services start all could not inspect (their
	// Docker daemon does not answer): neither they nor what needs them are
	// launched; Execute reports them as failures once the others started.
	Unreachable map[string]error
	// After maps a service of Launch to the one it launches after, once
	// that one is up and past its start check: start_order services with
	// no depends_on between them start one at a time, as the OQTOPUS CLI
	// starts them, and the first failure ends the start.
	After map[string]string

	req     StartRequest
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

func (p *StartPlan) hold(name string, l *metadata.FileLock) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.locks[name] = l
}

// Abandon releases a plan's locks without starting anything.
func (p *StartPlan) Abandon() { p.release() }

// StartLockPath is the start lock of the service name whose PID file is in
// stateDir: a start, and a supervisor's relaunch, hold it.
func StartLockPath(stateDir, name string) string { return filepath.Join(stateDir, name+".lock") }

// lockStart takes the service's start lock and records this process as holder.
func lockStart(svc *Service) (*metadata.FileLock, error) {
	path := StartLockPath(svc.StateDir, svc.Name)
	l, err := metadata.TryLock(path)
	if errors.Is(err, metadata.ErrLocked) {
		holder, _ := os.ReadFile(path)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(holder)))
		return nil, &BusyError{Service: svc.Name, Holder: pid}
	}
	if err != nil {
		return nil, fmt.Errorf("start lock of %s: %w", svc.Name, err)
	}
	// The holder is written over what the last holder wrote, without
	// truncating first (a truncate to nothing and the write after it free
	// and allocate the file's block, most of a lock's cost here), as a
	// whole page then cut to the record: a write of part of a page the
	// kernel has dropped (a lock idle for a while) reads it from disk
	// first, ~60 µs a service here against ~6 µs for the page and the cut.
	holder := fmt.Appendf(nil, "%-*d\n", holderWidth-1, os.Getpid())
	if err := rawfile.WriteAt(l.Fd(), rawfile.WholePage(holder), 0); err == nil {
		unix.Ftruncate(l.Fd(), int64(len(holder)))
	}
	return l, nil
}

// holderWidth is the size of a start lock's record of its holder: a PID
// (at most 7 digits on Linux) padded with spaces, and a newline.
const holderWidth = 11

// PlanStart resolves and locks the selected services and their stopped
// dependencies (unless req.NoDeps), finds which run already and refuses
// conflicts. A named service that runs is an error and nothing is planned;
// with all, running services are skipped. The caller must Execute or
// Abandon the plan to release its locks.
func (m *Manager) PlanStart(ctx context.Context, names []string, req StartRequest) (*StartPlan, error) {
	man := m.Env.Manifest
	graph := man.Graph()
	sel, all, err := Select(man, names, graph.StartOrder())
	if err != nil {
		return nil, err
	}
	if sel, err = m.onHost(sel, all, req.Host); err != nil {
		return nil, err
	}
	if all {
		if err := man.CheckProfiles(req.Profiles); err != nil {
			return nil, err
		}
		kept := startsWithAll(man, sel, req.Profiles)
		if len(kept) < len(sel) && !req.NoDeps {
			// A service left out by its profile still starts when one
			// that starts depends on it.
			kept = graph.WithDependencies(kept)
		}
		sel = kept
	}
	named := map[string]bool{}
	for _, n := range sel {
		named[n] = true
	}
	if !all && !req.NoDeps {
		sel = graph.WithDependencies(sel)
	}
	p := &StartPlan{req: req, locks: map[string]*metadata.FileLock{}, runners: map[string]Runner{},
		Waits: map[string][]metadata.Dependency{}, Confirm: map[string][]string{}, Unreachable: map[string]error{}}
	ok := false
	defer func() {
		if !ok {
			p.release()
		}
	}()
	launching := map[string]bool{}
	for _, n := range sel {
		launch, err := m.planOne(ctx, p, n, named[n], all)
		if err != nil {
			return nil, err
		}
		launching[n] = launch
	}
	m.holdBackDependents(p, graph, launching)
	for _, svc := range p.Launch {
		for _, d := range man.Services[svc.Name].DependsOn {
			if launching[d.Service] {
				p.Waits[svc.Name] = append(p.Waits[svc.Name], d)
			} else if d.Condition == metadata.ConditionHealthy && m.isRunning(ctx, d.Service) {
				p.Confirm[svc.Name] = append(p.Confirm[svc.Name], d.Service)
			}
		}
	}
	toLaunch := make([]string, 0, len(p.Launch))
	for _, svc := range p.Launch {
		toLaunch = append(toLaunch, svc.Name)
	}
	p.After = graph.SequencedAfter(toLaunch)
	if err := m.checkConflicts(ctx, p, launching); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// planOne resolves and locks service n for p and says whether it is to be
// launched: one that runs already is skipped (named with all) or refused
// (named), and its lock released.
func (m *Manager) planOne(ctx context.Context, p *StartPlan, n string, named, all bool) (bool, error) {
	_, run, err := m.base(n)
	if err != nil {
		return false, err
	}
	svc, err := Resolve(m.Env, n)
	if err != nil {
		if !named {
			err = fmt.Errorf("%w (a dependency; --no-deps starts only the services named)", err)
		}
		return false, err
	}
	l, err := lockStart(svc)
	if err != nil {
		return false, err
	}
	p.hold(n, l)
	st, err := m.inspect(ctx, svc, run)
	if err != nil && all {
		p.Unreachable[n] = &UnreachableError{Service: n, Err: err}
		p.unlock(n)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.IsRunning() && run.Capabilities().Unmanaged {
		m.note("%s is %s and answers: berth does not start it, nothing to do", n, st.Describe())
		p.unlock(n)
		return false, nil
	}
	if st.IsRunning() {
		if named && !all && !p.req.SkipRunning {
			return false, &AlreadyRunningError{Service: n, PID: st.PID}
		}
		if named {
			p.Skipped = append(p.Skipped, st)
		}
		p.unlock(n)
		return false, nil
	}
	if sp, ok := run.(StartPreparer); ok {
		sp.PrepareStart()
	}
	if !named {
		p.Pulled = append(p.Pulled, n)
	}
	p.Launch = append(p.Launch, svc)
	p.runners[n] = run
	return true, nil
}

// Start plans and executes a start.
func (m *Manager) Start(ctx context.Context, names []string, req StartRequest) ([]State, error) {
	p, err := m.PlanStart(ctx, names, req)
	if err != nil {
		return nil, err
	}
	return m.Execute(ctx, p)
}

// UnreachableError is a service start all left out because it could not be
// inspected (its Docker daemon does not answer).
type UnreachableError struct {
	Service string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("failed to start '%s': %v", e.Service, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// withoutUnreachable drops the UnreachableErrors from a joined error.
func withoutUnreachable(err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		var ue *UnreachableError
		if errors.As(err, &ue) {
			return nil
		}
		return err
	}
	var keep []error
	for _, e := range joined.Unwrap() {
		if withoutUnreachable(e) != nil {
			keep = append(keep, e)
		}
	}
	return errors.Join(keep...)
}

// holdBackDependents takes out of the launch every service that needs,
// directly or not, a service start all could not inspect: it fails too,
// naming what it needs.
func (m *Manager) holdBackDependents(p *StartPlan, graph *metadata.Graph, launching map[string]bool) {
	if len(p.Unreachable) == 0 {
		return
	}
	kept := p.Launch[:0]
	for _, svc := range p.Launch {
		var needs string
		for _, d := range graph.WithDependencies([]string{svc.Name}) {
			if _, ok := p.Unreachable[d]; ok && d != svc.Name {
				needs = d
				break
			}
		}
		if needs == "" {
			kept = append(kept, svc)
			continue
		}
		p.Unreachable[svc.Name] = fmt.Errorf("failed to start '%s': it needs %s, which could not be inspected", svc.Name, needs)
		p.unlock(svc.Name)
		delete(p.runners, svc.Name)
		launching[svc.Name] = false
	}
	p.Launch = kept
}

// startsWithAll keeps the services start all starts with the profiles named.
func startsWithAll(man *metadata.Manifest, sel, profiles []string) []string {
	var out []string
	for _, n := range sel {
		if man.Services[n].StartsWithAll(profiles) {
			out = append(out, n)
		}
	}
	return out
}
