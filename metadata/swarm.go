package metadata

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SwarmSpec is what a `runner: swarm` service runs: one Docker Swarm
// service, reached through the Engine API.
type SwarmSpec struct {
	// Image is a manifest image name or any image reference.
	Image string `yaml:"image"`
	// Pull says when the daemon pulls an image berth did not build:
	// missing (default), always or never.
	Pull string `yaml:"pull,omitempty"`
	// Replicas is the number of tasks; default 1.
	Replicas *uint64     `yaml:"replicas,omitempty"`
	Ports    []SwarmPort `yaml:"ports,omitempty"`
	Mounts   []string    `yaml:"mounts,omitempty"`
	Secrets  []SwarmFile `yaml:"secrets,omitempty"`
	Configs  []SwarmFile `yaml:"configs,omitempty"`
	User     string      `yaml:"user,omitempty"`
	// Constraints are placement constraints, e.g. "node.role == manager".
	Constraints []string          `yaml:"constraints,omitempty"`
	Resources   *Resources        `yaml:"resources,omitempty"`
	Restart     *SwarmRestart     `yaml:"restart,omitempty"`
	Update      *SwarmUpdate      `yaml:"update,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
}

// Port publishing modes of a swarm service.
const (
	PortModeIngress = "ingress"
	PortModeHost    = "host"
)

// SwarmPort publishes a task port. It is written as a mapping
// {published, target, protocol, mode} or as "PUBLISHED:TARGET[/PROTOCOL]".
type SwarmPort struct {
	Published uint16 `yaml:"published,omitempty"`
	Target    uint16 `yaml:"target"`
	// Protocol is tcp (default), udp or sctp.
	Protocol string `yaml:"protocol,omitempty"`
	// Mode is ingress (default: the routing mesh) or host (the node's port).
	Mode string `yaml:"mode,omitempty"`
}

// String is the short form, PUBLISHED:TARGET/PROTOCOL.
func (p SwarmPort) String() string {
	s := strconv.Itoa(int(p.Published)) + ":" + strconv.Itoa(int(p.Target))
	if p.Protocol != "" {
		s += "/" + p.Protocol
	}
	return s
}

// UnmarshalYAML accepts both forms.
func (p *SwarmPort) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		type plain SwarmPort
		return n.Decode((*plain)(p))
	}
	if n.Kind != yaml.ScalarNode {
		return nodeError(n, "a swarm port is PUBLISHED:TARGET[/PROTOCOL] or {published, target, protocol, mode}")
	}
	spec, proto, _ := strings.Cut(n.Value, "/")
	pub, target, ok := strings.Cut(spec, ":")
	pu, err1 := strconv.ParseUint(pub, 10, 16)
	ta, err2 := strconv.ParseUint(target, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return nodeError(n, "swarm port %q: write PUBLISHED:TARGET[/PROTOCOL], e.g. 8080:80 or 53:53/udp", n.Value)
	}
	*p = SwarmPort{Published: uint16(pu), Target: uint16(ta), Protocol: proto}
	return nil
}

// SwarmFile is a secret or a config made from a file of the environment.
// berth names the Swarm object after the file's content digest, so a
// changed file makes a new object and rolls the service.
type SwarmFile struct {
	// File is relative to the environment root.
	File string `yaml:"file"`
	// Target is, for a secret, its name under /run/secrets (default the
	// file's base name); for a config, an absolute path in the task
	// (default /<base name>).
	Target string `yaml:"target,omitempty"`
	// Mode is the file mode in the task, octal; default 0444.
	Mode string `yaml:"mode,omitempty"`
}

// Resources are CPU and memory limits and reservations, for swarm and
// container services alike.
type Resources struct {
	Limits       *ResourceAmounts `yaml:"limits,omitempty"`
	Reservations *ResourceAmounts `yaml:"reservations,omitempty"`
}

// ResourceAmounts is an amount of CPU (in cores, 0.5 is half of one) and memory.
type ResourceAmounts struct {
	CPUs   float64  `yaml:"cpus,omitempty"`
	Memory ByteSize `yaml:"memory,omitempty"`
}

// Swarm restart conditions.
const (
	RestartNone      = "none"
	RestartOnFailure = "on-failure"
	RestartAny       = "any"
)

// SwarmRestart is when Swarm replaces a task that ended.
type SwarmRestart struct {
	// Condition is none, on-failure or any (default).
	Condition   string   `yaml:"condition,omitempty"`
	Delay       Duration `yaml:"delay,omitempty"`
	MaxAttempts *uint64  `yaml:"max_attempts,omitempty"`
	Window      Duration `yaml:"window,omitempty"`
}

// Swarm update orders and failure actions.
const (
	OrderStartFirst = "start-first"
	OrderStopFirst  = "stop-first"
)

// SwarmUpdate is how Swarm rolls the tasks when the service changes
// (a new image, a changed secret, berth restart).
type SwarmUpdate struct {
	// Parallelism is how many tasks change at once; default 1.
	Parallelism *uint64  `yaml:"parallelism,omitempty"`
	Delay       Duration `yaml:"delay,omitempty"`
	// Order is stop-first (default) or start-first.
	Order string `yaml:"order,omitempty"`
	// FailureAction is pause (default), continue or rollback.
	FailureAction string   `yaml:"failure_action,omitempty"`
	Monitor       Duration `yaml:"monitor,omitempty"`
}

// Image pull policies.
const (
	PullMissing = "missing"
	PullAlways  = "always"
	PullNever   = "never"
)

// ReplicasOf is the number of tasks the service wants, 1 unless the manifest says.
func (s *SwarmSpec) ReplicasOf() uint64 {
	if s.Replicas == nil {
		return 1
	}
	return *s.Replicas
}

// validateSwarm checks a swarm service's section; add reports a problem at a key.
func validateSwarm(name, key string, sw *SwarmSpec, add func(key, format string, args ...any)) {
	key += ".swarm"
	if sw == nil || sw.Image == "" {
		add(key, "service %q runs on swarm but names no swarm.image", name)
		return
	}
	validatePull(name, key, sw.Pull, add)
	validateSwarmPorts(name, key, sw.Ports, add)
	for _, m := range sw.Mounts {
		src, target, ok := strings.Cut(m, ":")
		target, opt, _ := strings.Cut(target, ":")
		if !ok || src == "" || !strings.HasPrefix(target, "/") || (opt != "" && opt != "ro" && opt != "rw") {
			add(key+".mounts", "service %q: mount %q: write SOURCE:/TARGET[:ro] (SOURCE a path or a volume name)", name, m)
		}
	}
	validateSwarmFiles(name, key, sw, add)
	for _, c := range sw.Constraints {
		if !strings.Contains(c, "==") && !strings.Contains(c, "!=") {
			add(key+".constraints", "service %q: constraint %q: write it like node.role == manager or node.labels.disk != hdd", name, c)
		}
	}
	validateResources(name, key+".resources", sw.Resources, add)
	if r := sw.Restart; r != nil {
		switch r.Condition {
		case "", RestartNone, RestartOnFailure, RestartAny:
		default:
			add(key+".restart", "service %q: restart.condition %q (use none, on-failure or any)", name, r.Condition)
		}
	}
	if u := sw.Update; u != nil {
		switch u.Order {
		case "", OrderStartFirst, OrderStopFirst:
		default:
			add(key+".update", "service %q: update.order %q (use start-first or stop-first)", name, u.Order)
		}
		switch u.FailureAction {
		case "", "pause", "continue", "rollback":
		default:
			add(key+".update", "service %q: update.failure_action %q (use pause, continue or rollback)", name, u.FailureAction)
		}
	}
}

// validateSwarmPorts checks the published ports of a swarm service.
func validateSwarmPorts(name, key string, ports []SwarmPort, add func(key, format string, args ...any)) {
	for _, p := range ports {
		if p.Target == 0 {
			add(key+".ports", "service %q: swarm port %s has no target (the port inside the task)", name, p)
		}
		switch p.Protocol {
		case "", "tcp", "udp", "sctp":
		default:
			add(key+".ports", "service %q: swarm port %s: protocol %q (use tcp, udp or sctp)", name, p, p.Protocol)
		}
		switch p.Mode {
		case "", PortModeIngress, PortModeHost:
		default:
			add(key+".ports", "service %q: swarm port %s: mode %q (use ingress or host)", name, p, p.Mode)
		}
	}
}

// validateSwarmFiles checks a swarm service's secrets and configs: files
// inside the environment, targets of the right form and each used once.
func validateSwarmFiles(name, key string, sw *SwarmSpec, add func(key, format string, args ...any)) {
	for _, set := range []struct {
		kind  string
		files []SwarmFile
	}{{"secrets", sw.Secrets}, {"configs", sw.Configs}} {
		targets := map[string]bool{}
		for i, f := range set.files {
			if f.File == "" || !isRelativeInside(f.File) {
				add(key+"."+set.kind, "service %q: %s entry %d: file %q must be a relative path inside the environment", name, set.kind, i+1, f.File)
			}
			if set.kind == "configs" && f.Target != "" && !strings.HasPrefix(f.Target, "/") {
				add(key+".configs", "service %q: config target %q must be an absolute path in the task", name, f.Target)
			}
			if set.kind == "secrets" && strings.Contains(f.Target, "/") {
				add(key+".secrets", "service %q: secret target %q is a name under /run/secrets, without '/'", name, f.Target)
			}
			if f.Mode != "" {
				if _, err := strconv.ParseUint(f.Mode, 8, 32); err != nil {
					add(key+"."+set.kind, "service %q: %s mode %q is not octal (write it like 0400)", name, set.kind, f.Mode)
				}
			}
			if t := f.Target; t != "" {
				if targets[t] {
					add(key+"."+set.kind, "service %q: two %s have the target %q", name, set.kind, t)
				}
				targets[t] = true
			}
		}
	}
}

func validatePull(name, key, pull string, add func(key, format string, args ...any)) {
	switch pull {
	case "", PullMissing, PullAlways, PullNever:
	default:
		add(key+".pull", "service %q: pull %q (use missing, always or never)", name, pull)
	}
}

// validateResources checks limits and reservations; containers have no CPU
// reservation, so forContainer refuses one.
func validateResources(name, key string, r *Resources, add func(key, format string, args ...any)) {
	if r == nil {
		return
	}
	for _, a := range []struct {
		what string
		v    *ResourceAmounts
	}{{"limits", r.Limits}, {"reservations", r.Reservations}} {
		if a.v == nil {
			continue
		}
		if a.v.CPUs < 0 || a.v.Memory < 0 {
			add(key, "service %q: resources.%s cannot be negative", name, a.what)
		}
		if a.v.Memory > 0 && a.v.Memory < 6<<20 {
			add(key, "service %q: resources.%s.memory %d bytes is below Docker's minimum of 6MiB", name, a.what, a.v.Memory)
		}
	}
	if l, res := r.Limits, r.Reservations; l != nil && res != nil {
		if l.Memory > 0 && res.Memory > l.Memory {
			add(key, "service %q: the memory reservation exceeds the memory limit", name)
		}
		if l.CPUs > 0 && res.CPUs > l.CPUs {
			add(key, "service %q: the CPU reservation exceeds the CPU limit", name)
		}
	}
}

// validateContainer checks what a container service shares with swarm:
// the pull policy and resources (a container has no CPU reservation).
func validateContainer(name, key string, cs *ContainerSpec, add func(key, format string, args ...any)) {
	validatePull(name, key, cs.Pull, add)
	validateResources(name, key+".resources", cs.Resources, add)
	if r := cs.Resources; r != nil && r.Reservations != nil && r.Reservations.CPUs > 0 {
		add(key+".resources", "service %q: a container cannot reserve CPU (only a swarm task can): use resources.limits.cpus", name)
	}
}
