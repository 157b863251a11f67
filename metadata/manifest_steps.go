package metadata

import (
	"fmt"
	"strings"
	"time"
)

// Hooks are the steps a service runs around its lifecycle: post_start once
// it is started and ready (the cloud-local database's migrations), pre_stop
// before it is signalled. A failed post_start step fails the start.
type Hooks struct {
	PostStart []HookStep `yaml:"post_start,omitempty"`
	PreStop   []HookStep `yaml:"pre_stop,omitempty"`
}

// HookStep is one command, or one wait for a TCP address, run with retries.
// Strings may use ${VAR} as a service's command does.
type HookStep struct {
	// Name is what the service's log and errors call the step; default its command.
	Name string `yaml:"name,omitempty"`
	// Run is the argv. Exactly one of Run and TCP is set.
	Run []string `yaml:"run,omitempty"`
	// TCP is an address (host:port) to wait for until it accepts a connection.
	TCP string `yaml:"tcp,omitempty"`
	// In runs the command inside a container or compose service of the
	// environment through the Engine API: SERVICE (a container service, or a
	// compose service's first compose.services entry) or SERVICE/COMPOSE_SERVICE.
	In string `yaml:"in,omitempty"`
	// Dir is the working directory: on the host relative to the environment
	// root (variables allowed), inside a container as the container sees it.
	Dir      string            `yaml:"dir,omitempty"`
	Env      map[string]string `yaml:"env,omitempty"`
	UnsetEnv []string          `yaml:"unset_env,omitempty"`
	// IfExists skips the step when this path (variables allowed, relative to
	// the environment root) does not exist on the host.
	IfExists string `yaml:"if_exists,omitempty"`
	// Timeout bounds each try; default 10 minutes.
	Timeout Duration `yaml:"timeout,omitempty"`
	// Retries is how many more tries a failed step gets; Delay is the pause
	// between tries (default 1s).
	Retries int      `yaml:"retries,omitempty"`
	Delay   Duration `yaml:"delay,omitempty"`
}

// Defaults of a hook step.
const (
	DefaultStepTimeout = 10 * time.Minute
	DefaultStepDelay   = time.Second
)

// TryTimeout is the bound of one try.
func (s *HookStep) TryTimeout() time.Duration {
	if s.Timeout == 0 {
		return DefaultStepTimeout
	}
	return time.Duration(s.Timeout)
}

// RetryDelay is the pause between tries.
func (s *HookStep) RetryDelay() time.Duration {
	if s.Delay == 0 {
		return DefaultStepDelay
	}
	return time.Duration(s.Delay)
}

// Label is how logs and errors name the step.
func (s *HookStep) Label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.TCP != "":
		return "wait for " + s.TCP
	}
	return strings.Join(s.Run, " ")
}

// Task is a named command: `berth run TASK [ARGS...]`. Its declared
// arguments become variables (${NAME}) of its command.
type Task struct {
	Description string `yaml:"description,omitempty"`
	// Component gives the command ${COMPONENT_DIR}.
	Component string    `yaml:"component,omitempty"`
	Args      []TaskArg `yaml:"args,omitempty"`
	HookStep  `yaml:",inline"`
}

// TaskArg is one positional argument of a task.
type TaskArg struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description,omitempty"`
	Choices     []string `yaml:"choices,omitempty"`
	// Default makes the argument optional.
	Default string `yaml:"default,omitempty"`
}

// SplitIn reads a step's in: SERVICE or SERVICE/COMPOSE_SERVICE.
func SplitIn(in string) (service, composeService string) {
	service, composeService, _ = strings.Cut(in, "/")
	return service, composeService
}

// validateSteps checks hooks, tasks and the in: of command health checks.
func (m *Manifest) validateSteps(lines entityLines) []Problem {
	v := &stepCheck{m: m, lines: lines}
	for _, name := range m.ServiceOrder {
		if s := m.Services[name]; s != nil {
			v.service(name, s)
		}
	}
	v.bindings()
	for _, name := range m.TaskOrder {
		v.task(name)
	}
	return v.ps
}

// stepCheck collects the problems of a manifest's steps, each at the line
// of exactly the entry it names.
type stepCheck struct {
	m     *Manifest
	lines entityLines
	ps    []Problem
}

func (v *stepCheck) add(key, format string, args ...any) {
	v.ps = append(v.ps, Problem{Line: v.lines[key], Msg: fmt.Sprintf(format, args...)})
}

// in checks a step's in: against the manifest's container and compose
// services.
func (v *stepCheck) in(key, what, in string) {
	if in == "" {
		return
	}
	svc, cs := SplitIn(in)
	target := v.m.Services[svc]
	switch {
	case target == nil:
		v.add(key, "%s: in: %q names no service of this manifest", what, in)
	case target.Runner != RunnerContainer && target.Runner != RunnerCompose:
		v.add(key, "%s: in: %q is a %s service; commands run inside container or compose services only", what, in, target.Runner)
	case cs != "" && target.Runner == RunnerContainer:
		v.add(key, "%s: in: %q: %s is a container service, name it without /%s", what, in, svc, cs)
	case cs != "" && target.Compose != nil && !contains(target.Compose.Services, cs):
		v.add(key, "%s: in: %q: %s is not among the compose.services of %s (%s)", what, in, cs, svc, strings.Join(target.Compose.Services, ", "))
	}
}

func (v *stepCheck) step(key, what string, st *HookStep, needRun bool) {
	switch {
	case len(st.Run) == 0 && st.TCP == "":
		v.add(key, "%s has no run command (or tcp address to wait for)", what)
	case len(st.Run) > 0 && st.TCP != "":
		v.add(key, "%s has both run and tcp: split it into two steps", what)
	case needRun && len(st.Run) == 0:
		v.add(key, "%s has no run command", what)
	}
	if st.TCP != "" && st.In != "" {
		v.add(key, "%s waits for tcp %s from the host; in: does not apply", what, st.TCP)
	}
	if st.Retries < 0 {
		v.add(key, "%s: retries cannot be negative", what)
	}
	v.in(key, what, st.In)
}

// service checks a service's health.in and its hooks.
func (v *stepCheck) service(name string, s *Service) {
	if s.Health != nil && s.Health.In != "" {
		if s.Health.Type != HealthCommand {
			v.add("services."+name+".health", "service %q: health.in applies to command checks only", name)
		}
		v.in("services."+name+".health", fmt.Sprintf("service %q health", name), s.Health.In)
	}
	if s.Hooks == nil {
		return
	}
	key := "services." + name + ".hooks"
	for i := range s.Hooks.PostStart {
		v.step(key, fmt.Sprintf("service %q post_start step %d", name, i+1), &s.Hooks.PostStart[i], false)
	}
	for i := range s.Hooks.PreStop {
		v.step(key, fmt.Sprintf("service %q pre_stop step %d", name, i+1), &s.Hooks.PreStop[i], false)
	}
}

// bindings checks that each component's .metadata key is valid, not one of
// .metadata's own and not shared.
func (v *stepCheck) bindings() {
	keys := map[string]string{}
	for _, name := range v.m.ComponentOrder {
		c := v.m.Components[name]
		if c == nil {
			continue
		}
		key := BindingKeyOf(name, c)
		switch {
		case !validKey(key, true):
			v.add("components."+name+".binding", "component %q: binding %q is not a .metadata key (letters, digits, '_', '.' and '-')", name, key)
		case key == KeyTemplate || key == KeyInstallRoot || key == KeyEnvironmentName || key == KeyEnvironmentRoot || key == KeyCreatedAt:
			v.add("components."+name+".binding", "component %q: binding %q is one of .metadata's own keys: choose another", name, key)
		case keys[key] != "":
			v.add("components."+name+".binding", "components %q and %q are both bound by %q: give one another binding", keys[key], name, key)
		}
		keys[key] = name
	}
}

func (v *stepCheck) task(name string) {
	key := "tasks." + name
	if !ValidName(name) {
		v.add(key, "invalid task name %q: use lower-case letters, digits, '_', '.' and '-'", name)
	}
	t := v.m.Tasks[name]
	if t == nil {
		v.add(key, "task %q is empty: give it a run command", name)
		return
	}
	v.step(key, fmt.Sprintf("task %q", name), &t.HookStep, true)
	if t.Component != "" && v.m.Components[t.Component] == nil {
		v.add(key+".component", "task %q: unknown component %q", name, t.Component)
	}
	seen := map[string]bool{}
	optional := false
	for i, a := range t.Args {
		if !validKey(a.Name, false) {
			v.add(key+".args", "task %q argument %d: name %q must be a variable name (letters, digits, '_')", name, i+1, a.Name)
		}
		if seen[a.Name] {
			v.add(key+".args", "task %q names argument %q twice", name, a.Name)
		}
		seen[a.Name] = true
		if a.Default != "" {
			optional = true
		} else if optional {
			v.add(key+".args", "task %q argument %q has no default but follows one that has", name, a.Name)
		}
		if a.Default != "" && len(a.Choices) > 0 && !contains(a.Choices, a.Default) {
			v.add(key+".args", "task %q argument %q: default %q is not one of its choices", name, a.Name, a.Default)
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// BindingKeyOf is the .metadata key that binds component c: its binding:,
// else <name>_version.
func BindingKeyOf(name string, c *Component) string {
	if c != nil && c.Binding != "" {
		return c.Binding
	}
	return name + "_version"
}
