package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// ManifestFile is the name of the manifest in an environment's root.
const ManifestFile = "berth.yaml"

// reservedNames are the entries of an environment's root that berth and the
// OQTOPUS CLI make: a component or service may not be named like one.
var reservedNames = map[string]bool{
	"config": true, "logs": true, "pids": true, "sse_work": true, StateDirName: true,
	ManifestFile: true, MetadataFile: true, ".metadata.lock": true, ".locks": true,
}

// Runner kinds a service may name.
const (
	RunnerProcess   = "process"
	RunnerContainer = "container"
	RunnerCompose   = "compose"
	RunnerSwarm     = "swarm"
)

// Defaults the seeds fix: TERM, then wait up to 5 s.
const (
	DefaultStopSignal   = "TERM"
	DefaultStopTimeout  = 5 * time.Second
	DefaultStartTimeout = 30 * time.Second
)

// Manifest is berth.yaml: what an environment is made of. Maps keep the file's
// order in the *Order slices; that order is the default start order.
type Manifest struct {
	Version     int                   `yaml:"version"`
	Description string                `yaml:"description,omitempty"`
	Components  map[string]*Component `yaml:"components,omitempty"`
	Images      map[string]*Image     `yaml:"images,omitempty"`
	Services    map[string]*Service   `yaml:"services,omitempty"`
	Hosts       map[string]*Host      `yaml:"hosts,omitempty"`
	// Tasks are named commands run with `berth run TASK [ARGS...]`.
	Tasks map[string]*Task `yaml:"tasks,omitempty"`
	// StartOrder is the order "start all" uses where depends_on leaves a
	// choice; services it leaves out follow in manifest order. The manifest
	// order itself is the order of status lines.
	StartOrder []string `yaml:"start_order,omitempty"`
	// Supervisor says whether detached host services run under the
	// environment's supervisor (see restart.go); nil means the default.
	Supervisor *bool `yaml:"supervisor,omitempty"`

	ComponentOrder []string `yaml:"-"`
	ImageOrder     []string `yaml:"-"`
	ServiceOrder   []string `yaml:"-"`
	HostOrder      []string `yaml:"-"`
	TaskOrder      []string `yaml:"-"`
	Path           string   `yaml:"-"`

	// graph is the dependency graph, built when the manifest is parsed.
	graph *Graph
}

// Component is a git repository released as vX.Y.Z tags.
type Component struct {
	Description string `yaml:"description,omitempty"`
	// Repo is the git URL (or local path) of the component's repository.
	Repo string `yaml:"repo"`
	// Setup runs in the component's directory after it is fetched, in order.
	Setup []Step `yaml:"setup,omitempty"`
	// InstalledWhen are paths, relative to the component directory, whose
	// presence makes a tree berth did not install count as installed (the
	// OQTOPUS CLI's rule: each project's .venv). berth's own installs must
	// leave them too.
	InstalledWhen []string `yaml:"installed_when,omitempty"`
	// Binding is the .metadata key that binds the component; default
	// <component>_version (cloud-local's are the CLI's cloud_local_<c>_version).
	Binding string `yaml:"binding,omitempty"`
}

// Step is one setup command. Its argv may use ${COMPONENT_DIR}, ${ENV_ROOT}
// and config/.env variables.
type Step struct {
	Run []string `yaml:"run"`
	// Dir is relative to the component directory; default the directory itself.
	Dir string `yaml:"dir,omitempty"`
}

// Image is a runtime image built from a component's tree.
type Image struct {
	Description string `yaml:"description,omitempty"`
	Component   string `yaml:"component"`
	// Context is the build context, relative to the component directory.
	Context string `yaml:"context"`
	// Dockerfile is relative to the context; default "Dockerfile".
	Dockerfile string `yaml:"dockerfile,omitempty"`
	// Tag may use ${VAR} from config/.env, e.g. ${SSE_CONTAINER_IMAGE}.
	Tag string `yaml:"tag"`
	// Args are build args; ${UID} and ${GID} are the current user's.
	Args map[string]string `yaml:"args,omitempty"`
	// BuildOnInstall builds the image when its component is installed
	// (the engine's sse_runtime; --skip-sse-build skips it).
	BuildOnInstall bool `yaml:"build_on_install,omitempty"`
	// Registry is where `berth build` pushes the image (HOST[:PORT][/PATH]),
	// so that every node of a swarm can pull it by digest.
	Registry string `yaml:"registry,omitempty"`
}

// Host is a Docker endpoint that container services may be placed on.
type Host struct {
	Endpoint string `yaml:"endpoint"`
	TLS      *TLS   `yaml:"tls,omitempty"`
}

// TLS names the files for a tcp:// endpoint with TLS.
type TLS struct {
	CA     string `yaml:"ca,omitempty"`
	Cert   string `yaml:"cert,omitempty"`
	Key    string `yaml:"key,omitempty"`
	Verify *bool  `yaml:"verify,omitempty"`
}

// Service is one managed service.
type Service struct {
	Description string `yaml:"description,omitempty"`
	// Runner is process (default), container or compose.
	Runner    string `yaml:"runner,omitempty"`
	Component string `yaml:"component,omitempty"`
	// Command is the argv; it may use ${COMPONENT_DIR}, ${ENV_ROOT} and
	// config/.env variables.
	Command []string `yaml:"command,omitempty"`
	// Dir is the working directory, relative to the environment root; default the root.
	Dir string `yaml:"dir,omitempty"`
	// Env is added to berth's environment and config/.env.
	Env map[string]string `yaml:"env,omitempty"`
	// UnsetEnv names variables removed from the service's environment.
	UnsetEnv     []string     `yaml:"unset_env,omitempty"`
	DependsOn    DependsOn    `yaml:"depends_on,omitempty"`
	Conflicts    []string     `yaml:"conflicts,omitempty"`
	Health       *HealthCheck `yaml:"health,omitempty"`
	StopSignal   string       `yaml:"stop_signal,omitempty"`
	StopTimeout  Duration     `yaml:"stop_timeout,omitempty"`
	StartTimeout Duration     `yaml:"start_timeout,omitempty"`
	// StartCheck is how long a start watches the service for an immediate
	// exit (default DefaultStartCheck; 0s turns the watch off). It ends
	// early once the service's health check passes.
	StartCheck *Duration `yaml:"start_check,omitempty"`
	Log        *LogSpec  `yaml:"log,omitempty"`
	// AppLog is the application's own log file, relative to the root.
	AppLog    string         `yaml:"app_log,omitempty"`
	Critical  bool           `yaml:"critical,omitempty"`
	Host      string         `yaml:"host,omitempty"`
	Container *ContainerSpec `yaml:"container,omitempty"`
	Compose   *ComposeSpec   `yaml:"compose,omitempty"`
	Swarm     *SwarmSpec     `yaml:"swarm,omitempty"`
	// Restart, MaxRestarts, RestartBackoff and Liveness are the
	// supervisor's policy for a host service (see restart.go).
	Restart        string          `yaml:"restart,omitempty"`
	MaxRestarts    int             `yaml:"max_restarts,omitempty"`
	RestartBackoff *RestartBackoff `yaml:"restart_backoff,omitempty"`
	Liveness       *Liveness       `yaml:"liveness,omitempty"`
	Hooks          *Hooks          `yaml:"hooks,omitempty"`
}

// LogSpec says where a detached service's stdout and stderr go.
type LogSpec struct {
	// To is "discard" (default) or "file".
	To string `yaml:"to"`
	// Path is relative to the root; default logs/<service>/service.log.
	Path     string   `yaml:"path,omitempty"`
	MaxSize  ByteSize `yaml:"max_size,omitempty"`
	MaxFiles int      `yaml:"max_files,omitempty"`
}

// Log destinations.
const (
	LogDiscard = "discard"
	LogFile    = "file"
)

// ContainerSpec is what a container service runs.
type ContainerSpec struct {
	// Image is a manifest image name or any local image reference.
	Image     string     `yaml:"image"`
	Ports     []string   `yaml:"ports,omitempty"`
	Volumes   []string   `yaml:"volumes,omitempty"`
	User      string     `yaml:"user,omitempty"`
	Restart   string     `yaml:"restart,omitempty"`
	Resources *Resources `yaml:"resources,omitempty"`
}

// ComposeSpec is a docker compose project's part that one service stands for.
type ComposeSpec struct {
	// File is relative to the environment root.
	File string `yaml:"file"`
	// Services are the compose services brought up together, e.g. db minio mc.
	Services []string `yaml:"services"`
}

// HealthCheck kinds.
const (
	HealthHTTP    = "http"
	HealthTCP     = "tcp"
	HealthCommand = "command"
	HealthFile    = "file"
)

// HealthCheck tells when a started service is ready.
type HealthCheck struct {
	Type string `yaml:"type"`
	// http
	URL            string `yaml:"url,omitempty"`
	Method         string `yaml:"method,omitempty"`
	ExpectedStatus int    `yaml:"expected_status,omitempty"`
	// tcp
	Address string `yaml:"address,omitempty"`
	// command
	Command      []string `yaml:"command,omitempty"`
	ExpectedExit int      `yaml:"expected_exit_code,omitempty"`
	// In runs a command check inside a container or compose service of the
	// environment (SERVICE or SERVICE/COMPOSE_SERVICE) instead of on the host.
	In string `yaml:"in,omitempty"`
	// file
	Path string `yaml:"path,omitempty"`

	Interval Duration `yaml:"interval,omitempty"`
	Timeout  Duration `yaml:"timeout,omitempty"`
	Retries  int      `yaml:"retries,omitempty"`
}

// Dependency conditions.
const (
	ConditionStarted = "started"
	ConditionHealthy = "healthy"
)

// Dependency is one entry of depends_on.
type Dependency struct {
	Service   string
	Condition string
	// Restart asks the supervisor to restart the dependent once this
	// dependency has come back (healthy) after a crash.
	Restart bool
}

// DependsOn is written as a list of names or as a map of name to
// {condition: started|healthy}.
type DependsOn []Dependency

// UnmarshalYAML accepts both forms.
func (d *DependsOn) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return nodeError(item, "depends_on entries are service names")
			}
			*d = append(*d, Dependency{Service: item.Value, Condition: ConditionStarted})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			dep := Dependency{Service: k.Value, Condition: ConditionStarted}
			if v.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					switch v.Content[j].Value {
					case "condition":
						dep.Condition = v.Content[j+1].Value
					case "restart":
						if err := v.Content[j+1].Decode(&dep.Restart); err != nil {
							return nodeError(v.Content[j+1], "depends_on.%s.restart is true or false", k.Value)
						}
					default:
						return nodeError(v.Content[j], "unknown key %q in depends_on.%s (condition or restart)", v.Content[j].Value, k.Value)
					}
				}
			} else if v.Kind != yaml.ScalarNode || (v.Tag != "!!null" && v.Value != "") {
				return nodeError(v, "depends_on.%s takes {condition: started|healthy}", k.Value)
			}
			*d = append(*d, dep)
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return nodeError(n, "depends_on is a list of service names")
	default:
		return nodeError(n, "depends_on is a list of service names")
	}
	return nil
}

// Duration is a time.Duration written as "5s" or "1m30s".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return nodeError(n, "invalid duration %q (write it like 5s, 500ms or 1m)", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ByteSize is a size written as 10MiB, 512KiB, 1GB or a plain number of bytes.
type ByteSize int64

var sizeRE = lazy(`^(\d+)\s*([KMG]i?B?|B)?$`)

// UnmarshalYAML parses a size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil {
		return nodeError(n, "invalid size %q (write it like 10MiB or 512KiB)", n.Value)
	}
	v, _ := strconv.ParseInt(m[1], 10, 64)
	switch strings.TrimSuffix(strings.TrimSuffix(m[2], "B"), "i") {
	case "K":
		v <<= 10
	case "M":
		v <<= 20
	case "G":
		v <<= 30
	}
	*b = ByteSize(v)
	return nil
}

// Problem is one thing wrong with a manifest.
type Problem struct {
	Line int
	Msg  string
}

// ManifestError reports every problem of a manifest at once.
type ManifestError struct {
	Path     string
	Problems []Problem
}

func (e *ManifestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		if p.Line > 0 {
			fmt.Fprintf(&b, "\n  %s:%d: %s", e.Path, p.Line, p.Msg)
		} else {
			fmt.Fprintf(&b, "\n  %s: %s", e.Path, p.Msg)
		}
	}
	return b.String()
}

// LoadManifest reads and validates path.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return ParseManifest(path, data)
}

var yamlLineRE = lazy(`^line (\d+): (.*)$`)

// ParseManifest parses and validates manifest content; path names it in errors.
func ParseManifest(path string, data []byte) (*Manifest, error) {
	merr := &ManifestError{Path: path}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		merr.Problems = append(merr.Problems, yamlProblems(err)...)
		return nil, merr
	}
	m := &Manifest{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(m); errors.Is(err, io.EOF) {
		merr.Problems = append(merr.Problems, Problem{Msg: "the manifest is empty: start from `berth init`"})
		return nil, merr
	} else if err != nil {
		merr.Problems = append(merr.Problems, yamlProblems(err)...)
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, merr
		}
		// Type errors leave the rest decoded: go on, so every problem is
		// reported in one run.
	}
	lines := orderFromNode(&root, m)
	m.graph = NewGraph(m)
	merr.Problems = append(merr.Problems, m.validate(lines)...)
	if len(merr.Problems) > 0 {
		sort.SliceStable(merr.Problems, func(i, j int) bool { return merr.Problems[i].Line < merr.Problems[j].Line })
		return m, merr
	}
	return m, nil
}

// nodeError is how a custom unmarshaler reports a problem so that the
// decoder goes on and reports the others too.
func nodeError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)}}
}

func yamlProblems(err error) []Problem {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var out []Problem
	for _, msg := range msgs {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if sm := yamlLineRE.FindStringSubmatch(msg); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			out = append(out, Problem{Line: n, Msg: friendlyYAML(sm[2])})
		} else {
			out = append(out, Problem{Msg: friendlyYAML(msg)})
		}
	}
	return out
}

var typeNameRE = lazy(`in type metadata\.(\w+)`)

func friendlyYAML(msg string) string {
	if strings.HasPrefix(msg, "field ") && strings.Contains(msg, " not found in type ") {
		name := strings.TrimPrefix(msg, "field ")
		name = name[:strings.Index(name, " not found")]
		where := "here"
		if sm := typeNameRE.FindStringSubmatch(msg); sm != nil {
			where = "in a " + strings.ToLower(sm[1])
		}
		return fmt.Sprintf("unknown key %q %s (check its spelling against the manifest reference in README.md)", name, where)
	}
	msg = strings.ReplaceAll(msg, "!!str", "a string")
	msg = strings.ReplaceAll(msg, "!!seq", "a list")
	msg = strings.ReplaceAll(msg, "!!map", "a mapping")
	return msg
}

// entityLines maps "services.core" and the like to the line that declares it.
type entityLines map[string]int

// of is the line of key, or of its nearest enclosing key that has one
// (services.api.swarm.ports falls back to services.api.swarm).
func (l entityLines) of(key string) int {
	for {
		if n, ok := l[key]; ok {
			return n
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}

func orderFromNode(root *yaml.Node, m *Manifest) entityLines {
	lines := entityLines{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return lines
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		section, body := top.Content[i].Value, top.Content[i+1]
		lines[section] = top.Content[i].Line
		if body.Kind != yaml.MappingNode {
			continue
		}
		var order *[]string
		switch section {
		case "components":
			order = &m.ComponentOrder
		case "images":
			order = &m.ImageOrder
		case "services":
			order = &m.ServiceOrder
		case "hosts":
			order = &m.HostOrder
		case "tasks":
			order = &m.TaskOrder
		default:
			continue
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			name := body.Content[j].Value
			*order = append(*order, name)
			lines[section+"."+name] = body.Content[j].Line
			if v := body.Content[j+1]; v.Kind == yaml.MappingNode {
				for k := 0; k+1 < len(v.Content); k += 2 {
					lines[section+"."+name+"."+v.Content[k].Value] = v.Content[k].Line
				}
			}
		}
	}
	return lines
}

func (m *Manifest) validate(lines entityLines) []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Line: lines.of(key), Msg: fmt.Sprintf(format, args...)})
	}
	if m.Version != 1 {
		add("version", "version must be 1 (found %d)", m.Version)
	}
	checkName := func(section, name string) {
		if reservedNames[name] && (section == "components" || section == "services") {
			add(section+"."+name, "%s name %q is taken by the environment's own %s: rename the %s (a branch install of a component lives in $ENV_ROOT/<name>, and would replace it)", strings.TrimSuffix(section, "s"), name, name, strings.TrimSuffix(section, "s"))
		}
		if !ValidName(name) {
			add(section+"."+name, "invalid %s name %q: use lower-case letters, digits, '_', '.' and '-', starting with a letter or digit", strings.TrimSuffix(section, "s"), name)
		}
		if name == "all" {
			add(section+"."+name, "%q is reserved (it means every one): rename it", name)
		}
	}
	for _, name := range m.ComponentOrder {
		checkName("components", name)
		c := m.Components[name]
		key := "components." + name
		if c == nil {
			add(key, "component %q is empty: give it a repo", name)
			continue
		}
		if c.Repo == "" {
			add(key, "component %q has no repo: give the git URL of its repository", name)
		}
		for i, st := range c.Setup {
			if len(st.Run) == 0 {
				add(key+".setup", "component %q setup step %d has no run command", name, i+1)
			}
			if !isRelativeInside(st.Dir) {
				add(key+".setup", "component %q setup step %d: dir %q must be a relative path inside the component", name, i+1, st.Dir)
			}
		}
	}
	for _, name := range m.ImageOrder {
		checkName("images", name)
		img := m.Images[name]
		key := "images." + name
		if img == nil {
			add(key, "image %q is empty", name)
			continue
		}
		if img.Component == "" {
			add(key, "image %q names no component: say which component's tree it is built from", name)
		} else if m.Components[img.Component] == nil {
			add(key+".component", "image %q: unknown component %q", name, img.Component)
		}
		if img.Tag == "" {
			add(key, "image %q has no tag", name)
		}
		if !isRelativeInside(img.Context) {
			add(key+".context", "image %q: context %q must be a relative path inside the component", name, img.Context)
		}
		if strings.Contains(img.Registry, "://") {
			add(key+".registry", "image %q: registry %q is HOST[:PORT][/PATH], without a scheme", name, img.Registry)
		}
		if !isRelativeInside(img.Dockerfile) {
			add(key+".dockerfile", "image %q: dockerfile %q must be a relative path inside the context", name, img.Dockerfile)
		}
	}
	for _, name := range m.HostOrder {
		checkName("hosts", name)
		h := m.Hosts[name]
		if h == nil || h.Endpoint == "" {
			add("hosts."+name, "host %q has no endpoint (unix://, tcp:// or ssh://)", name)
			continue
		}
		if !strings.HasPrefix(h.Endpoint, "unix://") && !strings.HasPrefix(h.Endpoint, "tcp://") && !strings.HasPrefix(h.Endpoint, "ssh://") {
			add("hosts."+name+".endpoint", "host %q: endpoint %q must start with unix://, tcp:// or ssh://", name, h.Endpoint)
		}
		if strings.HasPrefix(h.Endpoint, "ssh://") {
			if _, err := ParseSSHEndpoint(h.Endpoint); err != nil {
				add("hosts."+name+".endpoint", "host %q: %v", name, err)
			}
			if h.TLS != nil {
				add("hosts."+name+".tls", "host %q: tls does not apply to an ssh:// endpoint (ssh encrypts the connection)", name)
			}
		}
	}
	for _, name := range m.ServiceOrder {
		checkName("services", name)
		s := m.Services[name]
		key := "services." + name
		if s == nil {
			add(key, "service %q is empty: give it a command", name)
			continue
		}
		if s.Runner == "" {
			s.Runner = RunnerProcess
		}
		switch s.Runner {
		case RunnerProcess:
			if len(s.Command) == 0 {
				add(key, "service %q has no command", name)
			}
			if s.Container != nil || s.Compose != nil || s.Swarm != nil {
				add(key, "service %q runs as a process: container, compose and swarm settings do not apply", name)
			}
		case RunnerContainer:
			if s.Container == nil || s.Container.Image == "" {
				add(key, "service %q runs as a container but names no container.image", name)
			} else {
				validateContainer(name, key+".container", s.Container, add)
			}
		case RunnerSwarm:
			validateSwarm(name, key, s.Swarm, add)
			if s.Host != "" {
				add(key+".host", "service %q: a swarm service runs where the swarm places it: drop host, use swarm.constraints", name)
			}
		case RunnerCompose:
			if s.Compose == nil || s.Compose.File == "" || len(s.Compose.Services) == 0 {
				add(key, "service %q runs through compose but lacks compose.file or compose.services", name)
			}
		default:
			add(key+".runner", "service %q: unknown runner %q (use process, container, compose or swarm)", name, s.Runner)
		}
		if s.Component != "" && m.Components[s.Component] == nil {
			add(key+".component", "service %q: unknown component %q", name, s.Component)
		}
		if s.Host != "" && m.Hosts[s.Host] == nil {
			add(key+".host", "service %q: unknown host %q", name, s.Host)
		}
		if s.Host != "" && s.Runner == RunnerProcess {
			add(key+".host", "service %q: only container services can be placed on a host", name)
		}
		if !isRelativeInside(s.Dir) {
			add(key+".dir", "service %q: dir %q must be a relative path inside the environment", name, s.Dir)
		}
		for _, d := range s.DependsOn {
			if m.Services[d.Service] == nil {
				add(key+".depends_on", "service %q depends on unknown service %q", name, d.Service)
			}
			if d.Service == name {
				add(key+".depends_on", "service %q depends on itself", name)
			}
			if d.Condition != ConditionStarted && d.Condition != ConditionHealthy {
				add(key+".depends_on", "service %q: dependency %q has condition %q (use started or healthy)", name, d.Service, d.Condition)
			}
			if d.Condition == ConditionHealthy && m.Services[d.Service] != nil && m.Services[d.Service].Health == nil {
				add(key+".depends_on", "service %q waits for %q to be healthy, but %q has no health check", name, d.Service, d.Service)
			}
		}
		for _, c := range s.Conflicts {
			if m.Services[c] == nil {
				add(key+".conflicts", "service %q conflicts with unknown service %q", name, c)
			}
		}
		validateRestart(name, key, s, add)
		if s.StopSignal != "" {
			if _, err := ParseSignal(s.StopSignal); err != nil {
				add(key+".stop_signal", "service %q: %v", name, err)
			}
		}
		if s.Log != nil {
			switch s.Log.To {
			case LogDiscard, LogFile:
			default:
				add(key+".log", "service %q: log.to is %q (use discard or file)", name, s.Log.To)
			}
			if !isRelativeInside(s.Log.Path) {
				add(key+".log", "service %q: log.path %q must be a relative path inside the environment", name, s.Log.Path)
			}
			if s.Log.MaxFiles < 0 || s.Log.MaxSize < 0 {
				add(key+".log", "service %q: log.max_size and log.max_files cannot be negative", name)
			}
		}
		if h := s.Health; h != nil {
			hk := key + ".health"
			switch h.Type {
			case HealthHTTP:
				if h.URL == "" {
					add(hk, "service %q: an http health check needs url", name)
				}
			case HealthTCP:
				if h.Address == "" {
					add(hk, "service %q: a tcp health check needs address (host:port)", name)
				}
			case HealthCommand:
				if len(h.Command) == 0 {
					add(hk, "service %q: a command health check needs command", name)
				}
			case HealthFile:
				if h.Path == "" {
					add(hk, "service %q: a file health check needs path", name)
				}
			default:
				add(hk, "service %q: health.type is %q (use http, tcp, command or file)", name, h.Type)
			}
			if h.Retries < 0 {
				add(hk, "service %q: health.retries cannot be negative", name)
			}
		}
	}
	ps = append(ps, m.validateSteps(lines)...)
	seenOrder := map[string]bool{}
	for _, name := range m.StartOrder {
		if m.Services[name] == nil {
			add("start_order", "start_order names unknown service %q", name)
		}
		if seenOrder[name] {
			add("start_order", "start_order names %q twice", name)
		}
		seenOrder[name] = true
	}
	if cycle := m.Graph().Cycle(); cycle != nil {
		add("services."+cycle[0]+".depends_on", "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
	return ps
}

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

// signalNames is berth's one table of signal names: what berth.yaml's
// stop_signal accepts and what berth prints for a signal.
var signalNames = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
	"QUIT": syscall.SIGQUIT, "KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2, "ABRT": syscall.SIGABRT, "SEGV": syscall.SIGSEGV,
}

// SignalName is the name of sig without SIG (TERM), or its number when
// it has no name in the table.
func SignalName(sig syscall.Signal) string {
	for name, s := range signalNames {
		if s == sig {
			return name
		}
	}
	return strconv.Itoa(int(sig))
}

// ParseSignal reads TERM, SIGTERM or 15.
func ParseSignal(s string) (syscall.Signal, error) {
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if sig, ok := signalNames[name]; ok {
		return sig, nil
	}
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q (use TERM, INT, HUP, QUIT, KILL, USR1 or USR2)", s)
}

// StopSignalOf is the service's stop signal, TERM unless the manifest says.
func (s *Service) StopSignalOf() syscall.Signal {
	if s.StopSignal == "" {
		return syscall.SIGTERM
	}
	sig, err := ParseSignal(s.StopSignal)
	if err != nil {
		return syscall.SIGTERM
	}
	return sig
}

// StopGrace is the service's grace period after the stop signal, 5 s unless the manifest says.
func (s *Service) StopGrace() time.Duration {
	if s.StopTimeout == 0 {
		return DefaultStopTimeout
	}
	return time.Duration(s.StopTimeout)
}

// DefaultStartCheck is the start check window of a service that sets none:
// close to the OQTOPUS CLI's 0.2 s wait before it looks at a started
// service.
const DefaultStartCheck = 250 * time.Millisecond

// StartCheckWindow is how long a start watches the service for an
// immediate exit; 0 means not at all.
func (s *Service) StartCheckWindow() time.Duration {
	if s.StartCheck == nil {
		return DefaultStartCheck
	}
	return time.Duration(*s.StartCheck)
}

// StartWait is how long a start may take to become healthy.
func (s *Service) StartWait() time.Duration {
	if s.StartTimeout == 0 {
		return DefaultStartTimeout
	}
	return time.Duration(s.StartTimeout)
}
