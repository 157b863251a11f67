package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
)

// newService is a service as far as inspecting and stopping it needs: no
// expansion, so status and stop work before its component is installed.
// Its Dir is the root; Resolve applies the manifest's dir for a launch.
func newService(env *metadata.Env, name string, spec *metadata.Service) *Service {
	svc := &Service{
		Name:        name,
		Runner:      spec.Runner,
		Dir:         env.Root,
		StopSignal:  spec.StopSignalOf(),
		StopGrace:   spec.StopGrace(),
		StateDir:    env.Path(metadata.PIDDirName),
		Root:        env.Root,
		CommandOf:   commandOf(env, name, spec),
		Log:         logSpec(env, name, spec),
		Host:        spec.Host,
		Container:   spec.Container,
		Compose:     spec.Compose,
		Swarm:       spec.Swarm,
		Remote:      spec.Remote,
		Environment: env.Name(),
	}
	if svc.Runner == "" {
		svc.Runner = metadata.RunnerProcess
	}
	return svc
}

// Resolve turns the manifest's service name into what a runner runs:
// argv expanded with env.Vars (COMPONENT_DIR of the bound component),
// environment = berth's own + config/.env + the manifest's env, minus
// unset_env; working directory the root unless dir says otherwise.
func Resolve(env *metadata.Env, name string) (*Service, error) {
	spec := env.Manifest.Services[name]
	if spec == nil {
		return nil, env.Manifest.UnknownService(name)
	}
	vars, err := env.Vars(spec.Component)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	if spec.Component != "" {
		if err := component.CheckInstalled(env, spec.Component); err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
	}
	svc := newService(env, name, spec)
	if spec.Dir != "" {
		svc.Dir = env.Path(filepath.FromSlash(spec.Dir))
	}
	if svc.Argv, err = expandCommand(name, spec, vars); err != nil {
		return nil, err
	}
	if spec.Container != nil {
		if svc.Container, err = expandContainer(name, spec.Container, vars); err != nil {
			return nil, err
		}
	}
	if spec.Compose != nil && strings.Contains(spec.Compose.File, "$") {
		// compose.file may name a component's own file:
		// ${COMPONENT_DIR}/backend/compose.yaml (cloud-local's db).
		cs := *spec.Compose
		if cs.File, err = metadata.Expand(spec.Compose.File, vars); err != nil {
			return nil, fmt.Errorf("service %s: compose.file: %w", name, err)
		}
		svc.Compose = &cs
	}
	if spec.Swarm != nil {
		if svc.Swarm, err = resolveSwarm(env, name, spec.Swarm, vars); err != nil {
			return nil, err
		}
	}
	if svc.Env, svc.OwnEnv, err = environ(env, name, spec, vars); err != nil {
		return nil, err
	}
	return svc, nil
}

// expandContainer is a copy of cs with the variables of its ports, volumes
// and user expanded, as the command's are.
func expandContainer(name string, cs *metadata.ContainerSpec, vars func(string) (string, bool)) (*metadata.ContainerSpec, error) {
	out := *cs
	var errs []error
	expandAll := func(field string, in []string) []string {
		res := make([]string, len(in))
		for i, v := range in {
			x, err := metadata.Expand(v, vars)
			if err != nil {
				errs = append(errs, fmt.Errorf("service %s: container.%s: %w", name, field, err))
			}
			res[i] = x
		}
		return res
	}
	out.Ports = expandAll("ports", cs.Ports)
	out.Volumes = expandAll("volumes", cs.Volumes)
	if u := expandAll("user", []string{cs.User}); len(u) == 1 {
		out.User = u[0]
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return &out, nil
}

// environ is a service's complete environment (berth's own, config/.env,
// the manifest's env, without unset_env) and the part of it that is the
// environment's own (config/.env and the manifest's env), in that order.
func environ(env *metadata.Env, name string, spec *metadata.Service, vars func(string) (string, bool)) (all, own []string, err error) {
	// Built in one slice indexed by key, keeping each KEY=VALUE string as
	// it came: a start resolves every service, and a map of values joined
	// again into strings cost ~45 µs a service (5 ms of CPU before the
	// first launch of 100).
	osEnv, dot := os.Environ(), env.DotEnv.Environ()
	all = make([]string, 0, len(osEnv)+len(dot)+len(spec.Env))
	at := make(map[string]int, cap(all))
	isOwn := make(map[string]bool, len(dot)+len(spec.Env))
	set := func(kv string) string {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			return ""
		}
		if i, seen := at[k]; seen {
			all[i] = kv
		} else {
			at[k] = len(all)
			all = append(all, kv)
		}
		return k
	}
	for _, kv := range osEnv {
		set(kv)
	}
	for _, kv := range dot {
		if k := set(kv); k != "" {
			isOwn[k] = true
		}
	}
	names := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		names = append(names, k)
		isOwn[k] = true
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := metadata.Expand(spec.Env[k], vars)
		if err != nil {
			return nil, nil, fmt.Errorf("service %s: env %s: %w", name, k, err)
		}
		set(k + "=" + v)
	}
	for _, k := range spec.UnsetEnv {
		if i, ok := at[k]; ok {
			all[i] = ""
		}
	}
	kept := all[:0]
	for _, kv := range all {
		if kv == "" {
			continue
		}
		kept = append(kept, kv)
		if k, _, _ := strings.Cut(kv, "="); isOwn[k] {
			own = append(own, kv)
		}
	}
	return kept, own, nil
}

func expandCommand(name string, spec *metadata.Service, vars func(string) (string, bool)) ([]string, error) {
	var argv []string
	for _, a := range spec.Command {
		v, err := metadata.Expand(a, vars)
		if err != nil {
			return nil, fmt.Errorf("service %s: command: %w", name, err)
		}
		argv = append(argv, v)
	}
	return argv, nil
}

// commandOf expands a service's command without requiring its component
// installed, for recognising its process from a plain PID file.
func commandOf(env *metadata.Env, name string, spec *metadata.Service) func() ([]string, error) {
	return func() ([]string, error) {
		vars, err := env.Vars(spec.Component)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		return expandCommand(name, spec, vars)
	}
}

// logSpec is where a service's output goes (/dev/null unless the manifest
// says `log: {to: file}`) and where the application's own log is, both
// made absolute.
func logSpec(env *metadata.Env, name string, spec *metadata.Service) LogSpec {
	out := LogSpec{To: metadata.LogDiscard}
	if p, ok := spec.OutputPath(name); ok {
		out = LogSpec{To: metadata.LogFile, Path: absPath(env, p), MaxSize: int64(spec.Log.MaxSize), MaxFiles: spec.Log.MaxFiles}
	}
	if spec.AppLog != "" {
		out.AppLog = absPath(env, spec.AppLog)
	}
	return out
}

// absPath is p, relative to the root unless absolute, made absolute.
func absPath(env *metadata.Env, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return env.Path(filepath.FromSlash(p))
}

// resolveSwarm is a copy of a swarm section with variables expanded in
// mounts, constraints and user, and secret and config files made absolute.
func resolveSwarm(env *metadata.Env, name string, in *metadata.SwarmSpec, vars func(string) (string, bool)) (*metadata.SwarmSpec, error) {
	sw := *in
	expand := func(field string, vs []string) ([]string, error) {
		out := make([]string, len(vs))
		for i, v := range vs {
			x, err := metadata.Expand(v, vars)
			if err != nil {
				return nil, fmt.Errorf("service %s: swarm.%s: %w", name, field, err)
			}
			out[i] = x
		}
		return out, nil
	}
	var err error
	if sw.Mounts, err = expand("mounts", sw.Mounts); err != nil {
		return nil, err
	}
	if sw.Constraints, err = expand("constraints", sw.Constraints); err != nil {
		return nil, err
	}
	u, err := expand("user", []string{sw.User})
	if err != nil {
		return nil, err
	}
	sw.User = u[0]
	abs := func(fs []metadata.SwarmFile) []metadata.SwarmFile {
		out := make([]metadata.SwarmFile, len(fs))
		for i, f := range fs {
			f.File = env.Path(filepath.FromSlash(f.File))
			out[i] = f
		}
		return out
	}
	sw.Secrets, sw.Configs = abs(sw.Secrets), abs(sw.Configs)
	return &sw, nil
}
