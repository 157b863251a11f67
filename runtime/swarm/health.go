package swarm

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
)

var _ runtime.HealthReporter = (*Runner)(nil)

// taskHealth fills in Docker's own health (the image's HEALTHCHECK) of the
// tasks that run or are starting, from their containers. A container on
// another node cannot be inspected from here: its task's health stays
// unknown (""), as does one whose image has no health check.
func taskHealth(ctx context.Context, c API, ts []swarm.Task, out []Task) {
	byID := map[string]swarm.Task{}
	for _, t := range ts {
		byID[t.ID] = t
	}
	for i := range out {
		t := byID[out[i].ID]
		if !active(t) || t.Status.ContainerStatus == nil || t.Status.ContainerStatus.ContainerID == "" {
			continue
		}
		info, err := c.ContainerInspect(ctx, t.Status.ContainerStatus.ContainerID)
		if err != nil || info.State == nil || info.State.Health == nil {
			if err != nil && !cerrdefs.IsNotFound(err) {
				out[i].HealthOutput = err.Error()
			}
			continue
		}
		h := info.State.Health
		out[i].Health = h.Status
		if l := len(h.Log); l > 0 && h.Status != "healthy" {
			out[i].HealthOutput = strings.TrimSpace(h.Log[l-1].Output)
		}
	}
}

// RunnerHealth reports Docker's own health of the service's tasks, where
// the image defines a HEALTHCHECK and berth.yaml gives the service no check
// of its own: healthy when every task with a check is healthy (one still
// starting is not yet). It is nil when no task has a check.
func (r *Runner) RunnerHealth(ctx context.Context, svc *runtime.Service) (*health.Result, error) {
	start := time.Now()
	st, err := r.Inspect(ctx, svc)
	if err != nil {
		return nil, err
	}
	d, _ := st.Detail.(Detail)
	var parts []string
	healthy := true
	for _, t := range d.Tasks {
		if t.Health == "" || t.Desired != string(swarm.TaskStateRunning) {
			continue
		}
		part := fmt.Sprintf("%s.%d %s", svc.Name, t.Slot, t.Health)
		if t.Health != "healthy" {
			healthy = false
			if t.HealthOutput != "" {
				part += ": " + t.HealthOutput
			}
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return &health.Result{Healthy: healthy, Kind: "docker", Detail: "docker: " + strings.Join(parts, ", "), Duration: time.Since(start), At: start}, nil
}
