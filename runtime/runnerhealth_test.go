package runtime_test

import (
	"context"
	"testing"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
	"github.com/berthdev/berth/runtime/runnertest/fakerunner"
)

// healthRunner is a fake runner that knows its services' health itself,
// as Docker knows a compose container's.
type healthRunner struct {
	*fakerunner.Runner
	result *health.Result
}

func (h healthRunner) RunnerHealth(context.Context, *runtime.Service) (*health.Result, error) {
	return h.result, nil
}

// A service without a manifest check reports its runner's own check (a
// compose container's Docker health), not "no check"; with neither, it
// stays "no check".
func TestCheckHealthAsksTheRunner(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, "version: 1\nservices:\n  db:\n    runner: container\n    container: {image: x}\n    command: [x]\n  web:\n    command: [x]\n")
	hr := healthRunner{Runner: fr, result: &health.Result{Healthy: true, Kind: "docker", Detail: "docker: db healthy"}}
	m.Runners.Register("container", func() (runtime.Runner, error) { return hr, nil })
	if _, err := m.Start(ctx, []string{"db", "web"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	states, err := m.Status(ctx, nil, runtime.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	reports := m.CheckHealth(ctx, states)
	got := map[string]health.State{}
	for _, r := range reports {
		got[r.Service] = r.State
	}
	if got["db"] != health.StateHealthy || got["web"] != health.StateNoCheck {
		t.Fatalf("health = %v; want db healthy (from its runner), web no check", got)
	}
	if states[0].Health != "healthy" || states[0].HealthDetail != "docker: db healthy" {
		t.Errorf("status of db: health %q (%q); want the runner's", states[0].Health, states[0].HealthDetail)
	}
}
