package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// Client talks to an environment's supervisor.
type Client struct {
	Paths   Paths
	Version string
	// Spawn is the argv that runs a supervisor for this environment
	// (berth --env ROOT internal supervise).
	Spawn []string
}

// ErrNotRunning means no supervisor serves the environment.
var ErrNotRunning = errors.New("no supervisor runs")

var errNotWatched = errors.New("not watched by the supervisor")

// VersionError means the supervisor is of another berth build.
type VersionError struct {
	PID          int
	Theirs, Ours string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("the supervisor of this environment (PID %d) is berth %s, this is berth %s: run `berth supervisor replace` to hand its services to a supervisor of this berth (they keep running)", e.PID, e.Theirs, e.Ours)
}

// call sends req and reads the first answer; the connection is returned
// open for the requests that go on (start, stop, wait).
func (c *Client) call(req Request) (*conn, Response, error) {
	uc, err := dial(c.Paths.Socket)
	if err != nil {
		return nil, Response{}, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	cn := newConn(uc)
	if uid, _, err := peerUID(uc); err != nil || uid != os.Geteuid() {
		cn.Close()
		return nil, Response{}, fmt.Errorf("%s is served by uid %d, not this user: refusing it", c.Paths.Socket, uid)
	}
	req.Protocol, req.Version = Protocol, c.Version
	var resp Response
	if err := cn.send(req); err == nil {
		err = cn.recv(&resp)
	}
	if err != nil {
		cn.Close()
		return nil, Response{}, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	switch {
	case resp.Code == codeVersion || resp.Protocol != Protocol || resp.Version != c.Version:
		cn.Close()
		return nil, resp, &VersionError{PID: resp.PID, Theirs: resp.Version, Ours: c.Version}
	case resp.Code == codeClosing:
		cn.Close()
		return nil, resp, fmt.Errorf("%w (it is exiting)", ErrNotRunning)
	case resp.Code == codeUnknown:
		cn.Close()
		return nil, resp, errNotWatched
	case resp.Error != "":
		cn.Close()
		return nil, resp, errors.New(resp.Error)
	}
	return cn, resp, nil
}

// Hello returns the running supervisor's PID, or an error (ErrNotRunning,
// *VersionError).
func (c *Client) Hello() (int, error) {
	cn, resp, err := c.call(Request{Op: opHello})
	if err != nil {
		return resp.PID, err
	}
	cn.Close()
	return resp.PID, nil
}

// Watched lists the records of the services the supervisor watches.
func (c *Client) Watched() ([]Record, error) {
	cn, resp, err := c.call(Request{Op: opStatus})
	if err != nil {
		return nil, err
	}
	cn.Close()
	return resp.Watched, nil
}

// Ensure makes sure a supervisor of this berth serves the environment,
// spawning one if none runs.
func (c *Client) Ensure() error {
	if _, err := c.Hello(); !errors.Is(err, ErrNotRunning) {
		return err
	}
	lock, err := metadata.Lock(c.Paths.Spawn)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if _, err := c.Hello(); !errors.Is(err, ErrNotRunning) {
		return err
	}
	return c.spawn()
}

// SpawnTimeout bounds the wait for a spawned supervisor to serve.
const SpawnTimeout = 15 * time.Second

func (c *Client) spawn() error {
	if len(c.Spawn) == 0 {
		return errors.New("no way to start a supervisor")
	}
	if err := os.MkdirAll(c.Paths.Dir, 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(c.Paths.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	cmd := exec.Command(c.Spawn[0], c.Spawn[1:]...)
	cmd.Dir = c.Paths.Root
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Env = append(os.Environ(), "BERTH_SUPERVISOR_READY_FD=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return fmt.Errorf("start the supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	pr.SetReadDeadline(time.Now().Add(SpawnTimeout))
	line, _ := bufio.NewReader(pr).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		return fmt.Errorf("the supervisor (PID %d) did not start: see %s", pid, c.Paths.Log)
	}
	return nil
}

// Start asks the supervisor to launch svc; the returned connection takes
// the start's outcome (settle).
func (c *Client) Start(svc *runtime.Service) (runtime.Handle, *conn, error) {
	var err error
	for range 3 { // a supervisor that was exiting as the start came: start another
		if err = c.Ensure(); err != nil {
			return runtime.Handle{}, nil, err
		}
		cn, resp, cerr := c.call(Request{Op: opStart, Service: svc.Name, Spec: specOf(svc)})
		if cerr == nil && resp.Handle != nil {
			return *resp.Handle, cn, nil
		}
		if err = cerr; !errors.Is(err, ErrNotRunning) {
			return runtime.Handle{}, nil, err
		}
	}
	return runtime.Handle{}, nil, err
}

// Wait waits through the supervisor for the launch h to end.
func (c *Client) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	cn, _, err := c.call(Request{Op: opWait, Service: h.Service, PID: h.PID})
	if err != nil {
		return runtime.Exit{}, err
	}
	defer cn.Close()
	stop := context.AfterFunc(ctx, func() { cn.c.SetReadDeadline(time.Now()) })
	defer stop()
	var resp Response
	if err := cn.recv(&resp); err != nil {
		if ctx.Err() != nil {
			return runtime.Exit{}, ctx.Err()
		}
		return runtime.Exit{}, fmt.Errorf("wait for %s: %w", h.Service, err)
	}
	return resp.Exit.exit(), nil
}

// Stop tells the supervisor that a user stops name; the returned
// connection (nil when no supervisor watches it) takes the stop's outcome.
func (c *Client) Stop(name string) (*conn, error) {
	cn, _, err := c.call(Request{Op: opStop, Service: name})
	if errors.Is(err, ErrNotRunning) || errors.Is(err, errNotWatched) {
		return nil, nil
	}
	return cn, err
}

// Detach asks the supervisor to exit and leave its services running.
func (c *Client) Detach() error {
	cn, _, err := c.call(Request{Op: opDetach})
	var ve *VersionError
	if errors.As(err, &ve) && ve.PID > 0 {
		// Another build: TERM makes any supervisor detach.
		return detachByPID(c.Paths, ve.PID)
	}
	if err != nil {
		return err
	}
	cn.Close()
	return nil
}

// Revive starts a supervisor when one was killed while it watched
// services (its PID file is left behind): the new one adopts them. It
// costs a stat when none was running.
// A supervisor that runs is seen from its PID file and /proc, without a
// round trip on its socket, so that status stays as fast as without one.
func (c *Client) Revive() error {
	data, err := os.ReadFile(c.Paths.PID)
	if err != nil {
		return nil
	}
	var rec struct {
		PID int `json:"pid"`
	}
	if json.Unmarshal(data, &rec) == nil && rec.PID > 1 && isSupervisorOf(rec.PID, c.Paths.Root) {
		return nil
	}
	return c.Ensure()
}

// isSupervisorOf says whether pid runs berth's supervisor of root.
// A process caught mid-exec or mid-exit is read again (process.Cmdline).
func isSupervisorOf(pid int, root string) bool {
	args, _ := process.Cmdline(pid)
	return runsSupervisorOf(args, root)
}

func runsSupervisorOf(args []string, root string) bool {
	return slices.Contains(args, "supervise") && slices.Contains(args, root)
}

func settle(cn *conn, ok bool) {
	if cn == nil {
		return
	}
	cn.send(Request{Protocol: Protocol, Op: opSettle, OK: ok})
	cn.Close()
}

// settleStop tells the supervisor how a user's stop ended and, when it
// succeeded, waits for the supervisor to say it has recorded the exit.
func settleStop(cn *conn, ok bool) {
	defer cn.Close()
	if cn.send(Request{Protocol: Protocol, Op: opSettle, OK: ok}) != nil || !ok {
		return
	}
	cn.c.SetReadDeadline(time.Now().Add(StopRecordTimeout + time.Second))
	var resp Response
	cn.recv(&resp)
}
