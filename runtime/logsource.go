package runtime

import (
	"context"
	"fmt"
	"io"
)

// Logs opens a service's logs through its runner, the one way every log is
// read (berth logs, -f, the lines shown when a start fails): the daemon's for
// containers and compose projects, the log files for host processes.
func (m *Manager) Logs(ctx context.Context, name string, opts LogOptions) (io.ReadCloser, error) {
	if m.Env.Manifest.Services[name] == nil {
		return nil, m.Env.Manifest.UnknownService(name)
	}
	svc, run, err := m.base(name)
	if err != nil {
		return nil, err
	}
	rc, err := run.Logs(ctx, svc, opts)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", name, err)
	}
	return rc, nil
}
