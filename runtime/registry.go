package runtime

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Factory makes a runner. It is called at most once per Registry, and only
// when a service needs that runner, so that status of an environment of host
// processes never contacts the Docker daemon.
type Factory func() (Runner, error)

// Registry maps the manifest's runner names (metadata.Service.Runner) to
// runners. A new runner kind is one Register call; the lifecycle does not change.
type Registry struct {
	mu        sync.Mutex
	factories map[string]Factory
	made      map[string]Runner
	closers   []func() error
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{factories: map[string]Factory{}, made: map[string]Runner{}}
}

// Register adds or replaces the factory for kind.
func (r *Registry) Register(kind string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.factories[kind] = f
	delete(r.made, kind)
}

// Runner returns the runner for kind, making it on first use.
func (r *Registry) Runner(kind string) (Runner, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run, ok := r.made[kind]; ok {
		return run, nil
	}
	f, ok := r.factories[kind]
	if !ok {
		kinds := make([]string, 0, len(r.factories))
		for k := range r.factories {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return nil, fmt.Errorf("runner %q is not available in this build of berth (available: %s)", kind, strings.Join(kinds, ", "))
	}
	run, err := f()
	if err != nil {
		return nil, fmt.Errorf("%s runner: %w", kind, err)
	}
	r.made[kind] = run
	return run, nil
}

// OnClose adds f to what Close runs: the connections the runners share
// (Docker clients, whose ssh:// connections are ssh processes).
func (r *Registry) OnClose(f func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closers = append(r.closers, f)
}

// Close releases what the runners hold. The registry may be used again
// afterwards; the runners reconnect.
func (r *Registry) Close() error {
	r.mu.Lock()
	closers := r.closers
	r.mu.Unlock()
	var errs []error
	for _, f := range closers {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// Close releases what the manager's runners hold (their Docker
// connections). Every command that makes a Manager closes it.
func (m *Manager) Close() error {
	if m.Runners == nil {
		return nil
	}
	return m.Runners.Close()
}
