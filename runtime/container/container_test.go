package container_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
	"github.com/berthdev/berth/runtime/runnertest"
)

var (
	cli     *engine.Client
	cliErr  error
	testImg string
)

func TestMain(m *testing.M) {
	cli, cliErr = imagetest.Connect()
	os.Exit(imagetest.WithTestsvc(cli, cliErr, "berth-testsvc", &testImg, m.Run))
}

func newRunner(t *testing.T) *container.Runner {
	c := imagetest.Require(t, cli, cliErr)
	return container.New(container.Options{Client: func(context.Context, string) (*engine.Client, error) { return c, nil }})
}

var envSeq atomic.Int64

// service is a container service in an environment of its own, whose
// container is removed when the test ends.
func service(t *testing.T, image string, args ...string) *runtime.Service {
	svc := &runtime.Service{
		Name: "svc", Runner: metadata.RunnerContainer, Argv: args,
		Environment: fmt.Sprintf("berthtest%d-%d", os.Getpid(), envSeq.Add(1)),
		Dir:         t.TempDir(), StopSignal: syscall.SIGTERM, StopGrace: 5 * time.Second,
		Container: &metadata.ContainerSpec{Image: image},
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), container.Name(svc), dcontainer.RemoveOptions{Force: true})
	})
	return svc
}

func TestConformance(t *testing.T) {
	runnertest.Run(t, runnertest.Harness{
		New: func(t *testing.T) runtime.Runner { return newRunner(t) },
		Service: func(t *testing.T, b runnertest.Behaviour) *runtime.Service {
			return service(t, testImg, b.Args()...)
		},
	})
}

func TestStatusDetailAndReplace(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	svc := service(t, testImg, "--print", "one", "--exit", "0")
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Wait(ctx, h); err != nil {
		t.Fatal(err)
	}
	st, err := r.Inspect(ctx, svc)
	if err != nil || st.IsRunning() || st.Handle == nil || !strings.Contains(st.Reason, "exited with code 0") {
		t.Fatalf("after exit: %+v, %v; want stopped with a record", st, err)
	}
	// A stopped container of the same service is replaced.
	svc.Argv = nil
	h2, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatalf("start over a stopped container: %v", err)
	}
	if h2.ID == h.ID {
		t.Fatalf("container not replaced")
	}
	st, err = r.Inspect(ctx, svc)
	if err != nil || !st.IsRunning() || st.Describe() != "container "+h2.ID[:12] || st.Detail != (container.Detail{ID: h2.ID}) {
		t.Fatalf("inspect: %+v, %v", st, err)
	}
	info, err := cli.ContainerInspect(ctx, container.Name(svc))
	if err != nil || info.Config.Labels[container.LabelEnvironment] != svc.Environment || info.Config.Labels[container.LabelService] != "svc" {
		t.Fatalf("labels: %v, %v", info.Config.Labels, err)
	}
	// A running one is refused.
	_, err = r.Start(ctx, svc)
	var are *runtime.AlreadyRunningError
	if !errors.As(err, &are) {
		t.Fatalf("second start: %v; want AlreadyRunningError", err)
	}
	if err := r.Stop(ctx, svc, h2, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
}

func TestForeignContainerLeftAlone(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	svc := service(t, testImg)
	// Someone else's container under the name berth would use.
	resp, err := cli.ContainerCreate(ctx, &dcontainer.Config{Image: testImg}, nil, nil, nil, container.Name(svc))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.ContainerStart(ctx, resp.ID, dcontainer.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Start(ctx, svc)
	var fe *container.ForeignContainerError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "did not create") {
		t.Fatalf("start: %v; want ForeignContainerError", err)
	}
	st, err := r.Inspect(ctx, svc)
	if err != nil || st.IsRunning() || st.Handle != nil || !strings.Contains(st.Reason, "did not create") {
		t.Fatalf("inspect: %+v, %v; want stopped, no handle, a reason", st, err)
	}
	err = r.Stop(ctx, svc, runtime.Handle{ID: resp.ID}, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true})
	if !errors.As(err, &fe) {
		t.Fatalf("stop of a foreign container: %v; want ForeignContainerError", err)
	}
	if err := r.Forget(ctx, svc, runtime.Handle{ID: resp.ID}); err != nil {
		t.Fatal(err)
	}
	info, err := cli.ContainerInspect(ctx, resp.ID)
	if err != nil || !info.State.Running {
		t.Fatalf("the foreign container was touched: %+v, %v", info.State, err)
	}
}

func TestMissingImage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		image func(string) (string, string, error)
		want  string
	}{
		{"plain reference", nil, "container.pull is never: load it (berth images load, docker load) or pull it (docker pull berth-absent-image:v1)"},
		{"manifest image", func(string) (string, string, error) {
			return "berth-absent-image:v1", "build it with berth build sse-runtime", nil
		}, "berth build sse-runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := imagetest.Require(t, cli, cliErr)
			r := container.New(container.Options{Client: func(context.Context, string) (*engine.Client, error) { return c, nil }, Image: tc.image})
			svc := service(t, "berth-absent-image:v1")
			svc.Container.Pull = metadata.PullNever // a manifest image is never pulled anyway
			_, err := r.Start(context.Background(), svc)
			var me *container.MissingImageError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "berth-absent-image:v1") {
				t.Fatalf("start: %v; want a MissingImageError saying %q", err, tc.want)
			}
		})
	}
}

func TestForegroundOutputAndSignal(t *testing.T) {
	r := newRunner(t)
	svc := service(t, testImg, "--print", "hello")
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	// Interrupt once the service has spoken, so the signal cannot overtake
	// its first line.
	exit, err := r.Run(context.Background(), svc, runtime.Stdio{Stdout: out, Stderr: out, Signals: sigs}, func(runtime.Handle) {
		go func() {
			// Interrupt anyway when it stays silent: the exit code then fails the test.
			testkit.Poll(10*time.Second, func() error {
				if b, _ := os.ReadFile(out.Name()); !strings.Contains(string(b), "hello") {
					return fmt.Errorf("output %q lacks hello", b)
				}
				return nil
			})
			sigs <- syscall.SIGINT
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	if exit.ExitCode() != 128+int(syscall.SIGINT) {
		t.Errorf("exit %+v; want killed by INT", exit)
	}
	b, _ := os.ReadFile(out.Name())
	if !strings.Contains(string(b), "hello") {
		t.Errorf("output %q lacks hello", b)
	}
}

func TestLogsDemultiplexed(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	svc := service(t, testImg, "--print", "line1", "--print", "line2", "--exit", "0")
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	r.Wait(ctx, h)
	rc, err := r.Logs(ctx, svc, runtime.LogOptions{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "line1\nline2\n" {
		t.Fatalf("logs %q; want the two lines without stream headers", b)
	}
}

// A foreground container reads berth's stdin, as a debugger's prompt would.
func TestForegroundStdin(t *testing.T) {
	r := newRunner(t)
	svc := service(t, testImg, "--echo-stdin")
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	w.WriteString("hello\n")
	w.Close()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	exit, err := r.Run(context.Background(), svc, runtime.Stdio{Stdin: in, Stdout: out, Stderr: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	if exit.ExitCode() != 0 || !strings.Contains(string(b), "got hello") {
		t.Fatalf("exit %+v, output %q; want 0 and got hello", exit, b)
	}
}

func TestResourcesApplied(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	svc := service(t, testImg)
	svc.Container.Resources = &metadata.Resources{
		Limits:       &metadata.ResourceAmounts{CPUs: 0.5, Memory: 64 << 20},
		Reservations: &metadata.ResourceAmounts{Memory: 32 << 20},
	}
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second})
	info, err := cli.ContainerInspect(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rs := info.HostConfig.Resources; rs.NanoCPUs != 5e8 || rs.Memory != 64<<20 || rs.MemoryReservation != 32<<20 {
		t.Errorf("resources = cpus %d, memory %d, reservation %d; want 5e8, 64MiB, 32MiB", rs.NanoCPUs, rs.Memory, rs.MemoryReservation)
	}
}
