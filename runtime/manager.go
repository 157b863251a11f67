package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berthdev/berth/internal/parts"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime/health"
)

// Manager carries out start, stop, restart and status for one environment.
// It holds only what lives as long as the environment; what one command asks
// for (host, parallelism, dependencies, grace) comes in its request.
type Manager struct {
	Env     *metadata.Env
	Runners *Registry
	// StartCheck overrides DefaultStartCheck; negative disables the check.
	StartCheck time.Duration
	// Ready, if set, is the readiness wait after each launch.
	Ready ReadyFunc
	// Exec runs hook steps and command checks that name in: inside a
	// container or compose service of the environment.
	Exec health.InExec
	// Progress, if set, receives notes such as skipped services.
	Progress io.Writer
	// Now is the clock for uptimes; time.Now if nil.
	Now func() time.Time
}

// noteMu keeps notes whole: services start concurrently, and a wait says
// what it waits for from a goroutine of its own.
var noteMu sync.Mutex

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) note(format string, args ...any) {
	if m.Progress != nil {
		noteMu.Lock()
		defer noteMu.Unlock()
		fmt.Fprintf(m.Progress, format+"\n", args...)
	}
}

// base is a service as far as inspecting and stopping it needs: no
// expansion, so status and stop work before its component is installed.
func (m *Manager) base(name string) (*Service, Runner, error) {
	spec := m.Env.Manifest.Services[name]
	if spec == nil {
		return nil, nil, m.Env.Manifest.UnknownService(name)
	}
	svc := newService(m.Env, name, spec)
	run, err := m.Runners.Runner(svc.Runner)
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

// StatusRequest says which services a status reports beyond their names.
type StatusRequest struct {
	// Host, if set, limits the status to the services on that manifest host.
	Host string
}

// localShare is the fewest local inspections (process services: a PID
// file and two /proc files each, tens of microseconds) worth a part of
// their own: a status or a stop plan of many services is split between
// the processors, each part inspecting in turn.
const localShare = 16

// Status reports the named services (all when names is empty) in manifest
// order. It reads records only and changes nothing.
func (m *Manager) Status(ctx context.Context, names []string, req StatusRequest) ([]State, error) {
	sel, all := m.Env.Manifest.ServiceOrder, true
	if len(names) > 0 {
		var err error
		if sel, all, err = Select(m.Env.Manifest, names, m.Env.Manifest.ServiceOrder); err != nil {
			return nil, err
		}
	}
	sel, err := m.onHost(sel, all, req.Host)
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
	svcs, runs := make([]*Service, len(sel)), make([]Runner, len(sel))
	for i, n := range sel {
		if svcs[i], runs[i], err = m.base(n); err != nil {
			return nil, err
		}
	}
	ctx = survey(ctx, runs)
	one := func(i int) {
		st, err := m.inspect(ctx, svcs[i], runs[i])
		if err != nil {
			st = State{Name: sel[i], Runner: svcs[i].Runner, State: Unknown, Reason: err.Error()}
		}
		out[i], errs[i] = st, err
	}
	var g errgroup.Group
	g.SetLimit(8)
	// The local inspections are made in parts, each in turn: by index,
	// not a closure each (20 KB for 100 services, with the slices grown).
	local := make([]int, 0, len(sel))
	localSvcs, localRuns := make([]*Service, 0, len(sel)), make([]Runner, 0, len(sel))
	for i, run := range runs {
		if run.Capabilities().LocalInspect {
			local = append(local, i)
			localSvcs, localRuns = append(localSvcs, svcs[i]), append(localRuns, run)
			continue
		}
		g.Go(func() error { one(i); return nil })
	}
	prepare(ctx, localSvcs, localRuns)
	parts.Run(len(local), localShare, func(_, lo, hi int) {
		for _, i := range local[lo:hi] {
			one(i)
		}
	})
	g.Wait()
	return out, errors.Join(errs...)
}

// prepare does, for each service whose runner is a Surveyor, the part of
// its inspection that needs no survey's answer, split between the
// processors as the inspections are: the answer comes meanwhile.
func prepare(ctx context.Context, svcs []*Service, runs []Runner) {
	parts.Run(len(svcs), localShare, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			if sv, ok := runs[j].(Surveyor); ok {
				sv.Prepare(ctx, svcs[j])
			}
		}
	})
}

// Surveyor is implemented by a runner that learns in one request what
// its inspections would each find out (the supervisor vouches for the
// launches it watches). A status, and a stop's plan, survey each such
// runner once, before their inspections, and hand them the survey in ctx:
// no other inspection sees it, so nothing acts on a survey older than the
// status or plan that made it (and a stop signals nothing on its word:
// see surveyFor).
//
// A survey's answer takes the supervisor a fraction of a millisecond, so
// its request is sent before the manifest is read and the answer waited
// for as late as can be: Prepare does the part of inspecting svc that
// needs no answer (the process runner reads the PID file), and a status
// or a plan prepares every service it inspects before the first
// inspection; an inspection uses what was prepared for it.
type Surveyor interface {
	Survey(ctx context.Context) context.Context
	Prepare(ctx context.Context, svc *Service)
}

func survey(ctx context.Context, runs []Runner) context.Context {
	var done []Runner
	for _, run := range runs {
		if sv, ok := run.(Surveyor); ok && !slices.Contains(done, run) {
			ctx = sv.Survey(ctx)
			done = append(done, run)
		}
	}
	return ctx
}
