package metadata

import (
	"strings"
)

// validate checks the decoded manifest, section by section, and returns
// every problem found.
func (m *Manifest) validate(lines entityLines) []Problem {
	p := &problems{lines: lines}
	if m.Version != 1 {
		p.add("version", "version must be 1 (found %d)", m.Version)
	}
	m.validateComponents(p)
	m.validateImages(p)
	m.validateHosts(p)
	for _, name := range m.ServiceOrder {
		m.validateService(p, name)
	}
	m.validateStartOrder(p)
	p.list = append(p.list, m.validateSteps(p.lines)...)
	if cycle := m.Graph().Cycle(); cycle != nil {
		p.add("services."+cycle[0]+".depends_on", "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
	return p.list
}

// checkName reports a name a section's entry may not have.
func (p *problems) checkName(section, name string) {
	kind := strings.TrimSuffix(section, "s")
	if reservedNames[name] && (section == "components" || section == "services") {
		p.add(section+"."+name, "%s name %q is taken by the environment's own %s: rename the %s (a branch install of a component lives in $ENV_ROOT/<name>, and would replace it)", kind, name, name, kind)
	}
	if !ValidName(name) {
		p.add(section+"."+name, "invalid %s name %q: use lower-case letters, digits, '_', '.' and '-', starting with a letter or digit", kind, name)
	}
	if name == "all" {
		p.add(section+"."+name, "%q is reserved (it means every one): rename it", name)
	}
}

func (m *Manifest) validateComponents(p *problems) {
	for _, name := range m.ComponentOrder {
		p.checkName("components", name)
		c := m.Components[name]
		key := "components." + name
		if c == nil {
			p.add(key, "component %q is empty: give it a repo", name)
			continue
		}
		if c.Repo == "" {
			p.add(key, "component %q has no repo: give the git URL of its repository", name)
		}
		for i, st := range c.Setup {
			if len(st.Run) == 0 {
				p.add(key+".setup", "component %q setup step %d has no run command", name, i+1)
			}
			if !isRelativeInside(st.Dir) {
				p.add(key+".setup", "component %q setup step %d: dir %q must be a relative path inside the component", name, i+1, st.Dir)
			}
		}
	}
}

func (m *Manifest) validateImages(p *problems) {
	for _, name := range m.ImageOrder {
		p.checkName("images", name)
		img := m.Images[name]
		key := "images." + name
		if img == nil {
			p.add(key, "image %q is empty", name)
			continue
		}
		if img.Component == "" {
			p.add(key, "image %q names no component: say which component's tree it is built from", name)
		} else if m.Components[img.Component] == nil {
			p.add(key+".component", "image %q: unknown component %q", name, img.Component)
		}
		if img.Tag == "" {
			p.add(key, "image %q has no tag", name)
		}
		if !isRelativeInside(img.Context) {
			p.add(key+".context", "image %q: context %q must be a relative path inside the component", name, img.Context)
		}
		if strings.Contains(img.Registry, "://") {
			p.add(key+".registry", "image %q: registry %q is HOST[:PORT][/PATH], without a scheme", name, img.Registry)
		}
		if !isRelativeInside(img.Dockerfile) {
			p.add(key+".dockerfile", "image %q: dockerfile %q must be a relative path inside the context", name, img.Dockerfile)
		}
	}
}

func (m *Manifest) validateHosts(p *problems) {
	for _, name := range m.HostOrder {
		p.checkName("hosts", name)
		h := m.Hosts[name]
		if h == nil || h.Endpoint == "" {
			p.add("hosts."+name, "host %q has no endpoint (unix://, tcp:// or ssh://)", name)
			continue
		}
		if !strings.HasPrefix(h.Endpoint, "unix://") && !strings.HasPrefix(h.Endpoint, "tcp://") && !strings.HasPrefix(h.Endpoint, "ssh://") {
			p.add("hosts."+name+".endpoint", "host %q: endpoint %q must start with unix://, tcp:// or ssh://", name, h.Endpoint)
		}
		if strings.HasPrefix(h.Endpoint, "ssh://") {
			if _, err := ParseSSHEndpoint(h.Endpoint); err != nil {
				p.add("hosts."+name+".endpoint", "host %q: %v", name, err)
			}
			if h.TLS != nil {
				p.add("hosts."+name+".tls", "host %q: tls does not apply to an ssh:// endpoint (ssh encrypts the connection)", name)
			}
		}
	}
}

// validateService checks one service; an empty runner becomes process.
func (m *Manifest) validateService(p *problems, name string) {
	p.checkName("services", name)
	s := m.Services[name]
	key := "services." + name
	if s == nil {
		p.add(key, "service %q is empty: give it a command", name)
		return
	}
	if s.Runner == "" {
		s.Runner = RunnerProcess
	}
	validateRunner(p, name, key, s)
	for _, pr := range s.Profiles {
		if !ValidName(pr) {
			p.add(key+".profiles", "service %q: profile %q is not a valid name (lower-case letters, digits, '.', '_', '-')", name, pr)
		}
	}
	if s.Component != "" && m.Components[s.Component] == nil {
		p.add(key+".component", "service %q: unknown component %q", name, s.Component)
	}
	if s.Host != "" && m.Hosts[s.Host] == nil {
		p.add(key+".host", "service %q: unknown host %q", name, s.Host)
	}
	if s.Host != "" && s.Runner == RunnerProcess {
		p.add(key+".host", "service %q: only container services can be placed on a host", name)
	}
	if !isRelativeInside(s.Dir) {
		p.add(key+".dir", "service %q: dir %q must be a relative path inside the environment", name, s.Dir)
	}
	m.validateDependencies(p, name, key, s)
	validateRestart(name, key, s, p.add)
	if s.StopSignal != "" {
		if _, err := ParseSignal(s.StopSignal); err != nil {
			p.add(key+".stop_signal", "service %q: %v", name, err)
		}
	}
	validateLog(p, name, key, s.Log)
	validateHealth(p, name, key+".health", s.Health)
}

// validateRunner checks that a service has the settings its runner needs
// and none of another's.
func validateRunner(p *problems, name, key string, s *Service) {
	switch s.Runner {
	case RunnerProcess:
		if len(s.Command) == 0 {
			p.add(key, "service %q has no command", name)
		}
		if s.Container != nil || s.Compose != nil || s.Swarm != nil {
			p.add(key, "service %q runs as a process: container, compose and swarm settings do not apply", name)
		}
	case RunnerContainer:
		if s.Container == nil || s.Container.Image == "" {
			p.add(key, "service %q runs as a container but names no container.image", name)
		} else {
			validateContainer(name, key+".container", s.Container, p.add)
		}
	case RunnerSwarm:
		validateSwarm(name, key, s.Swarm, p.add)
		if s.Host != "" {
			p.add(key+".host", "service %q: a swarm service runs where the swarm places it: drop host, use swarm.constraints", name)
		}
	case RunnerCompose:
		if s.Compose == nil || s.Compose.File == "" || len(s.Compose.Services) == 0 {
			p.add(key, "service %q runs through compose but lacks compose.file or compose.services", name)
		}
	case RunnerRemote:
		validateRemote(name, key, s, p.add)
	default:
		p.add(key+".runner", "service %q: unknown runner %q (use process, container, compose, swarm or remote)", name, s.Runner)
	}
}

// validateDependencies checks depends_on and conflicts against the
// manifest's services.
func (m *Manifest) validateDependencies(p *problems, name, key string, s *Service) {
	for _, d := range s.DependsOn {
		if m.Services[d.Service] == nil {
			p.add(key+".depends_on", "service %q depends on unknown service %q", name, d.Service)
		}
		if d.Service == name {
			p.add(key+".depends_on", "service %q depends on itself", name)
		}
		if d.Condition != ConditionStarted && d.Condition != ConditionHealthy {
			p.add(key+".depends_on", "service %q: dependency %q has condition %q (use started or healthy)", name, d.Service, d.Condition)
		}
		if dep := m.Services[d.Service]; d.Condition == ConditionHealthy && dep != nil && dep.Health == nil && dep.Runner != RunnerRemote {
			p.add(key+".depends_on", "service %q waits for %q to be healthy, but %q has no health check", name, d.Service, d.Service)
		}
	}
	for _, c := range s.Conflicts {
		if m.Services[c] == nil {
			p.add(key+".conflicts", "service %q conflicts with unknown service %q", name, c)
		}
	}
}

func validateLog(p *problems, name, key string, l *LogSpec) {
	if l == nil {
		return
	}
	switch l.To {
	case LogDiscard, LogFile:
	default:
		p.add(key+".log", "service %q: log.to is %q (use discard or file)", name, l.To)
	}
	if !isRelativeInside(l.Path) {
		p.add(key+".log", "service %q: log.path %q must be a relative path inside the environment", name, l.Path)
	}
	if l.MaxFiles < 0 || l.MaxSize < 0 {
		p.add(key+".log", "service %q: log.max_size and log.max_files cannot be negative", name)
	}
}

// validateHealth checks a health check; hk is its entry key.
func validateHealth(p *problems, name, hk string, h *HealthCheck) {
	if h == nil {
		return
	}
	switch h.Type {
	case HealthHTTP:
		if h.URL == "" {
			p.add(hk, "service %q: an http health check needs url", name)
		}
	case HealthTCP:
		if h.Address == "" {
			p.add(hk, "service %q: a tcp health check needs address (host:port)", name)
		}
	case HealthCommand:
		if len(h.Command) == 0 {
			p.add(hk, "service %q: a command health check needs command", name)
		}
	case HealthFile:
		if h.Path == "" {
			p.add(hk, "service %q: a file health check needs path", name)
		}
	default:
		p.add(hk, "service %q: health.type is %q (use http, tcp, command or file)", name, h.Type)
	}
	if h.Retries < 0 {
		p.add(hk, "service %q: health.retries cannot be negative", name)
	}
}

func (m *Manifest) validateStartOrder(p *problems) {
	seen := map[string]bool{}
	for _, name := range m.StartOrder {
		if m.Services[name] == nil {
			p.add("start_order", "start_order names unknown service %q", name)
		}
		if seen[name] {
			p.add("start_order", "start_order names %q twice", name)
		}
		seen[name] = true
	}
}

// isRelativeInside reports whether p is empty or a relative path that
// does not climb out of where it is resolved.
func isRelativeInside(p string) bool {
	if p == "" {
		return true
	}
	if strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return false
		}
	}
	return true
}
