package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
	"github.com/berthdev/berth/runtime/supervisor"
)

// engineEnv makes a supervised environment of its own name with the
// services given as YAML (IMAGE is the testsvc image). Its cleanup stops
// everything and waits for the supervisor to be gone.
func engineEnv(t *testing.T, services, image string) string {
	t.Helper()
	root := t.TempDir()
	services = strings.ReplaceAll(strings.ReplaceAll(services, "IMAGE", image), "TESTSVC", testsvcBin)
	manifest := "version: 1\nsupervisor: true\nservices:\n" + services
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_name="+uniqueEnvName("bev")+"\nenvironment_root="+root+"\n"), 0o644)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(supervisor.PathsOf(root).Log)
			evs, _ := os.ReadFile(supervisor.PathsOf(root).Events)
			t.Logf("supervisor log:\n%s\nevents:\n%s", log, evs)
		}
		berthEnv(t, root, "stop", "all", "--force", "--timeout", "1s")
		if pid := supervisorPID(root); pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		waitSupervisorGone(t, root)
	})
	return root
}

// waitEvent waits until the events of service include one of kind whose
// text has every one of texts, and returns the events.
func waitEvent(t *testing.T, root, service, kind string, texts ...string) []supervisor.Event {
	t.Helper()
	var evs []supervisor.Event
	testkit.Eventually(t, 20*time.Second, func() error {
		evs = events(t, root, service)
		for _, e := range evs {
			if e.Service == service && e.Kind == kind && containsAll(e.Text(), texts) {
				return nil
			}
		}
		return fmt.Errorf("no %s event with %q in:\n%s", kind, texts, eventTexts(evs))
	})
	return evs
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func eventTexts(evs []supervisor.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Text() + "\n")
	}
	return b.String()
}

func count(evs []supervisor.Event, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// A container whose process exits 3 under restart on-failure: its exits
// (code 3) and Docker's restart are recorded with the container's ID, and
// the supervisor exits once the container stopped for good.
func TestEngineEventsRestartByDocker(t *testing.T) {
	_, tag := testImage(t)
	root := engineEnv(t, `  web:
    runner: container
    command: [--die-after, 1s, --die-code, "3"]
    container: {image: IMAGE, restart: "on-failure:1"}
`, tag)
	if out, code := berthEnv(t, root, "start", "web"); code != 0 {
		t.Fatalf("start: %d\n%s", code, out)
	}
	if supervisorPID(root) == 0 {
		t.Fatal("no supervisor after the start of a container service")
	}
	evs := waitEvent(t, root, "web", supervisor.EventRestarted, "restarted by docker: policy on-failure")
	var id string
	for _, e := range evs {
		if e.Kind == supervisor.EventExited {
			if e.Exit == nil || e.Exit.Code != 3 || e.Runner != "container" || len(e.Container) != 64 || e.Unsupervised {
				t.Errorf("exit event: %+v", e)
			}
			if !strings.Contains(e.Text(), "exited (exit code 3): docker restarts it (policy on-failure)") {
				t.Errorf("first exit: %s", e.Text())
			}
			id = e.Container
			break
		}
	}
	// The second exit is the last: Docker gives up, and so does the
	// supervisor, which has nothing left to watch.
	testkit.Eventually(t, 20*time.Second, func() error {
		if evs = events(t, root, "web"); count(evs, supervisor.EventExited) < 2 {
			return fmt.Errorf("want two exits:\n%s", eventTexts(evs))
		}
		return nil
	})
	waitSupervisorGone(t, root)
	if count(evs, supervisor.EventStarted) != 1 || count(evs, supervisor.EventRestarted) != 1 || evs[len(evs)-1].Container != id {
		t.Errorf("events:\n%s", eventTexts(evs))
	}
	// The JSON names the runner and the container, as the schema says.
	js, _ := berthEnv(t, root, "events", "-o", "json")
	newOutputSchema(t).check("events", "events", js)
	out, _ := berthEnv(t, root, "events", "web")
	if !strings.Contains(out, "web: exited (exit code 3)") || !strings.Contains(out, "web: restarted by docker: policy on-failure") {
		t.Errorf("events text:\n%s", out)
	}
}

// healthImage is the testsvc image with a Docker health check that always
// fails (every 100 ms, one failure is unhealthy).
func healthImage(t *testing.T) string {
	c, tag := testImage(t)
	img := strings.Replace(tag, "testsvc", "unhealthy", 1)
	df := fmt.Sprintf("FROM %s\nHEALTHCHECK --interval=100ms --timeout=5s --retries=1 CMD [\"/testsvc\", \"--exit\", \"1\"]\n", tag)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))})
	tw.Write([]byte(df))
	tw.Close()
	resp, err := c.ImageBuild(context.Background(), &buf, build.ImageBuildOptions{Tags: []string{img}, Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imagetest.Remove(c, img) })
	return img
}

// A container turning unhealthy is recorded so; a user's stop of it is
// "stopped: by user", not an exit.
func TestEngineEventsUnhealthyAndUserStop(t *testing.T) {
	img := healthImage(t)
	root := engineEnv(t, `  web:
    runner: container
    command: [--print, up]
    container: {image: IMAGE}
`, img)
	if out, code := berthEnv(t, root, "start", "web"); code != 0 {
		t.Fatalf("start: %d\n%s", code, out)
	}
	waitEvent(t, root, "web", supervisor.EventUnhealthy, "web: unhealthy: docker's health check [container ")
	if out, code := berthEnv(t, root, "stop", "web"); code != 0 {
		t.Fatalf("stop: %d\n%s", code, out)
	}
	// The supervisor exits once the container is gone: it has handled
	// every event of the stop by then.
	waitSupervisorGone(t, root)
	js, _ := berthEnv(t, root, "events", "-o", "json")
	newOutputSchema(t).check("events", "events", js)
	evs := events(t, root, "web")
	last := evs[len(evs)-1]
	if last.Kind != supervisor.EventStopped || last.Reason != "by user" || last.Runner != "container" || last.Container == "" {
		t.Errorf("last event %+v, want stopped by user:\n%s", last, eventTexts(evs))
	}
	if n := count(evs, supervisor.EventExited) + count(evs, supervisor.EventKilled); n != 0 {
		t.Errorf("a user's stop recorded as an exit or a kill:\n%s", eventTexts(evs))
	}
}

// kill -9 of the supervisor, then a container crash (its process killed
// from the host): the next command's supervisor records the crash once, as
// seen while unsupervised, however often it is replaced. A container
// without the environment's labels is never recorded. (A host service
// keeps each new supervisor running until it is killed in turn.)
func TestEngineEventsWhileUnsupervised(t *testing.T) {
	c, tag := testImage(t)
	root := engineEnv(t, `  web:
    runner: container
    command: [--print, up]
    container: {image: IMAGE}
  keep:
    command: [TESTSVC]
`, tag)
	ctx := context.Background()
	foreign, err := c.ContainerCreate(ctx, &container.Config{Image: tag, Cmd: []string{"--die-after", "100ms", "--die-code", "9"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.ContainerRemove(ctx, foreign.ID, container.RemoveOptions{Force: true}) })
	if out, code := berthEnv(t, root, "start", "web", "keep"); code != 0 {
		t.Fatalf("start: %d\n%s", code, out)
	}
	web := containerOf(t, root, "web")
	c.ContainerStart(ctx, foreign.ID, container.StartOptions{})
	killSupervisor(t, root)
	info, err := c.ContainerInspect(ctx, web)
	if err != nil || info.State.Pid <= 1 {
		t.Fatalf("inspect web: %v %+v", err, info.State)
	}
	syscall.Kill(info.State.Pid, syscall.SIGKILL)
	waitExited(t, c, foreign.ID)
	if info = waitExited(t, c, web); info.State.ExitCode != 137 {
		t.Fatalf("web exited %d, want 137", info.State.ExitCode)
	}
	for range 2 { // the next command adopts; then the adopter is killed too
		killed := supervisorPID(root)
		berthEnv(t, root, "status")
		testkit.Eventually(t, 10*time.Second, func() error {
			if pid := supervisorPID(root); pid == killed || pid == 0 || syscall.Kill(pid, 0) != nil {
				return fmt.Errorf("no new supervisor (was %d, now %d)", killed, pid)
			}
			return nil
		})
		evs := waitEvent(t, root, "web", supervisor.EventExited, "exited (signal KILL)", "(while unsupervised)")
		if n := count(evs, supervisor.EventExited); n != 1 {
			t.Fatalf("the crash is recorded %d times:\n%s", n, eventTexts(evs))
		}
		killSupervisor(t, root)
	}
	for _, e := range events(t, root) {
		if e.Container == foreign.ID || (e.Exit != nil && e.Exit.Code == 9) {
			t.Errorf("a foreign container's event was recorded: %s", e.Text())
		}
	}
}

func killSupervisor(t *testing.T, root string) {
	t.Helper()
	pid := supervisorPID(root)
	t.Logf("%s: kill -9 of the supervisor %d", time.Now().Format("15:04:05.000"), pid)
	syscall.Kill(pid, syscall.SIGKILL)
	testkit.Eventually(t, 5*time.Second, func() error {
		if testkit.Running(pid) {
			return fmt.Errorf("supervisor %d still runs", pid)
		}
		return nil
	})
}

// containerOf is the ID of service's container from status -o json.
func containerOf(t *testing.T, root, service string) string {
	t.Helper()
	out, _ := berthEnv(t, root, "status", "-o", "json", service)
	i := strings.Index(out, `"container_id": "`)
	if i < 0 {
		t.Fatalf("no container in status:\n%s", out)
	}
	return out[i+len(`"container_id": "`) : i+len(`"container_id": "`)+64]
}

func waitExited(t *testing.T, c *engine.Client, id string) container.InspectResponse {
	t.Helper()
	var info container.InspectResponse
	testkit.Eventually(t, 20*time.Second, func() error {
		var err error
		if info, err = c.ContainerInspect(context.Background(), id); err != nil {
			return err
		}
		if info.State.Running {
			return fmt.Errorf("container %s still runs", id)
		}
		return nil
	})
	return info
}
