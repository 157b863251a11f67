package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
)

// statusFilter is status's --filter KEY=VALUE, repeated: a service is shown
// when it matches every key (and any of the values given for one key).
type statusFilter map[string][]string

// filterKeys are what --filter understands, with the values each takes
// (nil: any value).
var filterKeys = map[string][]string{
	"state":  {runtime.Running, runtime.Stopped, runtime.Unknown},
	"runner": {metadata.RunnerProcess, metadata.RunnerContainer, metadata.RunnerCompose, metadata.RunnerSwarm},
	"host":   nil,
	"health": {"healthy", "unhealthy", "no check"},
}

func parseStatusFilter(in []string) (statusFilter, error) {
	f := statusFilter{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		values, known := filterKeys[k]
		switch {
		case !ok || k == "":
			return nil, usagef("invalid --filter %q: give KEY=VALUE, such as state=running", kv)
		case !known:
			return nil, usagef("unknown --filter key %q: use state, runner, host or health", k)
		case values != nil && !slices.Contains(values, v):
			return nil, usagef("invalid --filter %s=%q: use one of %s", k, v, strings.Join(values, ", "))
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// needsHealth says whether the filter asks for the health checks to run.
func (f statusFilter) needsHealth() bool { return len(f["health"]) > 0 }

func (f statusFilter) keep(st runtime.State) bool {
	for k, values := range f {
		var v string
		switch k {
		case "state":
			v = st.State
		case "runner":
			v = st.Runner
		case "host":
			v = st.Host
		case "health":
			v = st.Health
		}
		if !slices.Contains(values, v) {
			return false
		}
	}
	return true
}

func (f statusFilter) apply(states []runtime.State) []runtime.State {
	if len(f) == 0 {
		return states
	}
	out := []runtime.State{}
	for _, st := range states {
		if f.keep(st) {
			out = append(out, st)
		}
	}
	return out
}

// wideInfo is what status -o wide shows beside the state: a container
// service's published ports and image.
type wideInfo struct {
	ports, image map[string]string
}

func newWideInfo(env *metadata.Env) *wideInfo {
	w := &wideInfo{ports: map[string]string{}, image: map[string]string{}}
	vars, _ := env.Vars("")
	for name, spec := range env.Manifest.Services {
		if spec.Swarm != nil {
			w.image[name] = spec.Swarm.Image
		}
		if spec.Container == nil {
			continue
		}
		var ports []string
		for _, p := range spec.Container.Ports {
			if vars != nil {
				if x, err := metadata.Expand(p, vars); err == nil {
					p = x
				}
			}
			ports = append(ports, p)
		}
		w.ports[name] = strings.Join(ports, ",")
		ref, _, err := container.ImageRef(env, spec.Container.Image)
		if err != nil || ref == "" {
			ref = spec.Container.Image
		}
		w.image[name] = ref
	}
	return w
}

func (w *wideInfo) columns(name string) string {
	return fmt.Sprintf("%s\t%s", dash(w.ports[name]), dash(w.image[name]))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
