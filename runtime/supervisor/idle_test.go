package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
)

// serves says whether a supervisor answers at c's socket.
func serves(c *Client) error {
	_, err := (&Client{Paths: c.Paths, Version: c.Version}).Hello()
	return err
}

// A supervisor spawned for a start that launched nothing (it failed, or
// all it named ran already) exits once that command's session ends, not
// after its idle exit (10 s); while another session is open it stays.
func TestSupervisorExitsWhenTheLastSessionEndsWithNothingWatched(t *testing.T) {
	_, c, accepted := serveForTest(t, 1)
	other := &Client{Paths: c.Paths, Version: "test"}
	for _, cl := range []*Client{c, other} {
		if _, err := cl.session(false); err != nil {
			t.Fatal(err)
		}
	}
	// A session the supervisor has not accepted yet (in the listen
	// backlog) is not counted: a start that finds its supervisor gone
	// spawns another (Client.Start).
	testkit.Eventually(t, 2*time.Second, func() error {
		if accepted.Load() < 2 {
			return errors.New("the sessions were not accepted")
		}
		return nil
	})
	c.Close()
	time.Sleep(50 * time.Millisecond) // the first session's end is served
	if err := serves(c); err != nil {
		t.Fatalf("the supervisor left while a session was open: %v", err)
	}
	other.Close()
	testkit.Eventually(t, 2*time.Second, func() error {
		if serves(c) == nil {
			return errors.New("the supervisor still serves after the last session ended with nothing watched")
		}
		return nil
	})
}

// Whether an environment's containers run is the engine watch's to say:
// with Docker-run services in the manifest, a session's end leaves the
// supervisor to its idle exit.
func TestSessionEndKeepsTheIdleExitWithDockerServices(t *testing.T) {
	env, c, _ := serveForTest(t, 1)
	y, err := os.ReadFile(filepath.Join(env.Root, "berth.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y = append(y, "  box:\n    runner: container\n    container: {image: x}\n"...)
	if err := os.WriteFile(filepath.Join(env.Root, "berth.yaml"), y, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.session(false); err != nil {
		t.Fatal(err)
	}
	c.Close()
	time.Sleep(200 * time.Millisecond)
	if err := serves(c); err != nil {
		t.Fatalf("the supervisor of an environment with containers left at a session's end: %v", err)
	}
}

// A start prepares its session in the background (PrepareStart); when
// the start ends before its first launch, the command's Close waits for
// that session and ends it, so that the supervisor is not left waiting
// for a session that opens after the command has closed its client.
func TestCloseEndsTheSessionBeingPrepared(t *testing.T) {
	_, c, _ := serveForTest(t, 1)
	for range 20 {
		cl := &Client{Paths: c.Paths, Version: "test"}
		cl.prepare()
		cl.Close()
		cl.mu.Lock()
		open := cl.sess != nil && !cl.sess.ended()
		cl.mu.Unlock()
		if open {
			t.Fatal("a session opened after Close")
		}
	}
	testkit.Eventually(t, 2*time.Second, func() error {
		if serves(c) == nil {
			return errors.New("the supervisor still serves after the prepared sessions were closed")
		}
		return nil
	})
}

// A status (which asks for the watched records and the live launches on
// connections of their own) is no session: asked of a supervisor just
// spawned, before the start that spawned it has opened its session, its
// end does not make the supervisor exit.
func TestQueriesEndNoSession(t *testing.T) {
	_, c, _ := serveForTest(t, 1)
	if _, err := c.Watched(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Live(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := serves(c); err != nil {
		t.Fatalf("a status ended the supervisor: %v", err)
	}
}
