// Package fakerunner is a Runner in memory, for the lifecycle's own tests:
// ordering, locking, dependents, conflicts, restart rules and partial
// failures run in milliseconds without processes or a daemon. Faults that
// are slow or impossible to make for real (a daemon that does not answer, a
// launch that fails) are set per service. It keeps the Runner contract the
// lifecycle relies on: Start returns once launched, Inspect changes
// nothing, Stop ends the service or fails with a *StopTimeoutError.
package fakerunner

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
)

// Runner runs services in memory. Set its fault maps before use.
type Runner struct {
	// Exits ends the services it names, that way, right after each launch.
	Exits map[string]runtime.Exit
	// StartErrs fails the launch of the services it names.
	StartErrs map[string]error
	// Away fails every call about the services it names, as a Docker
	// daemon that does not answer does.
	Away map[string]error
	// Stubborn services outlive their stop signal: a stop without Kill
	// times out after the grace period.
	Stubborn map[string]bool
	// Output is what the services it names write at each launch.
	Output map[string][]string
	// LocalInspect says, as the process runner does, that an inspection
	// only reads local files: status and stop plans inspect in parts.
	LocalInspect bool

	mu     sync.Mutex
	live   map[string]*launch
	pid    int
	events []string
	logs   map[string][]string
}

type launch struct {
	h    runtime.Handle
	done chan struct{}
	exit runtime.Exit
}

var _ runtime.Runner = (*Runner)(nil)

// New returns an empty fake runner.
func New() *Runner {
	return &Runner{live: map[string]*launch{}, logs: map[string][]string{}}
}

// Events lists what the runner was asked to do, in order: "start a",
// "stop a", "run a".
func (r *Runner) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// Running names the services that run now.
func (r *Runner) Running() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n, l := range r.live {
		if !ended(l) {
			out = append(out, n)
		}
	}
	return out
}

func ended(l *launch) bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (r *Runner) launch(svc *runtime.Service, verb string) (*launch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.Away[svc.Name]; err != nil {
		return nil, err
	}
	r.events = append(r.events, verb+" "+svc.Name)
	if err := r.StartErrs[svc.Name]; err != nil {
		return nil, err
	}
	if l := r.live[svc.Name]; l != nil && !ended(l) {
		return nil, fmt.Errorf("service %s runs already (fake PID %d)", svc.Name, l.h.PID)
	}
	r.pid++
	// LogFrom is where this launch's lines begin, as for a host process.
	l := &launch{done: make(chan struct{}), h: runtime.Handle{Service: svc.Name, Runner: svc.Runner,
		PID: 1000 + r.pid, PGID: 1000 + r.pid, StartedAt: time.Now(), LogFrom: int64(len(r.logs[svc.Name]))}}
	r.logs[svc.Name] = append(r.logs[svc.Name], r.Output[svc.Name]...)
	r.live[svc.Name] = l
	if exit, ok := r.Exits[svc.Name]; ok {
		l.exit = exit
		close(l.done)
	}
	return l, nil
}

// Start launches svc.
func (r *Runner) Start(_ context.Context, svc *runtime.Service) (runtime.Handle, error) {
	l, err := r.launch(svc, "start")
	if err != nil {
		return runtime.Handle{}, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	return l.h, nil
}

// Run launches svc, says so, and returns how it ended: its Exits entry,
// or code 0 at once.
func (r *Runner) Run(_ context.Context, svc *runtime.Service, _ runtime.Stdio, launched func(runtime.Handle)) (runtime.Exit, error) {
	l, err := r.launch(svc, "run")
	if err != nil {
		return runtime.Exit{}, err
	}
	if launched != nil {
		launched(l.h)
	}
	r.end(svc.Name, l, l.exit)
	r.Forget(context.Background(), svc, l.h)
	return l.exit, nil
}

func (r *Runner) end(name string, l *launch, exit runtime.Exit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ended(l) {
		l.exit = exit
		close(l.done)
	}
}

func (r *Runner) find(h runtime.Handle) *launch {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.live[h.Service]; l != nil && l.h.PID == h.PID {
		return l
	}
	return nil
}

// Wait returns when the launch of h ends.
func (r *Runner) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	l := r.find(h)
	if l == nil {
		return runtime.Exit{}, runtime.ErrNotRunning
	}
	select {
	case <-l.done:
		return l.exit, nil
	case <-ctx.Done():
		return runtime.Exit{}, ctx.Err()
	}
}

// Stop ends the launch of h and removes its record; a Stubborn service
// outlives the grace period unless opts.Kill.
func (r *Runner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	r.mu.Lock()
	away := r.Away[svc.Name]
	stubborn := r.Stubborn[svc.Name]
	r.events = append(r.events, "stop "+svc.Name)
	r.mu.Unlock()
	if away != nil {
		return away
	}
	l := r.find(h)
	if l == nil {
		return nil
	}
	exit := runtime.Exit{Signal: opts.Signal}
	if stubborn {
		t := time.NewTimer(opts.Grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !opts.Kill {
			return &runtime.StopTimeoutError{Service: svc.Name, Grace: opts.Grace, Signal: opts.Signal,
				Survivors: []string{fmt.Sprintf("PID %d (fake)", h.PID)}}
		}
		exit = runtime.Exit{Signal: syscall.SIGKILL}
	}
	r.end(svc.Name, l, exit)
	return r.Forget(ctx, svc, h)
}

// Inspect reports the service's launch; it changes nothing.
func (r *Runner) Inspect(_ context.Context, svc *runtime.Service) (runtime.State, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := runtime.State{Name: svc.Name, Runner: svc.Runner, State: runtime.Stopped}
	if err := r.Away[svc.Name]; err != nil {
		return st, err
	}
	l := r.live[svc.Name]
	if l == nil {
		return st, nil
	}
	h := l.h
	st.Handle = &h
	if ended(l) {
		st.Reason = "the process " + l.exit.String()
		return st, nil
	}
	at := l.h.StartedAt
	st.State, st.PID, st.StartedAt = runtime.Running, l.h.PID, &at
	return st, nil
}

// Forget removes the record of h if it still names h.
func (r *Runner) Forget(_ context.Context, svc *runtime.Service, h runtime.Handle) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.live[svc.Name]; l != nil && l.h.PID == h.PID {
		delete(r.live, svc.Name)
	}
	return nil
}

// Logs returns what the service wrote (Output at each launch): with
// opts.Launch, only that launch's lines; the last opts.Tail of them. It
// does not follow.
func (r *Runner) Logs(_ context.Context, svc *runtime.Service, opts runtime.LogOptions) (io.ReadCloser, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.logs[svc.Name]
	if opts.Launch != nil && int(opts.Launch.LogFrom) <= len(lines) {
		lines = lines[opts.Launch.LogFrom:]
	}
	if opts.Tail >= 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	text := strings.Join(lines, "\n")
	if len(lines) > 0 {
		text += "\n"
	}
	return io.NopCloser(strings.NewReader(text)), nil
}

// Capabilities: it runs services in the foreground; its lines have no
// times; LocalInspect as set.
func (r *Runner) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{Foreground: true, LocalInspect: r.LocalInspect}
}
