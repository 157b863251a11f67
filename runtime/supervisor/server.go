package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
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
	// pending counts starts being handled: the supervisor does not exit
	// under them.
	pending int
	closing bool
	done    chan struct{}
	ln      *net.UnixListener
	// born is when it started; eng follows the Docker daemon (nil when
	// the environment runs nothing there).
	born time.Time
	eng  *engineWatch
}

// Serve runs the supervisor of cfg.Root until the last service it watches
// has stopped, it is told to detach, or it receives TERM, INT or HUP
// (which leave every service running, for a new supervisor to adopt).
func Serve(cfg Config) error {
	p := PathsOf(cfg.Root)
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return err
	}
	lock, err := lockWithin(p.Lock, 10*time.Second)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := process.BecomeSubreaper(); err != nil {
		return fmt.Errorf("become a subreaper: %w", err)
	}
	ln, err := listen(p.Socket)
	if err != nil {
		return err
	}
	defer os.Remove(p.Socket)
	pid, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "version": cfg.Version, "protocol": Protocol})
	metadata.WriteFileAtomic(p.PID, append(pid, '\n'), 0o644)
	defer os.Remove(p.PID)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Supervisor{cfg: cfg, paths: p, proc: cfg.Process, ctx: ctx, watches: map[string]*watch{},
		done: make(chan struct{}), ln: ln, born: time.Now()}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go s.signals(sigs)
	s.adopt()
	s.watchEngine()
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

func (s *Supervisor) signals(sigs <-chan os.Signal) {
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			for _, r := range process.ReapOrphans() {
				s.cfg.Logf("reaped orphan %d (%s)", r.PID, r.Exit)
			}
			continue
		}
		s.cfg.Logf("received %v: exiting, services left running", sig)
		s.shutdown()
	}
}

// shutdown stops serving; watches end without touching their services.
func (s *Supervisor) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.closing = true
	s.ln.Close()
	close(s.done)
}

func (s *Supervisor) exitIfIdle() {
	s.mu.Lock()
	idle := len(s.watches) == 0 && s.pending == 0 && !s.eng.busy()
	s.mu.Unlock()
	if idle {
		s.shutdown()
	}
}

func (s *Supervisor) env() (*metadata.Env, error) { return metadata.OpenTolerant(s.cfg.Root) }

func (s *Supervisor) manager(env *metadata.Env) *runtime.Manager {
	return &runtime.Manager{Env: env, Runners: s.cfg.Registry(env)}
}

func (s *Supervisor) event(e Event) {
	if err := AppendEvent(s.paths, e); err != nil {
		s.cfg.Logf("event log: %v", err)
	}
}

func (s *Supervisor) accept() {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		go s.serve(newConn(c))
	}
}

func (s *Supervisor) reply(c *conn, r Response) error {
	r.Protocol, r.Version, r.PID = Protocol, s.cfg.Version, os.Getpid()
	return c.send(r)
}

func (s *Supervisor) serve(c *conn) {
	defer c.Close()
	uid, _, err := peerUID(c.c)
	if err != nil || uid != os.Geteuid() {
		s.cfg.Logf("refused a client of uid %d", uid)
		s.reply(c, Response{Code: codeRefused, Error: fmt.Sprintf("the supervisor serves only uid %d", os.Geteuid())})
		return
	}
	var req Request
	if err := c.recv(&req); err != nil {
		return
	}
	// hello and detach work across builds: a client learns whom it talks
	// to, and can hand the services to a supervisor of its own build.
	switch {
	case req.Op == opHello:
		s.reply(c, Response{})
		return
	case req.Op == opDetach && req.Protocol == Protocol:
		s.reply(c, Response{})
		s.shutdown()
		return
	case req.Protocol != Protocol || req.Version != s.cfg.Version:
		s.reply(c, Response{Code: codeVersion, Error: "another berth version"})
		return
	}
	switch req.Op {
	case opStart:
		s.handleStart(c, req)
	case opWait:
		s.handleWait(c, req)
	case opStop:
		s.handleStop(c, req)
	case opStatus:
		s.reply(c, Response{Watched: s.watched()})
	default:
		s.reply(c, Response{Error: fmt.Sprintf("unknown request %q", req.Op)})
	}
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

// handleStart launches a service for a command and keeps the connection
// until the command says how the start ended (or goes away, which counts
// as a success: what was launched stays running).
func (s *Supervisor) handleStart(c *conn, req Request) {
	if req.Spec == nil {
		s.reply(c, Response{Error: "start without a service"})
		return
	}
	svc := req.Spec.service()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.reply(c, Response{Code: codeClosing, Error: "the supervisor is exiting"})
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
	}
	if err != nil {
		s.reply(c, Response{Error: err.Error()})
		return
	}
	h := l.h
	if err := s.reply(c, Response{Handle: &h}); err != nil {
		l.settle(true)
		return
	}
	var settle Request
	ok := true
	if err := c.recv(&settle); err == nil && settle.Op == opSettle {
		ok = settle.OK
	}
	l.settle(ok)
}

// handleWait answers when the launch named ends, or not at all if the
// client goes first.
func (s *Supervisor) handleWait(c *conn, req Request) {
	l := s.launchOf(req.Service, req.PID)
	if l == nil {
		s.reply(c, Response{Code: codeUnknown, Error: fmt.Sprintf("%s (PID %d) is not watched", req.Service, req.PID)})
		return
	}
	if s.reply(c, Response{}) != nil { // the answer comes when it ends
		return
	}
	gone := make(chan struct{})
	go func() {
		c.r.ReadByte() // the client closes the connection when it stops waiting
		close(gone)
	}()
	select {
	case <-l.done:
		s.reply(c, Response{Exit: exitInfo(l.exit, l.endedAt)})
	case <-gone:
	case <-s.done:
	}
}

// handleStop marks the launch as stopped by a user before the command
// stops it, so that its exit is never restarted; a stop that failed
// (settle not ok) clears the mark.
func (s *Supervisor) handleStop(c *conn, req Request) {
	s.mu.Lock()
	w := s.watches[req.Service]
	s.mu.Unlock()
	if w == nil {
		s.reply(c, Response{Code: codeUnknown})
		return
	}
	s.mu.Lock()
	l := w.cur
	s.mu.Unlock()
	w.markStop("by user")
	if err := s.reply(c, Response{}); err != nil {
		return
	}
	var settle Request
	if err := c.recv(&settle); err != nil || settle.Op != opSettle {
		return
	}
	if !settle.OK {
		w.markStop("")
		return
	}
	// The stop is acknowledged once its exit is recorded, so that the
	// command returns with the environment's files as they will stay.
	t := time.NewTimer(StopRecordTimeout)
	defer t.Stop()
	select {
	case <-l.handled:
	case <-s.done:
	case <-t.C:
		s.cfg.Logf("%s: the stop was not recorded within %s", req.Service, StopRecordTimeout)
	}
	s.reply(c, Response{})
}

// StopRecordTimeout bounds how long a user's stop waits for the
// supervisor to record it.
const StopRecordTimeout = 10 * time.Second

func (s *Supervisor) launchOf(name string, pid int) *launch {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.watches[name]
	if w != nil && w.cur != nil && w.cur.h.PID == pid {
		return w.cur
	}
	return nil
}
