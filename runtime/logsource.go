package runtime

import (
	"context"
	"fmt"
	"io"

	"github.com/berthdev/berth/metadata"
)

// Logs opens a service's logs through its runner: the daemon's for
// containers and compose projects, the captured output file for processes.
func (m *Manager) Logs(ctx context.Context, name string, opts LogOptions) (io.ReadCloser, error) {
	svc, run, err := m.base(name)
	if err != nil {
		return nil, err
	}
	svc.Log = logSpec(m.Env, name, svc.Spec.(*metadata.Service))
	rc, err := run.Logs(ctx, svc, opts)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", name, err)
	}
	return rc, nil
}
