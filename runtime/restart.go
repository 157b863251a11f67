package runtime

import (
	"context"
	"fmt"
	"slices"
)

// Restart plans a stop, then executes it with ExecuteRestart.
func (m *Manager) Restart(ctx context.Context, names []string, req StopRequest) ([]StopResult, []State, error) {
	p, err := m.PlanStop(ctx, names, req)
	if err != nil {
		return nil, nil, err
	}
	return m.ExecuteRestart(ctx, p)
}

// ExecuteRestart stops the plan's services and, only if every stop
// succeeded, starts them again in start order: those named, and the
// dependents stopped with them. The start keeps the stop's host.
func (m *Manager) ExecuteRestart(ctx context.Context, p *StopPlan) ([]StopResult, []State, error) {
	stopped, err := m.ExecuteStop(ctx, p)
	if err != nil {
		return stopped, nil, fmt.Errorf("%w\nnothing was started again because a stop failed", err)
	}
	names := []string{All}
	if !p.All {
		names = nil
		for _, r := range stopped {
			if !slices.Contains(p.Added, r.Name) || r.WasRunning {
				names = append(names, r.Name)
			}
		}
	}
	started, err := m.Start(ctx, names, StartRequest{Host: p.req.Host})
	return stopped, started, err
}
