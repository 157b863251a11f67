package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"


	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/runtime/supervisor"
)

// engineEnv makes a supervised environment of its own name with the
// services given as YAML (IMAGE is the testsvc image). Its cleanup stops
// everything and waits for the supervisor to be gone.
func engineEnv(t *testing.T, services, image string) string {
	t.Helper()
	root := t.TempDir()
	manifest := "version: 1\nsupervisor: true\nservices:\n" + strings.ReplaceAll(services, "IMAGE", image)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_name="+uniqueEnvName("bev")+"\nenvironment_root="+root+"\n"), 0o644)
	t.Cleanup(func() {
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
	out, _ := berthEnv(t, root, "events", "web")
	if !strings.Contains(out, "web: exited (exit code 3)") || !strings.Contains(out, "web: restarted by docker: policy on-failure") {
		t.Errorf("events text:\n%s", out)
	}
}
