package compose_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/runnertest"
)

var (
	cli     *engine.Client
	cliErr  error
	testImg string
)

func TestMain(m *testing.M) {
	// The cases wait on docker-compose and the daemon, not on the CPU: run
	// more of them at once than there are cores, unless -parallel says.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	cli, cliErr = imagetest.Connect()
	os.Exit(imagetest.WithTestsvc(cli, cliErr, "berth-compose-testsvc", &testImg, m.Run))
}

// composeCommands are the compose programs on this machine.
func composeCommands(t *testing.T) map[string][]string {
	out := map[string][]string{}
	if exec.Command("docker-compose", "version").Run() == nil {
		out["v1"] = []string{"docker-compose"}
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		out["v2"] = []string{"docker", "compose"}
	}
	if len(out) == 0 {
		t.Skip("skipping: neither docker-compose nor the docker compose plugin is installed")
	}
	return out
}

func newRunner(t *testing.T, command []string) *compose.Runner {
	c := imagetest.Require(t, cli, cliErr)
	return compose.New(compose.Options{Client: func(context.Context) (*engine.Client, error) { return c, nil }, Command: command})
}

var envSeq atomic.Int64

func argsYAML(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// service is a berth service standing for compose services a and b, in a
// project of its own that is brought down when the test ends.
func service(t *testing.T, command []string, a, b []string) *runtime.Service {
	dir := t.TempDir()
	file := fmt.Sprintf(`services:
  a:
    image: %s
    init: true
    command: %s
  b:
    image: %s
    init: true
    command: %s
`, testImg, argsYAML(a), testImg, argsYAML(b))
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	env := fmt.Sprintf("berthct%d-%d", os.Getpid(), envSeq.Add(1))
	svc := &runtime.Service{
		Name: "db", Runner: metadata.RunnerCompose, Environment: env, Dir: dir,
		StopSignal: syscall.SIGTERM, StopGrace: 5 * time.Second,
		Compose: &metadata.ComposeSpec{File: "compose.yaml", Services: []string{"a", "b"}},
	}
	// Removed through the Engine API, as the runner's Stop does: much
	// faster than compose v1's down.
	t.Cleanup(func() {
		if cliErr == nil {
			compose.New(compose.Options{Client: func(context.Context) (*engine.Client, error) { return cli, nil }, Command: command}).
				Stop(context.Background(), svc, runtime.Handle{}, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: 10 * time.Second, Kill: true})
		}
	})
	return svc
}

func TestConformance(t *testing.T) {
	for v, command := range composeCommands(t) {
		t.Run(v, func(t *testing.T) {
			runnertest.Run(t, runnertest.Harness{
				New: func(t *testing.T) runtime.Runner { return newRunner(t, command) },
				Service: func(t *testing.T, b runnertest.Behaviour) *runtime.Service {
					return service(t, command, b.Args(), b.Args())
				},
			})
		})
	}
}

func TestUpStatusDown(t *testing.T) {
	for v, command := range composeCommands(t) {
		t.Run(v, func(t *testing.T) {
			r := newRunner(t, command)
			ctx := context.Background()
			svc := service(t, command, []string{"--print", "from-a"}, []string{"--print", "from-b"})
			if st, err := r.Inspect(ctx, svc); err != nil || st.IsRunning() || st.Handle != nil {
				t.Fatalf("before start: %+v, %v", st, err)
			}
			h, err := r.Start(ctx, svc)
			if err != nil {
				t.Fatal(err)
			}
			st, err := r.Inspect(ctx, svc)
			if err != nil || !st.IsRunning() || !slices.Equal(st.Detail.(compose.Detail).Containers, []string{"a", "b"}) || !containerNamesRe.MatchString(st.Describe()) {
				t.Fatalf("after start: %+v, %v; want running (a, b)", st, err)
			}
			rc, err := r.Logs(ctx, svc, runtime.LogOptions{Tail: -1})
			if err != nil {
				t.Fatal(err)
			}
			buf := new(strings.Builder)
			fmt.Fprint(buf, rc)
			rc.Close()
			if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
				t.Fatal(err)
			}
			if st, err := r.Inspect(ctx, svc); err != nil || st.IsRunning() || st.Handle != nil {
				t.Fatalf("after stop: %+v, %v; want no containers", st, err)
			}
		})
	}
}

func TestReadinessWaitsForHealth(t *testing.T) {
	for v, command := range composeCommands(t) {
		t.Run(v, func(t *testing.T) {
			r := newRunner(t, command)
			ctx := context.Background()
			svc := service(t, command, nil, nil)
			file := fmt.Sprintf(`services:
  a:
    image: %s
    init: true
    healthcheck:
      test: ["CMD", "/testsvc", "--exit", "0"]
      interval: 500ms
      timeout: 2s
      retries: 5
  b:
    image: %s
    init: true
`, testImg, testImg)
			if err := os.WriteFile(filepath.Join(svc.Dir, "compose.yaml"), []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			h, err := r.Start(ctx, svc)
			if err != nil {
				t.Fatal(err)
			}
			// Start returns once launched; the manager's readiness wait asks
			// the runner until a is healthy.
			if err := runtime.WaitRunnerReady(ctx, r, svc, h, metadata.DefaultStartTimeout); err != nil {
				t.Fatal(err)
			}
			list, err := cli.ContainerList(ctx, dcontainer.ListOptions{Filters: filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+compose.Project(svc.Environment)), filters.Arg("label", compose.LabelService+"=a"))})
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %v, %v", list, err)
			}
			info, err := cli.ContainerInspect(ctx, list[0].ID)
			if err != nil || info.State.Health == nil || info.State.Health.Status != "healthy" {
				t.Fatalf("the readiness wait ended before a was healthy: %+v, %v", info.State, err)
			}
			// health and status -o wide report Docker's own check, where the
			// manifest has none.
			res, err := r.RunnerHealth(ctx, svc)
			if err != nil || res == nil || !res.Healthy || res.Kind != "docker" || !strings.Contains(res.Detail, "a healthy") {
				t.Fatalf("RunnerHealth = %+v, %v; want healthy naming a", res, err)
			}
		})
	}
}

func TestProjectName(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"dev", "dev"}, {"my.env-1_x", "myenv-1_x"}, {"Cloud", "cloud"},
	} {
		if got := compose.Project(tc.env); got != tc.want {
			t.Errorf("Project(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestUnknownComposeService(t *testing.T) {
	for _, command := range composeCommands(t) {
		r := newRunner(t, command)
		svc := service(t, command, nil, nil)
		svc.Compose.Services = []string{"a", "nosuch"}
		_, err := r.Start(context.Background(), svc)
		if err == nil || !strings.Contains(err.Error(), `declares no service "nosuch"`) {
			t.Fatalf("start: %v; want an error naming nosuch", err)
		}
		return
	}
}

// containerNamesRe is the status detail of the two-service project: the
// containers' names as compose v1 (proj_a_1) or v2 (proj-a-1) gives them.
var containerNamesRe = regexp.MustCompile(`^\S+[_-]a[_-]1, \S+[_-]b[_-]1$`)

// A start that fails after compose made the project's network (an image
// that is not there) leaves the network behind; stop removes it, and only
// networks labelled with the project.
func TestStopRemovesNetworkOfFailedStart(t *testing.T) {
	for v, command := range composeCommands(t) {
		t.Run(v, func(t *testing.T) {
			r := newRunner(t, command)
			ctx := context.Background()
			svc := service(t, command, nil, nil)
			file := "services:\n  a:\n    image: berth-no-such-image:none\n  b:\n    image: berth-no-such-image:none\n"
			if err := os.WriteFile(filepath.Join(svc.Dir, "compose.yaml"), []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			project := compose.Project(svc.Environment)
			other, err := cli.NetworkCreate(ctx, project+"x_other", network.CreateOptions{Labels: map[string]string{compose.LabelProject: project + "x"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cli.NetworkRemove(context.Background(), other.ID) })
			if _, err := r.Start(ctx, svc); err == nil {
				t.Fatal("start with a missing image succeeded")
			}
			byProject := filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+project))
			if nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: byProject}); err != nil || len(nets) == 0 {
				t.Skipf("compose %s left no network after the failed start (%v): nothing to show", v, err)
			}
			if err := r.Stop(ctx, svc, runtime.Handle{}, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
				t.Fatal(err)
			}
			if nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: byProject}); err != nil || len(nets) != 0 {
				t.Fatalf("after stop the project's networks are %v (%v); want none", nets, err)
			}
			if _, err := cli.NetworkInspect(ctx, other.ID, network.InspectOptions{}); err != nil {
				t.Fatalf("stop removed another project's network: %v", err)
			}
		})
	}
}
