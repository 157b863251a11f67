package compose_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/engine/enginetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// These tests run the compose runner on a fake engine: what berth reads
// back from the daemon, without compose or a daemon.

func fakeService() *runtime.Service {
	return &runtime.Service{
		Name: "db", Runner: metadata.RunnerCompose, Environment: "Lab.1", Dir: "/nowhere",
		StopSignal: syscall.SIGTERM, StopGrace: time.Second,
		Compose: &metadata.ComposeSpec{File: "compose.yaml", Services: []string{"a", "b"}},
	}
}

func fakeRunner(f *enginetest.Fake) *compose.Runner {
	c := f.Client()
	return compose.New(compose.Options{Client: func(context.Context) (*engine.Client, error) { return c, nil }, Command: []string{"false"}})
}

func TestFakeDaemonDown(t *testing.T) {
	down := &engine.UnreachableError{Endpoint: "unix:///var/run/docker.sock", Err: syscall.ENOENT}
	r := compose.New(compose.Options{Client: func(context.Context) (*engine.Client, error) { return nil, down }})
	svc := fakeService()
	var ue *engine.UnreachableError
	if _, err := r.Inspect(context.Background(), svc); !errors.As(err, &ue) {
		t.Errorf("Inspect: got %v, want the UnreachableError", err)
	}
	if err := r.Stop(context.Background(), svc, runtime.Handle{}, runtime.StopOptions{Grace: time.Second}); !errors.As(err, &ue) {
		t.Errorf("Stop: got %v, want the UnreachableError", err)
	}
}

// TestFakeInspect: the project is found by compose's labels, with the
// project name compose v1 would use, and a running container of a service
// wins over an exited one.
func TestFakeInspect(t *testing.T) {
	var filter string
	f := &enginetest.Fake{
		ContainerListFunc: func(_ context.Context, o dcontainer.ListOptions) ([]dcontainer.Summary, error) {
			filter = strings.Join(o.Filters.Get("label"), ",")
			return []dcontainer.Summary{
				{ID: "a1", Names: []string{"/lab1_a_1"}, State: "running", Created: 200, Labels: map[string]string{compose.LabelProject: "lab1", compose.LabelService: "a"}},
				{ID: "b0", Names: []string{"/lab1_b_2"}, State: "running", Created: 100, Labels: map[string]string{compose.LabelProject: "lab1", compose.LabelService: "b"}},
				{ID: "b1", Names: []string{"/lab1_b_1"}, State: "exited", Created: 300, Labels: map[string]string{compose.LabelProject: "lab1", compose.LabelService: "b"}},
				{ID: "x1", State: "running", Created: 50, Labels: map[string]string{compose.LabelProject: "lab1", compose.LabelService: "other"}},
			}, nil
		},
	}
	st, err := fakeRunner(f).Inspect(context.Background(), fakeService())
	if err != nil {
		t.Fatal(err)
	}
	if filter != compose.LabelProject+"=lab1" {
		t.Errorf("listed containers by %q, want the project label lab1", filter)
	}
	if st.State != runtime.Running || st.Describe() != "lab1_a_1, lab1_b_2" || st.Reason != "" {
		t.Errorf("state %+v, want running lab1_a_1, lab1_b_2 (the containers' names, as the OQTOPUS CLI lists them) with no reason", st)
	}
	if st.Handle == nil || st.Handle.ID != "a1,b0" || !st.Handle.StartedAt.Equal(time.Unix(100, 0)) {
		t.Errorf("handle %+v, want ids a1,b0 started at the oldest container's creation", st.Handle)
	}
}

func TestFakeNotFound(t *testing.T) {
	f := &enginetest.Fake{
		ContainerListFunc: func(context.Context, dcontainer.ListOptions) ([]dcontainer.Summary, error) { return nil, nil },
		// Stop of a service without containers still removes the
		// project's own networks that a failed start left.
		NetworkListFunc: func(_ context.Context, o network.ListOptions) ([]network.Summary, error) {
			if got := o.Filters.Get("label"); len(got) != 1 || got[0] != compose.LabelProject+"=lab1" {
				t.Errorf("network filter %v; want only the project's label", got)
			}
			return nil, nil
		},
		ContainerWaitFunc: func(context.Context, string, dcontainer.WaitCondition) (<-chan dcontainer.WaitResponse, <-chan error) {
			errCh := make(chan error, 1)
			errCh <- enginetest.NotFound("container")
			return nil, errCh
		},
	}
	r, svc := fakeRunner(f), fakeService()
	ctx := context.Background()
	st, err := r.Inspect(ctx, svc)
	if err != nil || st.State != runtime.Stopped || st.Handle != nil {
		t.Errorf("Inspect of no containers: %+v, %v; want stopped without a handle", st, err)
	}
	if err := r.Stop(ctx, svc, runtime.Handle{}, runtime.StopOptions{Grace: time.Second}); err != nil {
		t.Errorf("Stop of no containers: %v", err)
	}
	if _, err := r.Wait(ctx, runtime.Handle{ID: "a1,b1"}); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Wait on removed containers: got %v, want ErrNotRunning", err)
	}
	if _, err := r.Logs(ctx, svc, runtime.LogOptions{Tail: -1}); err == nil || !strings.Contains(err.Error(), "start it first") {
		t.Errorf("Logs without containers: got %v, want advice to start it", err)
	}
}

// TestFakeReady: Start does not wait; the manager's readiness wait asks the
// runner, within the start timeout it is given, until every container runs
// and is healthy, and stops at once on an unhealthy one.
func TestFakeReady(t *testing.T) {
	health := "starting"
	f := &enginetest.Fake{
		ContainerListFunc: func(context.Context, dcontainer.ListOptions) ([]dcontainer.Summary, error) {
			return []dcontainer.Summary{
				{ID: "a1", State: "running", Labels: map[string]string{compose.LabelProject: "lab1", compose.LabelService: "a"}},
				{ID: "b1", State: "running", Labels: map[string]string{compose.LabelProject: "lab1", compose.LabelService: "b"}},
			}, nil
		},
		ContainerInspectFunc: func(_ context.Context, id string) (dcontainer.InspectResponse, error) {
			st := &dcontainer.State{Running: true}
			if id == "a1" {
				st.Health = &dcontainer.Health{Status: health}
			}
			return dcontainer.InspectResponse{ContainerJSONBase: &dcontainer.ContainerJSONBase{ID: id, State: st}}, nil
		},
		// Running: the wait for an exit lasts as long as its context.
		ContainerWaitFunc: func(ctx context.Context, _ string, _ dcontainer.WaitCondition) (<-chan dcontainer.WaitResponse, <-chan error) {
			errCh := make(chan error, 1)
			go func() { <-ctx.Done(); errCh <- ctx.Err() }()
			return nil, errCh
		},
	}
	r, svc := fakeRunner(f), fakeService()
	ctx := context.Background()
	h := runtime.Handle{Service: "db", ID: "a1,b1"}

	err := runtime.WaitRunnerReady(ctx, r, svc, h, 100*time.Millisecond)
	var nre *runtime.NotReadyError
	if !errors.As(err, &nre) || nre.Waiting != "compose services a" || !strings.Contains(err.Error(), "raise start_timeout") {
		t.Errorf("still starting: got %v, want a NotReadyError waiting for a", err)
	}
	health = "unhealthy"
	if err := runtime.WaitRunnerReady(ctx, r, svc, h, time.Minute); err == nil || !strings.Contains(err.Error(), "compose service a is unhealthy") {
		t.Errorf("unhealthy: got %v, want the unhealthy service named", err)
	}
	health = "healthy"
	if err := runtime.WaitRunnerReady(ctx, r, svc, h, time.Minute); err != nil {
		t.Errorf("healthy: %v", err)
	}
}

func TestExitOfCode(t *testing.T) {
	for code, want := range map[int64]runtime.Exit{0: {}, 3: {Code: 3}, 137: {Signal: syscall.SIGKILL}, 143: {Signal: syscall.SIGTERM}, 255: {Code: 255}} {
		if got := runtime.ExitOfCode(code); got != want {
			t.Errorf("ExitOfCode(%d) = %+v, want %+v", code, got, want)
		}
	}
}
