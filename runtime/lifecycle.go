package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/metadata"
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
		StopGrace: spec.StopGrace(), StateDir: m.Env.Path("pids"), Spec: spec, Environment: m.Env.Name()}
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
	out := make([]State, 0, len(sel))
	for _, n := range sel {
		svc, run, err := m.base(n)
		if err != nil {
			return nil, err
		}
		st, err := m.inspect(ctx, svc, run)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// StartPlan is what a start will do: the services to launch in order and
// those skipped because they run already.
type StartPlan struct {
	Launch  []*Service
	Skipped []State
	locks   map[string]*metadata.FileLock
	runners map[string]Runner
}

func (p *StartPlan) release() {
	for n, l := range p.locks {
		l.Unlock()
		delete(p.locks, n)
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

// PlanStart resolves and locks the selected services and finds which run
// already. A named service that runs is an error and nothing is planned;
// with all, running services are skipped. The caller must Execute or
// Abandon the plan to release its locks.
func (m *Manager) PlanStart(ctx context.Context, names []string) (*StartPlan, error) {
	sel, all, err := Select(m.Env.Manifest, names, StartOrder(m.Env.Manifest))
	if err != nil {
		return nil, err
	}
	if sel, err = m.onHost(sel, all); err != nil {
		return nil, err
	}
	p := &StartPlan{locks: map[string]*metadata.FileLock{}, runners: map[string]Runner{}}
	ok := false
	defer func() {
		if !ok {
			p.release()
		}
	}()
	for _, n := range sel {
		_, run, err := m.base(n)
		if err != nil {
			return nil, err
		}
		svc, err := Resolve(m.Env, n)
		if err != nil {
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
			if !all {
				return nil, &AlreadyRunningError{Service: n, PID: st.PID}
			}
			p.Skipped = append(p.Skipped, st)
			l.Unlock()
			delete(p.locks, n)
			continue
		}
		p.Launch = append(p.Launch, svc)
		p.runners[n] = run
	}
	ok = true
	return p, nil
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

// Execute launches the plan's services in order, each after the readiness
// wait of the one before, then watches all of them together for the start
// check. It stops at the first failure; services already launched stay
// running. It returns the state of every service that started.
func (m *Manager) Execute(ctx context.Context, p *StartPlan) ([]State, error) {
	defer p.release()
	for _, st := range p.Skipped {
		m.note("%s is already running (%s), skipped", st.Name, st.Describe())
	}
	var done []launched
	var failed error
	for _, svc := range p.Launch {
		run := p.runners[svc.Name]
		h, err := run.Start(ctx, svc)
		p.locks[svc.Name].Unlock()
		delete(p.locks, svc.Name)
		if err != nil {
			failed = fmt.Errorf("failed to start '%s': %w", svc.Name, err)
			break
		}
		done = append(done, launched{svc, run, h})
		if m.Ready != nil {
			if err := m.Ready(ctx, svc, h); err != nil {
				failed = fmt.Errorf("failed to start '%s': %w", svc.Name, err)
				break
			}
		}
	}
	p.release()
	errs := m.startCheck(ctx, done)
	if failed != nil {
		errs = append(errs, failed)
	}
	var states []State
	for _, l := range done {
		st, err := m.inspect(ctx, l.svc, l.run)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.IsRunning() {
			states = append(states, st)
		}
	}
	return states, errors.Join(errs...)
}

// startCheck watches every launched service at once for the check window;
// one that ends fails with its exit status and last log lines, and its
// record is removed.
func (m *Manager) startCheck(ctx context.Context, done []launched) []error {
	window := m.StartCheck
	if window == 0 {
		window = DefaultStartCheck
	}
	if window < 0 || len(done) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	errs := make([]error, len(done))
	var wg sync.WaitGroup
	for i, l := range done {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exit, err := l.run.Wait(cctx, l.h)
			if err != nil {
				return // still running when the window closed
			}
			l.run.Forget(ctx, l.svc, l.h)
			errs[i] = fmt.Errorf("failed to start '%s': %w", l.svc.Name,
				&StartFailedError{Service: l.svc.Name, Exit: exit, LastLines: lastLines(l.svc.Log, 10)})
		}()
	}
	wg.Wait()
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
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
}

// StopResult is what stop did to one service.
type StopResult struct {
	Name       string
	WasRunning bool
	PID        int
	Err        error
}

// Stop stops the selected services in reverse start order: a service is
// stopped once every selected service depending on it has stopped, and
// services that do not depend on each other stop at the same time. It goes
// on past failures and returns them joined, each naming its service.
func (m *Manager) Stop(ctx context.Context, names []string, req StopRequest) ([]StopResult, error) {
	sel, all, err := Select(m.Env.Manifest, names, StopOrder(m.Env.Manifest))
	if err != nil {
		return nil, err
	}
	if sel, err = m.onHost(sel, all); err != nil {
		return nil, err
	}
	type target struct {
		svc *Service
		run Runner
	}
	targets := map[string]target{}
	for _, n := range sel {
		svc, run, err := m.base(n)
		if err != nil {
			return nil, err
		}
		targets[n] = target{svc, run}
	}
	dependents := Dependents(m.Env.Manifest)
	doneCh := map[string]chan struct{}{}
	for _, n := range sel {
		doneCh[n] = make(chan struct{})
	}
	results := make([]StopResult, len(sel))
	var wg sync.WaitGroup
	for i, n := range sel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(doneCh[n])
			for _, d := range dependents[n] {
				if ch, ok := doneCh[d]; ok {
					<-ch
				}
			}
			t := targets[n]
			results[i] = m.stopOne(ctx, t.svc, t.run, req)
		}()
	}
	wg.Wait()
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

// Restart stops the selected services, and only if every stop succeeded
// starts them again in start order.
func (m *Manager) Restart(ctx context.Context, names []string, req StopRequest) ([]StopResult, []State, error) {
	stopped, err := m.Stop(ctx, names, req)
	if err != nil {
		return stopped, nil, fmt.Errorf("%w\nnothing was started again because a stop failed", err)
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
	p, err := m.PlanStart(ctx, []string{name})
	if err != nil {
		return Exit{}, err
	}
	defer p.release()
	svc := p.Launch[0]
	run := p.runners[name]
	exit, err := run.Run(ctx, svc, stdio, func(Handle) { p.release() })
	if err != nil {
		return exit, fmt.Errorf("failed to run '%s': %w", name, err)
	}
	return exit, nil
}
