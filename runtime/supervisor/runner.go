package supervisor

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// Runner is the host-process runner of a supervised environment: launches
// go through the supervisor, which becomes the services' parent; a stop
// tells it first that a user stops the service, then stops it as the
// process runner does; inspecting, logs and foreground runs are the
// process runner's own (a foreground service is never supervised).
type Runner struct {
	*process.Runner
	Client *Client

	// Launched, if set, is called once, when the first launch of this
	// command is answered: from then on the command sends requests and
	// waits (cmd/berth's oneProc).
	Launched func()

	mu      sync.Mutex
	starts  map[int]*started
	prepare sync.Once
	// launching is done once the first launch is answered (Launched).
	launching sync.Once
}

// started is a launch of this command's start, open until it settles: the
// supervisor answers its request again with the exit should the launch
// end first, so the start's wait for an exit needs no request of its own.
type started struct {
	t *ticket

	mu   sync.Mutex
	busy bool // a Wait reads t's answers
	got  bool // exit is the launch's
	exit runtime.Exit
}

// wait waits for the launch's exit on its start's request. used is false
// when another Wait reads the request already: the caller asks apart.
func (st *started) wait(ctx context.Context, name string) (ex runtime.Exit, used bool, err error) {
	st.mu.Lock()
	if st.got || st.busy {
		st.mu.Unlock()
		return st.exit, st.got, nil
	}
	st.busy = true
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		st.busy = false
		st.mu.Unlock()
	}()
	select {
	case resp, ok := <-st.t.answers:
		if !ok {
			return runtime.Exit{}, true, fmt.Errorf("wait for %s: the supervisor went away", name)
		}
		if resp.Exit == nil {
			return runtime.Exit{}, true, fmt.Errorf("wait for %s: the supervisor answered %q", name, resp.Error)
		}
		st.mu.Lock()
		st.got, st.exit = true, resp.Exit.exit()
		st.mu.Unlock()
		return st.exit, true, nil
	case <-ctx.Done():
		return runtime.Exit{}, true, ctx.Err()
	}
}

// NewRunner wraps a process runner.
func NewRunner(p *process.Runner, c *Client) *Runner {
	return &Runner{Runner: p, Client: c, starts: map[int]*started{}}
}

var (
	_ runtime.Holder        = (*Runner)(nil)
	_ runtime.Runner        = (*Runner)(nil)
	_ runtime.Settler       = (*Runner)(nil)
	_ runtime.StartPreparer = (*Runner)(nil)
)

// Start launches svc through the supervisor, starting one if none runs.
func (r *Runner) Start(_ context.Context, svc *runtime.Service) (runtime.Handle, error) {
	h, t, err := r.Client.Start(svc)
	// Told once the first launch is answered, so that what the command
	// does then (it stops the world) is not on that launch's path.
	if r.Launched != nil {
		r.launching.Do(r.Launched)
	}
	if err != nil {
		return h, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	r.mu.Lock()
	r.starts[h.PID] = &started{t: t}
	r.mu.Unlock()
	return h, nil
}

// Hold keeps the environment's supervisor, if one runs, until release.
func (r *Runner) Hold() (release func()) { return r.Client.Hold() }

// PrepareStart starts the session with the supervisor, spawning one if
// none runs, in the background: the start goes on planning meanwhile, and
// its first launch waits for the session only as long as is left of it.
// Should no launch follow, a supervisor spawned for nothing exits once
// that session ends (the command's Close waits for it to open).
func (r *Runner) PrepareStart() {
	r.prepare.Do(r.Client.prepare)
}

// Settle tells the supervisor how the start of h ended.
func (r *Runner) Settle(_ *runtime.Service, h runtime.Handle, ok bool) {
	r.mu.Lock()
	st := r.starts[h.PID]
	delete(r.starts, h.PID)
	r.mu.Unlock()
	if st != nil {
		settle(st.t, ok)
	}
}

// Wait asks the supervisor, which knows the exit status of its children:
// for a launch of this command's start still open, on that start's own
// request.
func (r *Runner) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	r.mu.Lock()
	st := r.starts[h.PID]
	r.mu.Unlock()
	if st != nil {
		if ex, used, err := st.wait(ctx, h.Service); used {
			return ex, err
		}
	}
	ex, err := r.Client.Wait(ctx, h)
	if err == nil || ctx.Err() != nil {
		return ex, err
	}
	return r.Runner.Wait(ctx, h)
}

// Stop has the supervisor that watches the service stop it: the
// supervisor is its parent, learns of the exit from its own wait, and
// records the stop as a user's (the exit is never restarted). Without a
// supervisor watching it, the service is stopped here as the process
// runner does and the stop recorded.
func (r *Runner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	handled, err := r.Client.StopRun(ctx, svc, h, opts)
	if handled || err != nil {
		return err
	}
	return r.stopHere(ctx, svc, h, opts)
}

// BeginStops asks the supervisor to stop every target in one write
// (Client.StopRuns): it begins each stop as it reads its request. A stop
// no supervisor takes is made here, as Stop makes it, when it is finished.
func (r *Runner) BeginStops(_ context.Context, ts []runtime.StopTarget) []runtime.BegunStop {
	ps := r.Client.StopRuns(ts)
	out := make([]runtime.BegunStop, len(ts))
	for i, p := range ps {
		out[i] = &begunStop{r: r, p: p, t: ts[i]}
	}
	return out
}

// begunStop is a stop asked of the supervisor, or left to this command.
type begunStop struct {
	r *Runner
	p *pendingStop
	t runtime.StopTarget
}

func (b *begunStop) Finish(ctx context.Context) error {
	handled, err := b.p.await(ctx)
	if handled || err != nil {
		return err
	}
	// No supervisor vouched for the record the plan read: the process
	// runner's stop checks it (runtime.RecordChecker).
	return b.r.stopHere(ctx, b.t.Service, b.t.Handle, b.t.Options)
}

// stopHere stops a service no supervisor watches as the process runner
// does, and records the stop.
func (r *Runner) stopHere(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	err := r.Runner.Stop(ctx, svc, h, opts)
	if err == nil {
		RecordUserStop(r.Client.Paths, svc.Name, h.PID)
	}
	return err
}

var _ runtime.StopBeginner = (*Runner)(nil)

// RecordUserStop records, where no supervisor runs, that a user stopped a
// service that has a record.
func RecordUserStop(p Paths, name string, pid int) {
	if _, err := os.Stat(recordPath(p, name)); err != nil {
		return
	}
	AppendEvent(p, Event{Service: name, Kind: EventStopped, PID: pid, Reason: "by user"})
	updateRecord(p, name, func(r *Record) { r.Wanted, r.Supervised, r.Stopped, r.PID = false, false, "by user", 0 })
}

// detachByPID sends TERM to the supervisor pid after checking that it is
// this environment's supervisor, and waits for it to exit.
func detachByPID(p Paths, pid int) error {
	// A supervisor that accepted the detach (same protocol, another
	// build) is exiting: its command line reads empty until it is a
	// zombie, which process.Cmdline reports as gone.
	args, live := process.Cmdline(pid)
	if !live {
		return nil // gone
	}
	if !runsSupervisorOf(args, p.Root) {
		return fmt.Errorf("PID %d is not the supervisor of %s: nothing is signalled", pid, p.Root)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop the supervisor %d: %w", pid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return process.WaitExit(ctx, pid, 0)
}

// StoppedWhileDown is a user's stop of a service that is not running: a
// supervisor that waits to restart it is told not to (and has recorded it
// when this returns); a service that had crashed is no longer reported as
// down.
func StoppedWhileDown(c *Client, name string) {
	if t, err := c.Stop(name); err == nil && t != nil {
		settleStop(t, true)
	}
	ClearWanted(c.Paths, name)
}

// ClearWanted records that a user stopped a service that was already down
// (it had crashed): it is no longer reported as down.
func ClearWanted(p Paths, name string) {
	r, err := ReadRecord(p, name)
	if err != nil || !r.Wanted || r.Supervised {
		return
	}
	AppendEvent(p, Event{Service: name, Kind: EventStopped, Reason: "by user, after it had exited"})
	updateRecord(p, name, func(r *Record) { r.Wanted, r.Stopped = false, "by user" })
}
