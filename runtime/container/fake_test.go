package container_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/engine/enginetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
)

// These tests run the container runner on a fake engine: the error paths
// that need no daemon, in milliseconds.

func fakeService(host string) *runtime.Service {
	return &runtime.Service{
		Name: "web", Runner: metadata.RunnerContainer, Environment: "lab",
		StopSignal: syscall.SIGTERM, StopGrace: time.Second,
		Host: host, Container: &metadata.ContainerSpec{Image: "web:1"},
	}
}

func fakeRunner(f *enginetest.Fake) *container.Runner {
	c := f.Client()
	return container.New(container.Options{Client: func(context.Context, string) (*engine.Client, error) { return c, nil }})
}

func TestFakeDaemonDown(t *testing.T) {
	down := &engine.UnreachableError{Endpoint: "tcp://lab:2376", Err: syscall.ECONNREFUSED}
	r := container.New(container.Options{Client: func(context.Context, string) (*engine.Client, error) { return nil, down }})
	for _, host := range []string{"", "lab"} {
		svc := fakeService(host)
		_, err := r.Start(context.Background(), svc)
		var ue *engine.UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("host %q: Start: got %v, want the UnreachableError", host, err)
		}
		if host != "" && !strings.HasPrefix(err.Error(), "host lab: ") {
			t.Errorf("Start: %q does not name host lab", err)
		}
		if _, err := r.Inspect(context.Background(), svc); !errors.As(err, &ue) {
			t.Errorf("host %q: Inspect: got %v, want the UnreachableError", host, err)
		}
	}
}

func TestFakeForeignContainerRefused(t *testing.T) {
	var removed, created int
	f := &enginetest.Fake{
		ContainerInspectFunc: func(_ context.Context, id string) (dcontainer.InspectResponse, error) {
			if id != "lab-web" && id != "f00d" {
				t.Errorf("inspected %q, want the name lab-web or the handle's id", id)
			}
			return dcontainer.InspectResponse{
				ContainerJSONBase: &dcontainer.ContainerJSONBase{ID: "f00d", Name: "/lab-web", State: &dcontainer.State{Running: false}},
				Config:            &dcontainer.Config{Labels: map[string]string{container.LabelEnvironment: "other", container.LabelService: "web"}},
			}, nil
		},
		ContainerRemoveFunc: func(context.Context, string, dcontainer.RemoveOptions) error { removed++; return nil },
		ContainerCreateFunc: func(context.Context, *dcontainer.Config, *dcontainer.HostConfig, string) (dcontainer.CreateResponse, error) {
			created++
			return dcontainer.CreateResponse{}, nil
		},
	}
	r, svc := fakeRunner(f), fakeService("")
	_, err := r.Start(context.Background(), svc)
	var fe *container.ForeignContainerError
	if !errors.As(err, &fe) || fe.Container != "lab-web" {
		t.Fatalf("Start: got %v, want a ForeignContainerError for lab-web", err)
	}
	st, err := r.Inspect(context.Background(), svc)
	if err != nil || st.State != runtime.Stopped || !strings.Contains(st.Reason, "did not create") {
		t.Errorf("Inspect: %+v, %v; want stopped with the foreign container as reason", st, err)
	}
	err = r.Stop(context.Background(), svc, runtime.Handle{Service: "web", ID: "f00d"}, runtime.StopOptions{Grace: time.Second})
	if !errors.As(err, &fe) {
		t.Errorf("Stop: got %v, want a ForeignContainerError", err)
	}
	if err := r.Forget(context.Background(), svc, runtime.Handle{Service: "web", ID: "f00d"}); err != nil {
		t.Errorf("Forget: %v", err)
	}
	if removed != 0 || created != 0 {
		t.Errorf("the foreign container was touched: %d removes, %d creates", removed, created)
	}
}

func TestFakeNotFound(t *testing.T) {
	f := &enginetest.Fake{
		ContainerInspectFunc: func(context.Context, string) (dcontainer.InspectResponse, error) {
			return dcontainer.InspectResponse{}, enginetest.NotFound("container")
		},
		ImageInspectFunc: func(context.Context, string) (image.InspectResponse, error) {
			return image.InspectResponse{}, enginetest.NotFound("image")
		},
		ContainerWaitFunc: func(context.Context, string, dcontainer.WaitCondition) (<-chan dcontainer.WaitResponse, <-chan error) {
			errCh := make(chan error, 1)
			errCh <- enginetest.NotFound("container")
			return nil, errCh
		},
	}
	r, svc := fakeRunner(f), fakeService("")
	svc.Container.Pull = metadata.PullNever // missing, the default, would pull it
	ctx := context.Background()

	st, err := r.Inspect(ctx, svc)
	if err != nil || st.State != runtime.Stopped || st.Handle != nil || st.Reason != "" {
		t.Errorf("Inspect of no container: %+v, %v; want stopped, no handle, no reason", st, err)
	}
	_, err = r.Start(ctx, svc)
	var me *container.MissingImageError
	if !errors.As(err, &me) || me.Image != "web:1" || me.Endpoint != "fake://engine" || !strings.Contains(err.Error(), "container.pull is never: load it (berth images load, docker load) or pull it (docker pull web:1)") {
		t.Errorf("Start without the image: got %v, want a MissingImageError naming web:1, the endpoint and the fix", err)
	}
	if _, err := r.Wait(ctx, runtime.Handle{ID: "gone"}); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Wait on a removed container: got %v, want ErrNotRunning", err)
	}
	if err := r.Stop(ctx, svc, runtime.Handle{ID: "gone"}, runtime.StopOptions{Grace: time.Second}); err != nil {
		t.Errorf("Stop of a removed container: %v", err)
	}
	if _, err := r.Logs(ctx, svc, runtime.LogOptions{Tail: -1}); err == nil || !strings.Contains(err.Error(), "start it first") {
		t.Errorf("Logs without a container: got %v, want advice to start it", err)
	}
}

// TestFakeStopKeepsRestartPolicy: a container that outlives its grace
// period without --force gets its restart policy back and a
// StopTimeoutError; nothing is removed.
func TestFakeStopKeepsRestartPolicy(t *testing.T) {
	var policies []dcontainer.RestartPolicyMode
	var signals []string
	f := &enginetest.Fake{
		ContainerInspectFunc: func(context.Context, string) (dcontainer.InspectResponse, error) {
			return dcontainer.InspectResponse{
				ContainerJSONBase: &dcontainer.ContainerJSONBase{ID: "c1", Name: "/lab-web", State: &dcontainer.State{Running: true},
					HostConfig: &dcontainer.HostConfig{RestartPolicy: dcontainer.RestartPolicy{Name: dcontainer.RestartPolicyAlways}}},
				Config: &dcontainer.Config{Labels: map[string]string{container.LabelEnvironment: "lab", container.LabelService: "web"}},
			}, nil
		},
		ContainerUpdateFunc: func(_ context.Context, _ string, u dcontainer.UpdateConfig) (dcontainer.UpdateResponse, error) {
			policies = append(policies, u.RestartPolicy.Name)
			return dcontainer.UpdateResponse{}, nil
		},
		ContainerKillFunc: func(_ context.Context, _, sig string) error { signals = append(signals, sig); return nil },
		// The container never stops: the wait ends only with its context.
		ContainerWaitFunc: func(ctx context.Context, _ string, _ dcontainer.WaitCondition) (<-chan dcontainer.WaitResponse, <-chan error) {
			errCh := make(chan error, 1)
			go func() { <-ctx.Done(); errCh <- ctx.Err() }()
			return nil, errCh
		},
	}
	r, svc := fakeRunner(f), fakeService("")
	err := r.Stop(context.Background(), svc, runtime.Handle{ID: "c1"}, runtime.StopOptions{Signal: syscall.SIGINT, Grace: 50 * time.Millisecond})
	var te *runtime.StopTimeoutError
	if !errors.As(err, &te) || te.Signal != syscall.SIGINT {
		t.Fatalf("Stop: got %v, want a StopTimeoutError after INT", err)
	}
	if want := []dcontainer.RestartPolicyMode{dcontainer.RestartPolicyDisabled, dcontainer.RestartPolicyAlways}; !equal(policies, want) {
		t.Errorf("restart policy updates %v, want %v (off for the signal, then back)", policies, want)
	}
	if want := []string{"2"}; !equal(signals, want) {
		t.Errorf("signals %v, want %v", signals, want)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
