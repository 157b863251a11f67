package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// Config configures a supervisor.
type Config struct {
	Root    string
	Version string
	// Process is the host-process runner the supervisor launches with.
	Process *process.Runner
	// Registry makes the runners of env (the cascade stops dependents of
	// any kind); its process runner must be Process.
	Registry func(env *metadata.Env) *runtime.Registry
	// Ready, if set, is written "ready\n" once the supervisor serves, then closed.
	Ready *os.File
	// IdleExit is how long a supervisor with nothing to watch waits for a
	// first service before it exits; DefaultIdleExit if zero.
	IdleExit time.Duration
	Logf     func(format string, args ...any)
	// Engine, if set, reaches the environment's default Docker daemon: the
	// supervisor records the events of its containers, compose containers
	// and Swarm services, and runs while any of them does (engine.go).
	Engine EngineDial
}

// DefaultIdleExit: a supervisor is spawned just before the start that
// needs it; if that start never comes (the command was killed), it exits.
const DefaultIdleExit = 10 * time.Second

// Supervisor is the running supervisor of one environment.
type Supervisor struct {
	cfg   Config
	paths Paths
	proc  *process.Runner
	ctx   context.Context

	mu      sync.Mutex
	watches map[string]*watch
	// pending counts the starts and stops being handled and the holds
	// (a restart's): the supervisor does not exit under them.
	pending int
	// sessions counts the clients' sessions open (endSession).
	sessions int
	// hadSession: a session has ended (endSession).
	hadSession bool
	closing    bool
	done       chan struct{}
	ln         *net.UnixListener
	envs       envCache
	// born is when it started; eng follows the Docker daemon (nil when
	// the environment runs nothing there).
	born time.Time
	eng  *engineWatch
	// reapOrphans is process.ReapOrphans when nil (tests count its calls).
	reapOrphans func() []process.Reaped
	// loops counts the watches' loops (goLoopLocked).
	loops sync.WaitGroup
}

// Serve runs the supervisor of cfg.Root until the last service it watches
// has stopped, it is told to detach, or it receives TERM, INT or HUP
// (which leave every service running, for a new supervisor to adopt).
func Serve(cfg Config) error {
	go warmCodec()
	go warmPidfd()
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	p := PathsOf(cfg.Root)
	s := &Supervisor{cfg: cfg, paths: p, proc: cfg.Process, watches: map[string]*watch{},
		done: make(chan struct{}), born: time.Now()}
	// The first launch and the engine watch need the manifest: it is
	// read while the supervisor takes its lock and listens, on the
	// processor the spawning client leaves idle as it waits.
	go s.env()
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return err
	}
	lock, err := lockWithin(p.Lock, 10*time.Second)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	// Whether anything is to be adopted is read from the PID files and
	// records, which only a supervisor holding the lock writes besides
	// commands, while this one becomes a subreaper and listens.
	adoptable := make(chan bool, 1)
	go func() { adoptable <- s.adoptable() }()
	if err := process.BecomeSubreaper(); err != nil {
		return fmt.Errorf("become a subreaper: %w", err)
	}
	ln, err := listen(p.Socket)
	if err != nil {
		return err
	}
	defer os.Remove(p.Socket)
	pid, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "version": cfg.Version, "protocol": Protocol})
	metadata.ReplaceFile(p.PID, append(pid, '\n'), 0o644) // about a process: no fsync
	defer os.Remove(p.PID)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.ctx, s.ln = ctx, ln
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go s.signals(sigs)
	if <-adoptable {
		s.adopt()
	}
	// The daemon's events since the supervisor was born are replayed to
	// it whenever it connects: reading the manifest for the services it
	// runs there need not hold up the first launch.
	go s.watchEngine()
	if cfg.Ready != nil {
		cfg.Ready.Write([]byte("ready\n"))
		cfg.Ready.Close()
	}
	idle := cfg.IdleExit
	if idle == 0 {
		idle = DefaultIdleExit
	}
	t := time.AfterFunc(idle, func() { s.exitIfIdle() })
	defer t.Stop()
	go s.accept()
	<-s.done
	// What a loop was recording as the supervisor was told to exit is
	// written before it exits; each returns at its next wait.
	s.loops.Wait()
	cfg.Logf("supervisor %d exits", os.Getpid())
	return nil
}

func lockWithin(path string, d time.Duration) (*metadata.FileLock, error) {
	type res struct {
		l   *metadata.FileLock
		err error
	}
	ch := make(chan res, 1)
	go func() {
		l, err := metadata.Lock(path)
		ch <- res{l, err}
	}()
	select {
	case r := <-ch:
		return r.l, r.err
	case <-time.After(d):
		return nil, fmt.Errorf("another supervisor holds %s and did not exit within %s", path, d)
	}
}

// reapGap is the least time between two reaps of orphans. Each reap lists
// the supervisor's children (a read of /proc/self/task and of each
// thread's children): run at every SIGCHLD, the 100 exits of a stop all
// made dozens of them, an eighth of the supervisor's CPU in that stop.
// A SIGCHLD within reapGap of the last reap is answered by one reap at
// the end of the gap, so an orphan's zombie stays at most that much
// longer.
const reapGap = 20 * time.Millisecond

func (s *Supervisor) signals(sigs <-chan os.Signal) {
	var last time.Time
	var later <-chan time.Time
	reapOrphans := s.reapOrphans
	if reapOrphans == nil {
		reapOrphans = process.ReapOrphans
	}
	reap := func() {
		last, later = time.Now(), nil
		for _, r := range reapOrphans() {
			s.cfg.Logf("reaped orphan %d (%s)", r.PID, r.Exit)
		}
	}
	for {
		select {
		case sig, ok := <-sigs:
			if !ok {
				return
			}
			if sig != syscall.SIGCHLD {
				s.cfg.Logf("received %v: exiting, services left running", sig)
				s.shutdown()
				continue
			}
			if later != nil {
				continue // a reap is due already
			}
			if wait := reapGap - time.Since(last); wait > 0 {
				later = time.After(wait)
				continue
			}
			reap()
		case <-later:
			reap()
		}
	}
}

// env is the environment as its files are now, read again only when they
// changed (envCache); callers only read it.
func (s *Supervisor) env() (*metadata.Env, error) { return s.envs.get(s.cfg.Root) }

func (s *Supervisor) manager(env *metadata.Env) *runtime.Manager {
	return &runtime.Manager{Env: env, Runners: s.cfg.Registry(env)}
}

func (s *Supervisor) event(e Event) {
	if err := AppendEvent(s.paths, e); err != nil {
		s.cfg.Logf("event log: %v", err)
	}
}

func (s *Supervisor) reply(c *conn, r Response) error {
	r.Protocol, r.Version, r.PID = Protocol, s.cfg.Version, ownPID()
	return c.write(marshalResponse(&r))
}

// ownPID is the supervisor's PID, asked of the kernel once: each answer
// carries it (os.Getpid is a system call, one per answer).
var ownPID = sync.OnceValue(os.Getpid)

func (s *Supervisor) serve(c *conn) {
	defer c.Close()
	uid, _, err := peerUID(c.c)
	if err != nil || uid != os.Geteuid() {
		s.endSession(false)
		s.cfg.Logf("refused a client of uid %d", uid)
		s.reply(c, Response{Code: codeRefused, Error: fmt.Sprintf("the supervisor serves only uid %d", os.Geteuid())})
		return
	}
	var req Request
	if err := c.recv(&req); err != nil {
		s.endSession(true)
		return
	}
	// hello and detach work across builds: a client learns whom it talks
	// to, and can hand the services to a supervisor of its own build.
	switch {
	case req.Op == opHello:
		s.endSession(false)
		s.reply(c, Response{})
		return
	case req.Op == opDetach && req.Protocol == Protocol:
		s.endSession(false)
		s.reply(c, Response{})
		s.shutdown()
		return
	}
	ss := &session{s: s, c: c, settles: map[uint64]chan Request{}, cancels: map[uint64]context.CancelFunc{}}
	// A connection that only asks (status, live) is a query, not a
	// session: it ends no start's wait for its supervisor (endSession).
	query := true
	defer func() { s.endSession(!query) }()
	defer ss.end()
	for {
		query = query && (req.Op == opLive || req.Op == opStatus || req.Op == opHello)
		if req.Protocol != Protocol || req.Version != s.cfg.Version {
			s.reply(c, Response{ID: req.ID, Code: codeVersion, Error: "another berth version"})
			return
		}
		if !ss.rebuildEnv(&req) {
			s.reply(c, Response{ID: req.ID, Error: "a start whose environment base never came"})
			return
		}
		ss.dispatch(req)
		req = Request{}
		if err := c.recv(&req); err != nil {
			return
		}
	}
}

// session is one client's connection: its requests are served
// concurrently, each answered with its ID as it ends.
type session struct {
	s *Supervisor
	c *conn

	mu      sync.Mutex
	settles map[uint64]chan Request // starts and stops waiting for their settle
	cancels map[uint64]context.CancelFunc
	envBase []string // read by the serve loop only (envbase.go)
	wg      sync.WaitGroup
}

// onRequest, when set (by tests), is told the op of every request served
// in a session. Atomic: supervisors of earlier tests may still serve.
var onRequest atomic.Pointer[func(op string)]

func (ss *session) dispatch(req Request) {
	s, c := ss.s, ss.c
	if f := onRequest.Load(); f != nil {
		(*f)(req.Op)
	}
	switch req.Op {
	case opStop:
		if req.Stop != nil {
			if run := s.beginStopRun(c, req); run != nil {
				ss.serve(req.ID, func(ctx context.Context) { s.finishStopRun(ctx, c, req.ID, run) })
			}
			return
		}
		fallthrough
	case opStart:
		ch := make(chan Request, 1)
		ss.mu.Lock()
		ss.settles[req.ID] = ch
		ss.mu.Unlock()
		ss.serve(req.ID, func(context.Context) {
			if req.Op == opStart {
				s.handleStart(c, req, ch)
			} else {
				s.handleStop(c, req, ch)
			}
		})
	case opStops:
		ss.stops(req.Batch)
	case opSettle:
		ss.mu.Lock()
		ch := ss.settles[req.ID]
		delete(ss.settles, req.ID)
		ss.mu.Unlock()
		if ch != nil {
			ch <- req
		}
	case opWait:
		ss.serve(req.ID, func(ctx context.Context) { s.handleWait(ctx, c, req) })
	case opCancel:
		ss.drop(req.ID)
	case opHold:
		ss.serve(req.ID, func(ctx context.Context) { s.handleHold(ctx, c, req) })
	case opStatus:
		s.reply(c, Response{ID: req.ID, Watched: s.watched()})
	case opLive:
		s.reply(c, Response{ID: req.ID, Live: s.live()})
		if req.Stopping {
			s.prepareStops()
		}
	case opHello:
		s.reply(c, Response{ID: req.ID})
	default:
		s.reply(c, Response{ID: req.ID, Error: fmt.Sprintf("unknown request %q", req.Op)})
	}
}

// serve runs fn for request id in a goroutine of its own; ctx ends when
// the request is dropped (a cancel, its end, the session's end).
func (ss *session) serve(id uint64, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ss.s.ctx)
	ss.mu.Lock()
	ss.cancels[id] = cancel
	ss.mu.Unlock()
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		defer ss.drop(id)
		fn(ctx)
	}()
}

// drop forgets request id: a wait is cancelled, a settle not yet sent
// reads as the client gone.
func (ss *session) drop(id uint64) {
	ss.mu.Lock()
	if cancel := ss.cancels[id]; cancel != nil {
		cancel()
		delete(ss.cancels, id)
	}
	if ch := ss.settles[id]; ch != nil {
		close(ch)
		delete(ss.settles, id)
	}
	ss.mu.Unlock()
}

// end is the client gone: every request still open ends as if it had
// gone alone.
func (ss *session) end() {
	ss.mu.Lock()
	for id, ch := range ss.settles {
		close(ch)
		delete(ss.settles, id)
	}
	for id, cancel := range ss.cancels {
		cancel()
		delete(ss.cancels, id)
	}
	ss.mu.Unlock()
	ss.wg.Wait()
}

func (s *Supervisor) watched() []Record {
	s.mu.Lock()
	names := make([]string, 0, len(s.watches))
	for n := range s.watches {
		names = append(names, n)
	}
	s.mu.Unlock()
	var out []Record
	for _, n := range names {
		r, _ := ReadRecord(s.paths, n)
		out = append(out, r)
	}
	return out
}

// handleStart launches a service for a command and waits until the
// command says how the start ended (settle), or goes away, which counts as
// a success: what was launched stays running.
func (s *Supervisor) handleStart(c *conn, req Request, settled <-chan Request) {
	if req.Spec == nil {
		s.reply(c, Response{ID: req.ID, Error: "start without a service"})
		return
	}
	svc := req.Spec.service()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.reply(c, Response{ID: req.ID, Code: codeClosing, Error: "the supervisor is exiting"})
		return
	}
	w := s.watches[svc.Name]
	if w == nil {
		w = &watch{s: s, name: svc.Name, wake: make(chan struct{}, 1)}
	}
	s.pending++
	s.mu.Unlock()
	l, err := w.launchFor(svc)
	s.mu.Lock()
	s.pending--
	s.mu.Unlock()
	if err != nil {
		s.exitIfIdle()
		s.reply(c, Response{ID: req.ID, Error: err.Error()})
		return
	}
	h := l.h
	if err := s.reply(c, Response{ID: req.ID, Handle: &h}); err != nil {
		l.settle(true)
		return
	}
	ok := true
	select {
	case r, open := <-settled:
		if open {
			ok = r.OK
		}
	case <-l.done: // ended during its start: the command's wait learns how
		if s.reply(c, Response{ID: req.ID, Exit: exitInfo(l.exit, l.endedAt)}) == nil {
			if r, open := <-settled; open {
				ok = r.OK
			}
		}
	}
	l.settle(ok)
}

// handleWait answers when the launch named ends, or not at all if the
// client stops waiting first (ctx).
func (s *Supervisor) handleWait(ctx context.Context, c *conn, req Request) {
	l := s.launchOf(req.Service, req.PID)
	if l == nil {
		s.reply(c, Response{ID: req.ID, Code: codeUnknown, Error: fmt.Sprintf("%s (PID %d) is not watched", req.Service, req.PID)})
		return
	}
	if s.reply(c, Response{ID: req.ID}) != nil { // the answer comes when it ends
		return
	}
	select {
	case <-l.done:
		s.reply(c, Response{ID: req.ID, Exit: exitInfo(l.exit, l.endedAt)})
	case <-ctx.Done():
	case <-s.done:
	}
}

func (s *Supervisor) launchOf(name string, pid int) *launch {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.watches[name]
	if w != nil && w.cur != nil && w.cur.h.PID == pid {
		return w.cur
	}
	return nil
}
