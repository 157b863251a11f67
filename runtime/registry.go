package runtime

import (
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
