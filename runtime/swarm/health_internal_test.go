package swarm

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/runtime"
)

// healthAPI is a swarm with one service of two running tasks whose
// containers report the given Docker health.
type healthAPI struct {
	API
	health map[string]*container.Health
}

func (f *healthAPI) ServiceInspectWithRaw(context.Context, string, swarm.ServiceInspectOptions) (swarm.Service, []byte, error) {
	two := uint64(2)
	return swarm.Service{ID: "svc1", Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "env-api", Labels: map[string]string{LabelEnvironment: "env", LabelService: "api"}},
		Mode:        swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}},
	}}, nil, nil
}

func (f *healthAPI) TaskList(context.Context, swarm.TaskListOptions) ([]swarm.Task, error) {
	var ts []swarm.Task
	for i, c := range []string{"c1", "c2"} {
		ts = append(ts, swarm.Task{ID: "t" + c, Slot: i + 1, DesiredState: swarm.TaskStateRunning,
			Status: swarm.TaskStatus{State: swarm.TaskStateRunning, ContainerStatus: &swarm.ContainerStatus{ContainerID: c}}})
	}
	return ts, nil
}

func (f *healthAPI) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &container.State{Running: true, Health: f.health[id]}}}, nil
}

// TestRunnerHealthOfTasks: a task that is unhealthy or starting makes the
// service unhealthy, with the check's last output; tasks without a check
// give no result.
func TestRunnerHealthOfTasks(t *testing.T) {
	failing := &container.Health{Status: "unhealthy", Log: []*container.HealthcheckResult{{ExitCode: 1, Output: "connection refused\n"}}}
	for _, tc := range []struct {
		name    string
		health  map[string]*container.Health
		healthy bool
		detail  string
	}{
		{"all healthy", map[string]*container.Health{"c1": {Status: "healthy"}, "c2": {Status: "healthy"}}, true, "docker: api.1 healthy, api.2 healthy"},
		{"one unhealthy", map[string]*container.Health{"c1": {Status: "healthy"}, "c2": failing}, false, "docker: api.1 healthy, api.2 unhealthy: connection refused"},
		{"one starting", map[string]*container.Health{"c1": {Status: "starting"}, "c2": {Status: "healthy"}}, false, "docker: api.1 starting, api.2 healthy"},
		{"no check", nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &healthAPI{health: tc.health}
			r := New(Options{Client: func(context.Context) (API, error) { return api, nil }})
			res, err := r.RunnerHealth(context.Background(), &runtime.Service{Name: "api", Environment: "env"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.detail == "" {
				if res != nil {
					t.Fatalf("result %+v; want none", res)
				}
				return
			}
			if res == nil || res.Healthy != tc.healthy || res.Detail != tc.detail {
				t.Fatalf("result %+v; want healthy=%v %q", res, tc.healthy, tc.detail)
			}
		})
	}
}
