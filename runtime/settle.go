package runtime

import (
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime/health"
)

// Settler is implemented by runners that want to know how a start ended
// for each service they launched: ok when it still runs and passed its
// start check and readiness. A supervisor applies a restart policy only
// to a launch whose start succeeded; an exit before is a failed start,
// which the command reports.
type Settler interface {
	Settle(svc *Service, h Handle, ok bool)
}

// StartPreparer is implemented by runners that can get ready for launches
// while a start is still being planned: the supervisor runner spawns its
// supervisor then, which otherwise held up the first launch by a whole
// process start. PlanStart calls it as soon as it finds a service the
// runner is to launch; it must return at once and may be called again.
type StartPreparer interface {
	PrepareStart()
}

// BaseService is the service name as inspecting and stopping it needs,
// without expansion (see base), and its runner.
func (m *Manager) BaseService(name string) (*Service, Runner, error) { return m.base(name) }

// HealthCheckOf is the service's health check with its variables
// expanded, or nil, and the options to run it with.
func (m *Manager) HealthCheckOf(name string) (*metadata.HealthCheck, health.Options, error) {
	hc, err := m.healthCheck(name)
	if err != nil || hc == nil {
		return nil, health.Options{}, err
	}
	return hc, m.checkOptions(name), nil
}

// RunInfo is what the supervisor recorded about a host service: how it
// last ended, its restarts, and whether it gave up. Status -o wide and -o
// json show it; the plain status line does not.
type RunInfo struct {
	Supervised bool   `json:"supervised"`
	Policy     string `json:"restart_policy,omitempty"`
	Restarts   int    `json:"restarts"`
	// LastExit is "exit code 3", "signal KILL" or "exit status unknown".
	LastExit string `json:"last_exit,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"`
	// ExitedAt is when it last ended on its own.
	ExitedAt *time.Time `json:"exited_at,omitempty"`
	GaveUp   string     `json:"gave_up,omitempty"`
	// Stopped says who stopped it: "by user", "because api gave up ...".
	Stopped string `json:"stopped,omitempty"`
	// Down is set when it was started, not stopped by a user, and does not run.
	Down bool `json:"down,omitempty"`
}
