package compose

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
)

var _ runtime.HealthReporter = (*Runner)(nil)

// RunnerHealth reports Docker's own health of the service's running
// containers (the compose file's healthcheck): healthy when every one with
// a check is healthy; nil when none has a check.
func (r *Runner) RunnerHealth(ctx context.Context, svc *runtime.Service) (*health.Result, error) {
	start := time.Now()
	t, err := r.target(svc)
	if err != nil {
		return nil, err
	}
	c, found, err := r.containers(ctx, t)
	if err != nil {
		return nil, err
	}
	var parts []string
	healthy := true
	for _, n := range t.names {
		s, ok := found[n]
		if !ok || s.State != "running" {
			continue
		}
		info, err := c.ContainerInspect(ctx, s.ID)
		if err != nil {
			return nil, fmt.Errorf("inspect compose container of %s: %w", n, err)
		}
		h := info.State.Health
		if h == nil {
			continue
		}
		part := n + " " + h.Status
		if h.Status != "healthy" {
			healthy = false
			if l := len(h.Log); l > 0 && strings.TrimSpace(h.Log[l-1].Output) != "" {
				part += ": " + strings.TrimSpace(h.Log[l-1].Output)
			}
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return &health.Result{Healthy: healthy, Kind: "docker", Detail: "docker: " + strings.Join(parts, ", "), Duration: time.Since(start), At: start}, nil
}
