package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// serveForTest runs a supervisor of a new environment with n services
// (sleep) in this process and returns the environment and a client.
func serveForTest(t *testing.T, n int) (*metadata.Env, *Client, *atomic.Int64) {
	return serveCommandForTest(t, n, `[sleep, "1000"]`)
}

// serveCommandForTest is serveForTest with services running command (a
// YAML list).
func serveCommandForTest(t *testing.T, n int, command string) (*metadata.Env, *Client, *atomic.Int64) {
	t.Helper()
	return serveCommandForTestAt(t, t.TempDir(), n, command)
}

// startSettled starts the service name through r and settles the start
// as a success, as a command's start does.
func startSettled(t *testing.T, env *metadata.Env, r *Runner, name string) (*runtime.Service, runtime.Handle) {
	t.Helper()
	svc, h := startOf(t, env, r, name)
	r.Settle(svc, h, true)
	return svc, h
}

// startOf resolves the service name of env and starts it through r (the
// supervisor's runner or the process runner itself).
func startOf(t *testing.T, env *metadata.Env, r interface {
	Start(context.Context, *runtime.Service) (runtime.Handle, error)
}, name string) (*runtime.Service, runtime.Handle) {
	t.Helper()
	svc, err := runtime.Resolve(env, name)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.Start(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	return svc, h
}

// serveForTestAt is serveForTest in the directory root.
func serveForTestAt(t *testing.T, root string, n int) (*metadata.Env, *Client, *atomic.Int64) {
	t.Helper()
	return serveCommandForTestAt(t, root, n, `[sleep, "1000"]`)
}

func serveCommandForTestAt(t *testing.T, root string, n int, command string) (*metadata.Env, *Client, *atomic.Int64) {
	t.Helper()
	var y strings.Builder
	y.WriteString("version: 1\nsupervisor: true\nservices:\n")
	for i := range n {
		fmt.Fprintf(&y, "  s%d:\n    command: %s\n", i, command)
	}
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(y.String()), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	onAccept = func() { accepted.Add(1) }
	t.Cleanup(func() { onAccept = nil })
	proc := process.New(process.Options{})
	pr, pw, _ := os.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- Serve(Config{Root: root, Version: "test", Process: proc, Ready: pw,
			Registry: func(*metadata.Env) *runtime.Registry {
				reg := runtime.NewRegistry()
				reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return proc, nil })
				return reg
			}})
	}()
	buf := make([]byte, 6)
	if _, err := pr.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("supervisor not ready: %q %v", buf, err)
	}
	pr.Close()
	c := &Client{Paths: PathsOf(root), Version: "test"}
	t.Cleanup(func() {
		c.Close()
		c.Detach()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	accepted.Store(0)
	return env, c, &accepted
}

// A command's starts, waits and stops travel on one connection: the
// client once says hello (is a supervisor there, of this build?), then
// opens its session. Protocol 1 took a connection and a hello per request:
// 3 services started, waited for and stopped made 15 connections.
func TestOneSessionPerCommand(t *testing.T) {
	const n = 3
	env, c, accepted := serveForTest(t, n)
	r := NewRunner(process.New(process.Options{}), c)
	var svcs []*runtime.Service
	var hs []runtime.Handle
	for i := range n {
		svc, err := runtime.Resolve(env, fmt.Sprintf("s%d", i))
		if err != nil {
			t.Fatal(err)
		}
		h, err := r.Start(context.Background(), svc)
		if err != nil {
			t.Fatal(err)
		}
		svcs, hs = append(svcs, svc), append(hs, h)
	}
	// The start checks of a start: waits that end with the window.
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if _, err := r.Wait(ctx, h); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("wait for a running %s: %v", h.Service, err)
			}
		}()
	}
	wg.Wait()
	for i, h := range hs {
		r.Settle(svcs[i], h, true)
	}
	for i, h := range hs {
		if err := r.Stop(context.Background(), svcs[i], h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		rec, err := ReadRecord(c.Paths, svcs[i].Name)
		if err != nil || rec.Stopped != "by user" || rec.Wanted || rec.Supervised {
			t.Fatalf("record of %s after its stop: %+v %v", svcs[i].Name, rec, err)
		}
	}
	if got := accepted.Load(); got != 2 {
		t.Fatalf("the supervisor accepted %d connections for one command, want 2 (hello, session)", got)
	}
}

// A command that ends (its session closes) before it settles its starts
// leaves them running and supervised, as a start that succeeded.
func TestSessionEndSettlesStarts(t *testing.T) {
	env, c, _ := serveForTest(t, 1)
	r := NewRunner(process.New(process.Options{}), c)
	svc, _ := runtime.Resolve(env, "s0")
	h, err := r.Start(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	testkit.Eventually(t, 10*time.Second, func() error {
		watched, err := c.Watched()
		if err != nil {
			return err
		}
		if len(watched) != 1 || !watched[0].Supervised || watched[0].PID != h.PID {
			return fmt.Errorf("watched: %+v", watched)
		}
		return nil
	})
	// settled as a success: the liveness and restart policy apply. A kill
	// of the service is recorded as an exit (not as a failed start).
	syscall.Kill(h.PID, syscall.SIGKILL)
	testkit.Eventually(t, 10*time.Second, func() error {
		rec, _ := ReadRecord(c.Paths, "s0")
		if rec.LastExit == nil || rec.LastExit.Signal != "KILL" {
			return fmt.Errorf("record: %+v", rec)
		}
		if !rec.Wanted {
			return fmt.Errorf("a settled start that crashed is wanted (down): %+v", rec)
		}
		return nil
	})
}

// A client of protocol 1 is told the supervisor is of another version.
func TestOldProtocolRefused(t *testing.T) {
	_, c, _ := serveForTest(t, 1)
	uc, err := dial(c.Paths.Socket)
	if err != nil {
		t.Fatal(err)
	}
	cn := newConn(uc)
	defer cn.Close()
	cn.send(map[string]any{"protocol": 1, "version": "test", "op": "start", "service": "s0"})
	var resp Response
	if err := cn.recv(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.Code != codeVersion || resp.Protocol != Protocol {
		b, _ := json.Marshal(resp)
		t.Fatalf("answer to a protocol 1 start: %s", b)
	}
}

// Only a start brings a supervisor up: a stop or a wait where none runs
// asks nothing of anyone (the first sessions of protocol 2 spawned one for
// a stop of a service that was down).
func TestOnlyStartSpawns(t *testing.T) {
	root := t.TempDir()
	marker := filepath.Join(root, "spawned")
	c := &Client{Paths: PathsOf(root), Version: "test", Spawn: []string{"/bin/sh", "-c", "touch " + marker}}
	defer c.Close()
	if tk, err := c.Stop("api"); tk != nil || err != nil {
		t.Fatalf("stop where no supervisor runs: %v %v", tk, err)
	}
	StoppedWhileDown(c, "api")
	if _, err := c.Wait(context.Background(), runtime.Handle{Service: "api", PID: 1234}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("wait where no supervisor runs: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a stop or a wait spawned a supervisor")
	}
	if _, _, err := c.Start(&runtime.Service{Name: "api"}); err == nil {
		t.Fatal("a start with a spawn that serves nothing succeeded")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("a start did not spawn a supervisor: %v", err)
	}
}

// A supervised stop is made by the supervisor, the services' parent: a
// service that outlives its grace period comes back to the command as the
// same StopTimeoutError a stop of its own makes (with the survivor named),
// the service keeps running and supervised, and --force then ends it with
// the stop recorded as a user's. A command that gives up (its context)
// leaves the stop to end without it.
func TestSupervisorMakesTheStop(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 1, `[sh, -c, "trap '' TERM; while :; do sleep 0.05; done"]`)
	r := NewRunner(process.New(process.Options{}), c)
	svc, h := startSettled(t, env, r, "s0")
	// The shell must have set its trap before the TERM comes.
	time.Sleep(200 * time.Millisecond)

	err := r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 150 * time.Millisecond})
	var te *runtime.StopTimeoutError
	if !errors.As(err, &te) || te.Service != "s0" || te.Grace != 150*time.Millisecond || te.Signal != syscall.SIGTERM || len(te.Survivors) == 0 {
		t.Fatalf("stop of a TERM-ignoring service: %v (%#v); want a StopTimeoutError naming s0, 150ms, TERM and its survivors", err, te)
	}
	if !strings.Contains(te.Survivors[0], fmt.Sprint(h.PID)) {
		t.Errorf("survivors %v do not name the service's PID %d", te.Survivors, h.PID)
	}
	if err := syscall.Kill(h.PID, 0); err != nil {
		t.Fatalf("the service is gone after a failed stop: %v", err)
	}
	if rec, _ := ReadRecord(c.Paths, "s0"); !rec.Supervised || rec.Stopped != "" {
		t.Fatalf("record after a failed stop: %+v; want still supervised", rec)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err = r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop given up by the command: %v; want its context's error", err)
	}

	if err := r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 100 * time.Millisecond, Kill: true}); err != nil {
		t.Fatalf("stop with KILL: %v", err)
	}
	if err := syscall.Kill(h.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("PID %d after the forced stop: %v; want gone (reaped by the supervisor)", h.PID, err)
	}
	rec, err := ReadRecord(c.Paths, "s0")
	if err != nil || rec.Stopped != "by user" || rec.Supervised || rec.Wanted {
		t.Fatalf("record after the forced stop: %+v %v", rec, err)
	}
	if _, err := os.Stat(filepath.Join(env.Path("pids"), "s0.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("PID file after the stop: %v", err)
	}
}

// A start that reaches a supervisor as it exits (answered "closing" on a
// connection that stays open a while) is retried on a new session, with
// the supervisor that serves next; here two in a row are exiting, and the
// third serves. The session that failed must count as ended at once: its
// reader notices the connection's end only later, and a retry that
// reused it failed at once, spending one of the three attempts.
func TestStartRetriesOnANewSessionAfterClosing(t *testing.T) {
	root := t.TempDir()
	c := &Client{Paths: PathsOf(root), Version: "test"}
	os.MkdirAll(c.Paths.Dir, 0o755)
	ln, err := listen(c.Paths.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var sessions atomic.Int64
	go func() {
		for {
			uc, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			go func() {
				cn := newConn(uc)
				defer cn.Close()
				var req Request
				if cn.recv(&req) != nil {
					return
				}
				if req.Op == opHello {
					cn.send(Response{Protocol: Protocol, Version: "test", PID: 1})
					return
				}
				n := sessions.Add(1)
				for {
					resp := Response{Protocol: Protocol, Version: "test", ID: req.ID}
					if req.Op == opStart {
						if n <= 2 {
							resp.Code, resp.Error = codeClosing, "the supervisor is exiting"
						} else {
							resp.Handle = &runtime.Handle{Service: req.Service, PID: 4242}
						}
						cn.send(resp)
					}
					req = Request{}
					if cn.recv(&req) != nil {
						return
					}
				}
			}()
		}
	}()
	defer c.Close()
	h, tk, err := c.Start(&runtime.Service{Name: "api", Argv: []string{"true"}})
	if err != nil {
		t.Fatalf("start after a closing answer: %v; want it retried on a new session", err)
	}
	tk.end()
	if h.PID != 4242 || sessions.Load() != 3 {
		t.Fatalf("handle %+v after %d sessions; want PID 4242 from the third session", h, sessions.Load())
	}
}
