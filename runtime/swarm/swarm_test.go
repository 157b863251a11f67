package swarm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/runnertest"
	"github.com/berthdev/berth/runtime/swarm"
)

var (
	cli     *engine.Client
	cliErr  error
	testImg string
)

// TestMain shares one swarm and one test image among the tests: the
// daemon becomes a single-node swarm if it is not one, and leaves it at
// the end only if this made it.
func TestMain(m *testing.M) {
	cli, cliErr = imagetest.Connect()
	if cliErr == nil {
		leave, err := imagetest.Swarm(context.Background(), cli)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		code := imagetest.WithTestsvc(cli, cliErr, "berth-swarmsvc", &testImg, m.Run)
		leave()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func newRunner(t *testing.T, image swarm.ImageFunc) *swarm.Runner {
	testkit.RequireDocker(t, cliErr)
	return swarm.New(swarm.Options{Client: func(context.Context) (swarm.API, error) { return cli, nil }, Image: image, Poll: 50 * time.Millisecond})
}

var envSeq atomic.Int64

// service is a swarm service of testsvc with args in an environment of its
// own, removed with what berth made for it when the test ends.
func service(t *testing.T, sw metadata.SwarmSpec, args ...string) *runtime.Service {
	if sw.Image == "" {
		sw.Image = testImg
	}
	if sw.Restart == nil {
		sw.Restart = &metadata.SwarmRestart{Condition: metadata.RestartNone}
	}
	svc := &runtime.Service{
		Name: "svc", Runner: metadata.RunnerSwarm, Argv: args,
		Environment: fmt.Sprintf("berthswarm%d-%d", os.Getpid(), envSeq.Add(1)),
		Dir:         t.TempDir(), StopSignal: syscall.SIGTERM, StopGrace: 2 * time.Second,
		Swarm: &sw,
	}
	t.Cleanup(func() {
		ctx := context.Background()
		swarm.RemoveService(ctx, cli, swarm.Name(svc))
		f := filters.NewArgs(filters.Arg("label", swarm.LabelEnvironment+"="+svc.Environment))
		testkit.Poll(20*time.Second, func() error {
			ss, _ := cli.SecretList(ctx, dswarm.SecretListOptions{Filters: f})
			for _, s := range ss {
				cli.SecretRemove(ctx, s.ID)
			}
			cs, _ := cli.ConfigList(ctx, dswarm.ConfigListOptions{Filters: f})
			for _, c := range cs {
				cli.ConfigRemove(ctx, c.ID)
			}
			if err := cli.NetworkRemove(ctx, swarm.NetworkName(svc.Environment)); err != nil && !strings.Contains(err.Error(), "not found") {
				return err
			}
			return nil
		})
	})
	return svc
}

func TestConformance(t *testing.T) {
	testkit.RequireDocker(t, cliErr)
	runnertest.Run(t, runnertest.Harness{
		New: func(t *testing.T) runtime.Runner { return newRunner(t, nil) },
		Service: func(t *testing.T, b runnertest.Behaviour) *runtime.Service {
			return service(t, metadata.SwarmSpec{}, b.Args()...)
		},
		// Swarm schedules every task through its dispatcher: seconds each.
		Deadline: 60 * time.Second,
	})
}

// waitReady polls the runner's readiness under a deadline.
func waitReady(t *testing.T, r *swarm.Runner, svc *runtime.Service) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, func() error {
		ok, detail, err := r.Ready(context.Background(), svc, runtime.Handle{})
		if err != nil {
			t.Fatalf("ready: %v", err)
		}
		if !ok {
			return fmt.Errorf("%s not ready: %s", svc.Name, detail)
		}
		return nil
	})
}

func tasks(t *testing.T, svc *runtime.Service) []dswarm.Task {
	ts, err := cli.TaskList(context.Background(), dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", swarm.Name(svc)))})
	if err != nil {
		t.Errorf("task list: %v", err)
	}
	return ts
}

func runningTasks(ts []dswarm.Task) (n int, ids []string) {
	for _, tk := range ts {
		if tk.DesiredState == dswarm.TaskStateRunning && tk.Status.State == dswarm.TaskStateRunning {
			n++
			ids = append(ids, tk.ID)
		}
	}
	return n, ids
}

// TestRollingRestartKeepsATaskRunning: a rolling restart of a 2-replica
// start-first service never has zero running tasks (the task list is
// polled throughout), and a loop of requests sent throughout is served:
// through the routing mesh where it answers on this machine, and through
// the tasks' host-mode ports (one address per task: a client or balancer
// in front of them goes to the next when one refuses). The image has a
// HEALTHCHECK: without one, Swarm counts a task as running once its
// container starts, before it listens, and start-first may then stop the
// old task while the new one cannot answer yet.
func TestRollingRestartKeepsATaskRunning(t *testing.T) {
	t.Parallel()
	r := newRunner(t, nil)
	ctx := context.Background()
	two := uint64(2)
	svc := service(t, metadata.SwarmSpec{Image: healthImage(t), Replicas: &two, Restart: &metadata.SwarmRestart{Condition: metadata.RestartAny},
		Update: &metadata.SwarmUpdate{Order: metadata.OrderStartFirst},
		Ports:  []metadata.SwarmPort{{Target: 8080}, {Target: 8080, Mode: metadata.PortModeHost}}},
		"--http", "0.0.0.0:8080")
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 2 * time.Second})
	waitReady(t, r, svc)
	st, err := r.Inspect(ctx, svc)
	if err != nil || !st.IsRunning() || !strings.HasSuffix(st.Describe(), ", 2/2 tasks") || len(st.Detail.(swarm.Detail).Tasks) != 2 {
		t.Fatalf("inspect: %+v, %v; want running with 2/2 tasks", st, err)
	}
	_, before := runningTasks(tasks(t, svc))
	mesh, meshDown := meshAddr(t, svc)
	testkit.Eventually(t, 30*time.Second, func() error {
		if n := len(hostPorts(svc)); n != 2 {
			return fmt.Errorf("%d host-mode IPv4 ports published; want 2: %v", n, hostPorts(svc))
		}
		return nil
	})
	st, _ = r.Inspect(ctx, svc)
	var shown []string
	for _, tk := range st.Detail.(swarm.Detail).Tasks {
		for _, p := range tk.Ports {
			shown = append(shown, "127.0.0.1:"+strings.TrimSuffix(p, ":8080/tcp"))
		}
	}
	// Status shows each task's host-mode ports, one per address family
	// where the families got different ports: the IPv4 ones among them.
	if want := hostPorts(svc); len(shown) < 2 || len(shown) > 4 || !slices.Contains(shown, want[0]) || !slices.Contains(shown, want[1]) {
		t.Fatalf("the tasks' ports in status: %v; want %v among them", shown, want)
	}
	viaHost := newRequestLoop()
	viaHost.run(func() []string { return hostPorts(svc) })
	viaMesh := newRequestLoop()
	if meshDown == "" {
		viaMesh.run(func() []string { return []string{mesh} })
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	minRunning, polls := 2, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			n, _ := runningTasks(tasks(t, svc))
			minRunning, polls = min(minRunning, n), polls+1
			time.Sleep(testkit.Interval)
		}
	}()
	if _, err := r.Restart(ctx, svc); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 90*time.Second, func() error {
		ok, detail, err := r.Ready(ctx, svc, runtime.Handle{})
		if err != nil {
			t.Fatalf("ready: %v", err)
		}
		_, now := runningTasks(tasks(t, svc))
		for _, id := range now {
			for _, old := range before {
				if id == old {
					return fmt.Errorf("task %s of before the restart still runs (%s)", id, detail)
				}
			}
		}
		if !ok || len(now) != 2 {
			return fmt.Errorf("not rolled yet: %s", detail)
		}
		return nil
	})
	close(done)
	wg.Wait()
	viaHost.finish()
	if minRunning < 1 {
		t.Errorf("a rolling start-first restart left no task running at some point (%d polls)", polls)
	}
	t.Logf("fewest running tasks during the rolling restart: %d (%d polls)", minRunning, polls)
	t.Run("through host-mode ports", func(t *testing.T) { viaHost.check(t, "the tasks' host-mode ports") })
	t.Run("through the routing mesh", func(t *testing.T) {
		if meshDown != "" {
			t.Skip(meshDown)
		}
		viaMesh.finish()
		viaMesh.check(t, "the routing mesh at "+mesh)
	})
}

func TestChangedSecretAndConfigRollTheService(t *testing.T) {
	t.Parallel()
	r := newRunner(t, nil)
	ctx := context.Background()
	dir := t.TempDir()
	secret, config := filepath.Join(dir, "token"), filepath.Join(dir, "app.yaml")
	os.WriteFile(secret, []byte("one"), 0o600)
	os.WriteFile(config, []byte("a: 1\n"), 0o600)
	svc := service(t, metadata.SwarmSpec{Restart: &metadata.SwarmRestart{Condition: metadata.RestartAny},
		Secrets: []metadata.SwarmFile{{File: secret}}, Configs: []metadata.SwarmFile{{File: config, Target: "/etc/app.yaml"}}})
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 2 * time.Second})
	waitReady(t, r, svc)
	names := func() (string, string) {
		s, _, err := cli.ServiceInspectWithRaw(ctx, h.ID, dswarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cs := s.Spec.TaskTemplate.ContainerSpec
		if len(cs.Secrets) != 1 || len(cs.Configs) != 1 || cs.Secrets[0].File.Name != "token" || cs.Configs[0].File.Name != "/etc/app.yaml" {
			t.Fatalf("secrets %+v configs %+v", cs.Secrets, cs.Configs)
		}
		return cs.Secrets[0].SecretName, cs.Configs[0].ConfigName
	}
	s1, c1 := names()
	_, before := runningTasks(tasks(t, svc))
	os.WriteFile(secret, []byte("two"), 0o600)
	os.WriteFile(config, []byte("a: 2\n"), 0o600)
	if _, err := r.Restart(ctx, svc); err != nil {
		t.Fatal(err)
	}
	s2, c2 := names()
	if s1 == s2 || c1 == c2 {
		t.Fatalf("changed files kept their objects: secret %s -> %s, config %s -> %s", s1, s2, c1, c2)
	}
	testkit.Eventually(t, 60*time.Second, func() error {
		ts := tasks(t, svc)
		n, now := runningTasks(ts)
		if n != 1 || (len(before) == 1 && now[0] == before[0]) {
			return fmt.Errorf("the service has not rolled to a new task yet")
		}
		for _, tk := range ts {
			if tk.ID == now[0] && tk.Spec.ContainerSpec.Secrets[0].SecretName != s2 {
				return fmt.Errorf("the running task uses secret %s, want %s", tk.Spec.ContainerSpec.Secrets[0].SecretName, s2)
			}
		}
		return nil
	})
	// The old objects are berth's own and go once no task uses them.
	testkit.Eventually(t, 30*time.Second, func() error {
		if _, err := r.Restart(ctx, svc); err != nil {
			return err
		}
		waitReady(t, r, svc)
		ss, _ := cli.SecretList(ctx, dswarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", s1))})
		for _, s := range ss {
			if s.Spec.Name == s1 {
				return fmt.Errorf("old secret %s still there", s1)
			}
		}
		return nil
	})
}

func TestForeignServiceRefused(t *testing.T) {
	t.Parallel()
	r := newRunner(t, nil)
	ctx := context.Background()
	svc := service(t, metadata.SwarmSpec{})
	zero := uint64(0)
	resp, err := cli.ServiceCreate(ctx, dswarm.ServiceSpec{Annotations: dswarm.Annotations{Name: swarm.Name(svc)},
		TaskTemplate: dswarm.TaskSpec{ContainerSpec: &dswarm.ContainerSpec{Image: testImg}},
		Mode:         dswarm.ServiceMode{Replicated: &dswarm.ReplicatedService{Replicas: &zero}}}, dswarm.ServiceCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer swarm.RemoveService(ctx, cli, resp.ID)
	_, err = r.Start(ctx, svc)
	var fe *swarm.ForeignServiceError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "berth did not create") {
		t.Fatalf("start over a foreign service: %v; want ForeignServiceError", err)
	}
	st, err := r.Inspect(ctx, svc)
	if err != nil || st.IsRunning() || st.Handle != nil || !strings.Contains(st.Reason, "berth did not create") {
		t.Fatalf("inspect: %+v, %v", st, err)
	}
	if err := r.Stop(ctx, svc, runtime.Handle{ID: resp.ID}, runtime.StopOptions{Grace: time.Second}); !errors.As(err, &fe) {
		t.Fatalf("stop of a foreign service: %v", err)
	}
	if _, _, err := cli.ServiceInspectWithRaw(ctx, resp.ID, dswarm.ServiceInspectOptions{}); err != nil {
		t.Fatalf("the foreign service was touched: %v", err)
	}
}

func TestUnsatisfiableConstraintFailsClearly(t *testing.T) {
	t.Parallel()
	r := newRunner(t, nil)
	ctx := context.Background()
	svc := service(t, metadata.SwarmSpec{Constraints: []string{"node.labels.berth-test-none == yes"}})
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second})
	start := time.Now()
	var npe *swarm.NotPlaceableError
	testkit.Eventually(t, 20*time.Second, func() error {
		ok, detail, err := r.Ready(ctx, svc, runtime.Handle{})
		if errors.As(err, &npe) {
			return nil
		}
		return fmt.Errorf("ready = %v, %q, %v; want a NotPlaceableError", ok, detail, err)
	})
	if !strings.Contains(npe.Error(), "constraints") {
		t.Errorf("error does not say why: %v", npe)
	}
	t.Logf("refused after %s: %v", time.Since(start).Round(time.Millisecond), npe)
}

func TestPushAndDeployByDigest(t *testing.T) {
	t.Parallel()
	testkit.RequireDocker(t, cliErr)
	addr, stop, err := imagetest.Registry()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	registry := addr + "/berth"
	tag := fmt.Sprintf("berth-pushed-%d:v1", os.Getpid())
	if err := cli.ImageTag(ctx, testImg, tag); err != nil {
		t.Fatal(err)
	}
	defer imagetest.Remove(cli, tag)
	digestRef, err := images.Push(ctx, cli, tag, registry, nil, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := images.RegistryRef(registry, tag)
	defer imagetest.Remove(cli, target)
	if !strings.HasPrefix(digestRef, registry+"/berth-pushed-") || !strings.Contains(digestRef, "@sha256:") {
		t.Fatalf("digest reference %q", digestRef)
	}
	r := newRunner(t, func(string) (string, string, string, error) {
		return tag, registry, "build it with berth build pushed", nil
	})
	svc := service(t, metadata.SwarmSpec{Image: "pushed", Restart: &metadata.SwarmRestart{Condition: metadata.RestartAny}})
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second})
	waitReady(t, r, svc)
	st, _ := r.Inspect(ctx, svc)
	if d, _ := st.Detail.(swarm.Detail); len(d.Tasks) != 1 || d.Tasks[0].Image != digestRef {
		t.Fatalf("tasks %+v; want one running %s", st.Detail, digestRef)
	}
}
