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
	svc := &Service{
		Name:       name,
		Runner:     spec.Runner,
		Dir:        env.Root,
		StopSignal: spec.StopSignalOf(),
		StopGrace:  spec.StopGrace(),
		StateDir:   env.Path("pids"),
		Root:       env.Root,
		Spec:       spec,

		Environment: env.Name(),
	}
	if svc.Runner == "" {
		svc.Runner = metadata.RunnerProcess
	}
	if svc.Argv, err = expandCommand(name, spec, vars); err != nil {
		return nil, err
	}
	if spec.Container != nil {
		// Ports, volumes and user may use variables as the command does; the
		// runner reads them from a copy of the spec with them expanded.
		cs := *spec.Container
		var errs []error
		expandAll := func(field string, in []string) []string {
			out := make([]string, len(in))
			for i, v := range in {
				x, err := metadata.Expand(v, vars)
				if err != nil {
					errs = append(errs, fmt.Errorf("service %s: container.%s: %w", name, field, err))
				}
				out[i] = x
			}
			return out
		}
		cs.Ports = expandAll("ports", cs.Ports)
		cs.Volumes = expandAll("volumes", cs.Volumes)
		if u := expandAll("user", []string{cs.User}); len(u) == 1 {
			cs.User = u[0]
		}
		if len(errs) > 0 {
			return nil, errs[0]
		}
		expanded := *spec
		expanded.Container = &cs
		svc.Spec = &expanded
	}
	if spec.Compose != nil && strings.Contains(spec.Compose.File, "$") {
		// compose.file may name a component's own file:
		// ${COMPONENT_DIR}/backend/compose.yaml (cloud-local's db).
		file, err := metadata.Expand(spec.Compose.File, vars)
		if err != nil {
			return nil, fmt.Errorf("service %s: compose.file: %w", name, err)
		}
		expanded := *spec
		if cur, ok := svc.Spec.(*metadata.Service); ok {
			expanded = *cur
		}
		cs := *spec.Compose
		cs.File = file
		expanded.Compose = &cs
		svc.Spec = &expanded
	}
	if spec.Swarm != nil {
		sw, err := resolveSwarm(env, name, spec.Swarm, vars)
		if err != nil {
			return nil, err
		}
		expanded := *spec
		expanded.Swarm = sw
		svc.Spec = &expanded
	}
	if spec.Dir != "" {
		svc.Dir = env.Path(filepath.FromSlash(spec.Dir))
	}
	svc.Log = logSpec(env, name, spec)

	vals := map[string]string{}
	var keys []string
	set := func(kv string) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return
		}
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, kv := range os.Environ() {
		set(kv)
	}
	for _, kv := range env.DotEnv.Environ() {
		set(kv)
	}
	own := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		own = append(own, k)
	}
	sort.Strings(own)
	for _, k := range own {
		v, err := metadata.Expand(spec.Env[k], vars)
		if err != nil {
			return nil, fmt.Errorf("service %s: env %s: %w", name, k, err)
		}
		set(k + "=" + v)
	}
	for _, k := range spec.UnsetEnv {
		delete(vals, k)
	}
	isOwn := map[string]bool{}
	for _, kv := range env.DotEnv.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		isOwn[k] = true
	}
	for k := range spec.Env {
		isOwn[k] = true
	}
	for _, k := range keys {
		if v, ok := vals[k]; ok {
			svc.Env = append(svc.Env, k+"="+v)
			if isOwn[k] {
				svc.OwnEnv = append(svc.OwnEnv, k+"="+v)
			}
		}
	}
	return svc, nil
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
