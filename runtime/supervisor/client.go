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
	"sync"
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

	mu   sync.Mutex
	sess *clientSession
	// preparing counts the sessions being opened in the background (prepare).
	preparing sync.WaitGroup
	// prefetched is the Live a status asked for at its start (live.go).
	prefetched *livePending
	// answered: a supervisor took a Live request of this client (its
	// answer read, in time or not), so one runs and Revive has nothing
	// to do.
	answered bool
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

// versionError is the VersionError of an answer from another build; two
// builds of one version that speak different protocols are told apart by
// the protocol.
func versionError(resp Response, ours string) *VersionError {
	e := &VersionError{PID: resp.PID, Theirs: resp.Version, Ours: ours}
	if e.Theirs == e.Ours && resp.Protocol != Protocol {
		e.Theirs += fmt.Sprintf(" (supervisor protocol %d)", resp.Protocol)
		e.Ours += fmt.Sprintf(" (supervisor protocol %d)", Protocol)
	}
	return e
}

// call sends a request on a connection of its own (hello, status,
// detach) and reads its answer; the caller closes the connection.
func (c *Client) call(req Request) (*conn, Response, error) {
	cn, err := c.dialOwn()
	if err != nil {
		return nil, Response{}, err
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
	if err := c.answerError(resp); err != nil {
		cn.Close()
		return nil, resp, err
	}
	return cn, resp, nil
}

// dialOwn connects to the supervisor's socket, refusing one served by
// another user.
func (c *Client) dialOwn() (*conn, error) {
	uc, err := dial(c.Paths.Socket)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	cn := newConn(uc)
	if uid, _, err := peerUID(uc); err != nil || uid != os.Geteuid() {
		cn.Close()
		return nil, fmt.Errorf("%s is served by uid %d, not this user: refusing it", c.Paths.Socket, uid)
	}
	return cn, nil
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
	warmCodec()
	pr.SetReadDeadline(time.Now().Add(SpawnTimeout))
	line, _ := bufio.NewReader(pr).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		return fmt.Errorf("the supervisor (PID %d) did not start: see %s", pid, c.Paths.Log)
	}
	return nil
}

// Start asks the supervisor to launch svc; the returned ticket takes the
// start's outcome (settle).
func (c *Client) Start(svc *runtime.Service) (runtime.Handle, *ticket, error) {
	var err error
	for range 3 { // a supervisor that was exiting as the start came: start another
		var t *ticket
		var resp Response
		if t, resp, err = c.request(Request{Op: opStart, Service: svc.Name, Spec: specOf(svc)}); err == nil {
			if resp.Handle != nil {
				return *resp.Handle, t, nil
			}
			t.end()
			return runtime.Handle{}, nil, fmt.Errorf("the supervisor answered a start of %s without a handle", svc.Name)
		}
		if !errors.Is(err, ErrNotRunning) {
			return runtime.Handle{}, nil, err
		}
	}
	return runtime.Handle{}, nil, err
}

// Wait waits through the supervisor for the launch h to end.
func (c *Client) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	t, _, err := c.request(Request{Op: opWait, Service: h.Service, PID: h.PID})
	if err != nil {
		return runtime.Exit{}, err
	}
	defer t.end()
	select {
	case resp, ok := <-t.answers:
		if !ok {
			return runtime.Exit{}, fmt.Errorf("wait for %s: the supervisor went away", h.Service)
		}
		return resp.Exit.exit(), nil
	case <-ctx.Done():
		t.send(Request{Op: opCancel})
		return runtime.Exit{}, ctx.Err()
	}
}

// Hold keeps the supervisor that runs from exiting until release is
// called or the command exits; with no supervisor running (or one of
// another build, or exiting) nothing is held and release does nothing.
func (c *Client) Hold() (release func()) {
	t, _, err := c.request(Request{Op: opHold})
	if err != nil {
		return func() {}
	}
	return func() {
		t.send(Request{Op: opCancel})
		t.end()
	}
}

// Stop tells the supervisor that a user stops name; the returned ticket
// (nil when no supervisor watches it) takes the stop's outcome.
func (c *Client) Stop(name string) (*ticket, error) {
	t, _, err := c.request(Request{Op: opStop, Service: name})
	if errors.Is(err, ErrNotRunning) || errors.Is(err, errNotWatched) {
		return nil, nil
	}
	return t, err
}

// StopRun asks the supervisor to stop svc, whose record the command read
// as h, and returns when it has (the exit recorded) or failed. handled is
// false when no supervisor watches svc: the caller stops it itself.
func (c *Client) StopRun(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) (handled bool, err error) {
	return c.StopRuns([]runtime.StopTarget{{Service: svc, Handle: h, Options: opts}})[0].await(ctx)
}

// pendingStop is a stop asked of the supervisor (StopRuns) whose answer
// await waits for; a nil ticket is a stop no supervisor took.
type pendingStop struct {
	c    *Client
	ss   *clientSession
	t    *ticket
	name string
	// err is why the session could not be opened (the stop fails with it).
	err error
}

// StopRuns asks the supervisor to stop each target, all the requests in
// one write: the supervisor begins each stop as it reads its request
// (beginStopRun), so the services' first signals go out one after another
// in one pass. Each answer is awaited apart.
func (c *Client) StopRuns(ts []runtime.StopTarget) []*pendingStop {
	out := make([]*pendingStop, len(ts))
	for i, t := range ts {
		out[i] = &pendingStop{c: c, name: t.Service.Name}
	}
	ss, serr := c.session(false)
	if serr != nil {
		if !errors.Is(serr, ErrNotRunning) {
			for _, p := range out {
				p.err = serr
			}
		}
		return out
	}
	var sent []*pendingStop
	var targets []runtime.StopTarget
	for i, t := range ts {
		tk, err := ss.open1()
		if err != nil {
			break
		}
		out[i].ss, out[i].t = ss, tk
		sent = append(sent, out[i])
		targets = append(targets, t)
	}
	var err error
	switch len(sent) {
	case 0:
	case 1:
		t, o := targets[0], targets[0].Options
		err = sent[0].t.send(Request{Op: opStop, Service: t.Service.Name, ID: sent[0].t.id, Stop: &StopSpec{Spec: specOf(t.Service),
			Handle: t.Handle, Grace: o.Grace, Signal: int(o.Signal), Kill: o.Kill}})
	default:
		// One request: the supervisor begins every stop before it
		// waits for any (Protocol 7), each a batchStop (Protocol 8).
		// Its ID is the first stop's.
		batch := make([]json.RawMessage, len(sent))
		for i, t := range targets {
			o := t.Options
			if batch[i], err = json.Marshal(batchStop{ID: sent[i].t.id, Service: t.Service.Name, PID: t.Handle.PID,
				StartTime: t.Handle.StartTime, Token: t.Handle.Token, Grace: o.Grace, Signal: int(o.Signal), Kill: o.Kill}); err != nil {
				break
			}
		}
		if err == nil {
			err = sent[0].t.send(Request{Op: opStops, Batch: batch})
		}
	}
	if err != nil {
		ss.fail()
		for _, p := range sent {
			p.t.end()
			p.t = nil
		}
	}
	return out
}

// await waits for the answer to the stop. handled is false when no
// supervisor took it: the caller stops the service itself.
func (p *pendingStop) await(ctx context.Context) (handled bool, err error) {
	if p.t == nil {
		return false, p.err
	}
	c, t, ss := p.c, p.t, p.ss
	defer t.end()
	select {
	case resp, ok := <-t.answers:
		if !ok {
			if ve := ss.refusal(); ve != nil {
				return true, ve
			}
			return true, fmt.Errorf("stop %s: the supervisor went away during the stop", p.name)
		}
		if resp.Code == codeMoved {
			return true, runtime.ErrRecordMoved
		}
		if resp.Code == codeTimeout && resp.Timeout != nil {
			return true, &runtime.StopTimeoutError{Service: p.name, Grace: resp.Timeout.Grace,
				Signal: syscall.Signal(resp.Timeout.Signal), Survivors: resp.Timeout.Survivors}
		}
		err := c.answerError(resp)
		if errors.Is(err, errNotWatched) || errors.Is(err, ErrNotRunning) {
			return false, nil
		}
		var ve *VersionError
		if errors.As(err, &ve) {
			ss.fail()
			return true, err
		}
		return true, err
	case <-ctx.Done():
		t.send(Request{Op: opCancel})
		return true, ctx.Err()
	}
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
// A supervisor that runs is seen from its answer to a status's prefetch
// (live.go), else from its PID file and /proc, without a round trip on
// its socket, so that a stop stays as fast as without one.
func (c *Client) Revive() error {
	if c.prefetchAnswered() {
		return nil
	}
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

func settle(t *ticket, ok bool) {
	if t == nil {
		return
	}
	defer t.end()
	t.send(Request{Op: opSettle, OK: ok})
}

// settleStop tells the supervisor how a user's stop ended and, when it
// succeeded, waits for the supervisor to say it has recorded the exit.
func settleStop(t *ticket, ok bool) {
	defer t.end()
	if t.send(Request{Op: opSettle, OK: ok}) != nil || !ok {
		return
	}
	timer := time.NewTimer(StopRecordTimeout + time.Second)
	defer timer.Stop()
	select {
	case <-t.answers:
	case <-timer.C:
	}
}
