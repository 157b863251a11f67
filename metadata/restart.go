package metadata

import (
	"os"
	"strings"
	"time"
)

// StateDirName is the environment's own directory for what berth keeps
// about its services beyond PID files: the supervisor's socket, lock and
// log, the run records and the event log.
const StateDirName = ".berth"

// PIDDirName is the environment's directory of host services' PID files
// and start locks, as the OQTOPUS CLI keeps them.
const PIDDirName = "pids"

// Restart policies of a host service, compose's words. A service a user
// stopped is never restarted, whatever its policy; unless-stopped is
// therefore always, accepted so that compose files' words carry over.
const (
	RestartNo = "no"
	// RestartOnFailure ("on-failure") is shared with Swarm's conditions.
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
)

// Backoff defaults, docker's: 100 ms doubling up to one minute, reset once
// the service has stayed up for 10 s.
const (
	DefaultBackoffInitial = 100 * time.Millisecond
	DefaultBackoffFactor  = 2.0
	DefaultBackoffMax     = time.Minute
	DefaultBackoffReset   = 10 * time.Second
)

// RestartBackoff is the delay before each restart: Initial, then
// multiplied by Factor after each restart, at most Max; back to Initial
// once the service has stayed up for ResetAfter.
type RestartBackoff struct {
	Initial    *Duration `yaml:"initial,omitempty"`
	Factor     float64   `yaml:"factor,omitempty"`
	Max        Duration  `yaml:"max,omitempty"`
	ResetAfter Duration  `yaml:"reset_after,omitempty"`
}

// Liveness restarts a running service whose health check fails Failures
// times in a row (when its restart policy allows).
type Liveness struct {
	Failures int `yaml:"failures"`
}

// RestartPolicy is the service's restart policy, "no" unless set.
func (s *Service) RestartPolicy() string {
	if s.Restart == "" {
		return RestartNo
	}
	return s.Restart
}

// Backoff is the service's backoff with defaults filled in.
func (s *Service) Backoff() (initial time.Duration, factor float64, maxDelay, reset time.Duration) {
	initial, factor, maxDelay, reset = DefaultBackoffInitial, DefaultBackoffFactor, DefaultBackoffMax, DefaultBackoffReset
	if b := s.RestartBackoff; b != nil {
		if b.Initial != nil {
			initial = time.Duration(*b.Initial)
		}
		if b.Factor != 0 {
			factor = b.Factor
		}
		if b.Max != 0 {
			maxDelay = time.Duration(b.Max)
		}
		if b.ResetAfter != 0 {
			reset = time.Duration(b.ResetAfter)
		}
	}
	return initial, factor, maxDelay, reset
}

// Supervised says whether the environment's detached host services run
// under its supervisor: BERTH_SUPERVISOR=0 or 1 decides for one command
// (and the supervisor it starts), else the manifest's supervisor key,
// else on: supervisor: false runs the environment without one, as berth
// did before it had one.
func (m *Manifest) Supervised() bool {
	switch strings.ToLower(os.Getenv("BERTH_SUPERVISOR")) {
	case "0", "off", "false", "no":
		return false
	case "1", "on", "true", "yes":
		return true
	}
	return m.Supervisor == nil || *m.Supervisor
}

func validateRestart(name, key string, s *Service, add func(key, format string, args ...any)) {
	switch s.Restart {
	case "", RestartNo, RestartOnFailure, RestartAlways, RestartUnlessStopped:
	default:
		add(key+".restart", "service %q: restart is %q (use no, on-failure, always or unless-stopped)", name, s.Restart)
	}
	policy := s.Restart != "" || s.MaxRestarts != 0 || s.RestartBackoff != nil || s.Liveness != nil
	if policy && s.Runner != RunnerProcess {
		add(key+".restart", "service %q: restart, max_restarts, restart_backoff and liveness apply to host processes; a %s service keeps its engine's policy", name, s.Runner)
	}
	if s.MaxRestarts < 0 {
		add(key+".max_restarts", "service %q: max_restarts cannot be negative (0 means no limit)", name)
	}
	if b := s.RestartBackoff; b != nil && b.Factor != 0 && b.Factor < 1 {
		add(key+".restart_backoff", "service %q: restart_backoff.factor must be at least 1", name)
	}
	if l := s.Liveness; l != nil {
		if l.Failures < 1 {
			add(key+".liveness", "service %q: liveness.failures must be at least 1", name)
		}
		if s.Health == nil {
			add(key+".liveness", "service %q: liveness needs a health check: add health to the service", name)
		}
	}
	for _, d := range s.DependsOn {
		if d.Restart && s.Runner != RunnerProcess {
			add(key+".depends_on", "service %q: depends_on.%s.restart applies to host processes", name, d.Service)
		}
	}
}
