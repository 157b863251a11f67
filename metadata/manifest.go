package metadata

import (
	"syscall"
	"time"
)

// ManifestFile is the name of the manifest in an environment's root.
const ManifestFile = "berth.yaml"

// reservedNames are the entries of an environment's root that berth and the
// OQTOPUS CLI make: a component or service may not be named like one.
var reservedNames = map[string]bool{
	"config": true, "logs": true, PIDDirName: true, "sse_work": true, StateDirName: true,
	ManifestFile: true, MetadataFile: true, ".metadata.lock": true, ".locks": true,
}

// Runner kinds a service may name.
const (
	RunnerProcess   = "process"
	RunnerContainer = "container"
	RunnerCompose   = "compose"
	RunnerSwarm     = "swarm"
	// RunnerRemote is a service berth does not run, only checks: an
	// endpoint elsewhere that dependents may wait for.
	RunnerRemote = "remote"
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
	// Registry is where `berth build --push` pushes the image (HOST[:PORT][/PATH]),
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
	UnsetEnv  []string  `yaml:"unset_env,omitempty"`
	DependsOn DependsOn `yaml:"depends_on,omitempty"`
	Conflicts []string  `yaml:"conflicts,omitempty"`
	// Profiles put the service in named profiles: start all (and up)
	// leaves it alone unless one of them is named with --profile.
	Profiles []string `yaml:"profiles,omitempty"`
	// AutoStart false leaves the service out of start all unless a profile
	// of it is named; it still starts by name. Default true.
	AutoStart    *bool        `yaml:"auto_start,omitempty"`
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
	Remote    *RemoteSpec    `yaml:"remote,omitempty"`
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
	// Image is a manifest image name or any image reference.
	Image string `yaml:"image"`
	// Pull says when the daemon pulls an image berth did not build:
	// missing (default), always or never.
	Pull      string     `yaml:"pull,omitempty"`
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

// RemoteSpec is where a remote service answers and how berth checks it.
type RemoteSpec struct {
	// Endpoint is an http(s) URL (a GET must answer 2xx or 3xx) or a tcp
	// address, tcp://host:port or host:port (a connection must open).
	Endpoint string `yaml:"endpoint"`
	// CA is a PEM file of the authorities an https endpoint's certificate
	// must chain to (relative to the environment root); default the
	// system's.
	CA string `yaml:"ca,omitempty"`
	// InsecureSkipVerify accepts any certificate (off by default).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify,omitempty"`
	// TokenFile holds a token sent as `Authorization: Bearer` to an http(s)
	// endpoint (relative to the environment root).
	TokenFile string `yaml:"token_file,omitempty"`
	// Timeout bounds one check; default 5s.
	Timeout Duration `yaml:"timeout,omitempty"`
}
