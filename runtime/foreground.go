package runtime

import (
	"context"
	"fmt"
	"strings"
)

// Foreground runs one service attached to stdio until it ends. Its stopped
// dependencies start detached first (unless req.NoDeps), as for any start.
// Its record is written so that status elsewhere shows it, and the start
// lock is released once it runs.
func (m *Manager) Foreground(ctx context.Context, name string, stdio Stdio, req StartRequest) (Exit, error) {
	if name == All {
		return Exit{}, fmt.Errorf("--foreground runs exactly one service, not all")
	}
	if !req.NoDeps && m.Env.Manifest.Services[name] != nil {
		if err := m.startDependencies(ctx, name, req); err != nil {
			return Exit{}, err
		}
	}
	// The service itself is then the only one the plan launches.
	only := req
	only.NoDeps = true
	p, err := m.PlanStart(ctx, []string{name}, only)
	if err != nil {
		return Exit{}, err
	}
	defer p.release()
	for _, d := range p.Confirm[name] {
		if err := m.confirmHealthy(ctx, d); err != nil {
			return Exit{}, fmt.Errorf("failed to run '%s': it needs %s healthy: %w", name, d, err)
		}
	}
	svc := p.Launch[0]
	run := p.runners[name]
	exit, err := run.Run(ctx, svc, stdio, func(Handle) { p.release() })
	if err != nil {
		return exit, fmt.Errorf("failed to run '%s': %w", name, err)
	}
	return exit, nil
}

// startDependencies starts, detached, the dependencies of name that are
// stopped.
func (m *Manager) startDependencies(ctx context.Context, name string, req StartRequest) error {
	var stopped []string
	for _, d := range m.Env.Manifest.Graph().WithDependencies([]string{name}) {
		if d != name && !m.isRunning(ctx, d) {
			stopped = append(stopped, d)
		}
	}
	if len(stopped) == 0 {
		return nil
	}
	m.note("starting the dependencies of %s first: %s", name, strings.Join(stopped, ", "))
	_, err := m.Start(ctx, stopped, req)
	return err
}
