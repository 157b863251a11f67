package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	dcontainer "github.com/berthdev/berth/runtime/container"
)

// EngineDial returns a client of the environment's default Docker daemon.
type EngineDial func(ctx context.Context) (engine.API, error)

// Labels the engine watcher reads: the container and Swarm runners' own,
// and the task Swarm puts on its containers.
const (
	labelEnv  = dcontainer.LabelEnvironment
	labelSvc  = dcontainer.LabelService
	labelTask = "com.docker.swarm.task.id"
)

// engineTarget says which of a daemon's objects are the environment's.
type engineTarget struct {
	env     string            // the environment label's value
	project string            // the compose project
	runners map[string]string // Docker-run service -> its runner
	compose map[string]string // compose service -> berth service
	swarm   bool
}

// targetOf is what the supervisor watches on the default daemon: nil when
// the environment runs nothing there.
func targetOf(env *metadata.Env) *engineTarget {
	t := &engineTarget{env: env.Name(), project: compose.Project(env.Name()), runners: map[string]string{}, compose: map[string]string{}}
	for name, spec := range env.Manifest.Services {
		switch {
		case spec == nil || spec.Host != "":
		case spec.Runner == metadata.RunnerContainer || spec.Runner == metadata.RunnerSwarm:
			t.runners[name] = spec.Runner
			t.swarm = t.swarm || spec.Runner == metadata.RunnerSwarm
		case spec.Runner == metadata.RunnerCompose && spec.Compose != nil:
			t.runners[name] = spec.Runner
			for _, c := range spec.Compose.Services {
				t.compose[c] = name
			}
		}
	}
	if len(t.runners) == 0 {
		return nil
	}
	return t
}

// of attributes a container's labels to a berth service and its runner.
func (t *engineTarget) of(labels map[string]string) (service, runner string) {
	if labels[labelEnv] == t.env && t.runners[labels[labelSvc]] != "" {
		service = labels[labelSvc]
		if labels[labelTask] != "" {
			return service, metadata.RunnerSwarm
		}
		return service, metadata.RunnerContainer
	}
	if labels[compose.LabelProject] == t.project && t.compose[labels[compose.LabelService]] != "" {
		return t.compose[labels[compose.LabelService]], metadata.RunnerCompose
	}
	return "", ""
}

// engineWatch follows the daemon's events for the environment's
// containers, compose containers and Swarm services, records them per
// berth service, and knows which of them run: the supervisor stays while
// any does.
type engineWatch struct {
	t     *engineTarget
	dial  EngineDial
	paths Paths
	// born is when the supervisor started: what the daemon reported before
	// happened while none watched.
	born   time.Time
	done   <-chan struct{}
	record func(Event)
	// idle is called when the last of the environment's Docker objects
	// has stopped; removed when the daemon cannot be reached and the
	// environment's state directory is gone (nothing is left to record
	// into, and no command will reach this supervisor again).
	idle    func()
	removed func()
	logf    func(string, ...any)

	mu sync.Mutex
	// alive: running or restarting containers, and Swarm services, by ID.
	alive map[string]string
	// died: containers whose last event was an exit not made by berth.
	died map[string]bool
	// swarmIDs: the environment's Swarm services by ID; failed: the task
	// of a Swarm service that failed last.
	swarmIDs map[string]string
	failed   map[string]string
	since    time.Time
	// connected is when the current connection was made: the events
	// before it are those the daemon kept.
	connected time.Time
}

func newEngineWatch(t *engineTarget, dial EngineDial, p Paths, born time.Time, done <-chan struct{}) *engineWatch {
	return &engineWatch{t: t, dial: dial, paths: p, born: born, done: done,
		record: func(e Event) { AppendEvent(p, e) }, idle: func() {}, removed: func() {}, logf: func(string, ...any) {},
		alive: map[string]string{}, died: map[string]bool{}, swarmIDs: map[string]string{}, failed: map[string]string{}}
}

// busy says whether any of the environment's Docker objects runs.
func (e *engineWatch) busy() bool {
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.alive) > 0
}

// Reconnection delays: the first retry comes soon (a daemon restart),
// then less and less often.
const (
	engineRetryMin = 100 * time.Millisecond
	engineRetryMax = 30 * time.Second
)

// run follows the daemon until the supervisor exits, reconnecting with a
// growing delay (a timer per attempt, nothing polls) and recording when it
// lost the daemon and when it reached it again.
func (e *engineWatch) run(ctx context.Context) {
	e.since = e.cursor()
	delay, connected, lost := engineRetryMin, false, false
	for {
		ok, err := e.session(ctx, lost)
		select {
		case <-e.done:
			return
		default:
		}
		if ok {
			delay, connected, lost = engineRetryMin, true, false
		}
		if connected && !lost {
			lost = true
			e.record(Event{Kind: EventEngineLost, Reason: fmt.Sprintf("%v; berth reconnects", err)})
		}
		if _, serr := os.Stat(e.paths.Dir); errors.Is(serr, os.ErrNotExist) {
			// The environment was removed while the daemon is out of
			// reach: what the supervisor watched there can no longer be
			// learnt, nor recorded. (Reachable, the daemon's events tell
			// when the last object goes.)
			e.logf("docker events: %v, and %s is gone: the supervisor exits", err, e.paths.Dir)
			e.removed()
			return
		}
		e.logf("docker events: %v (again in %s)", err, delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-e.done:
			t.Stop()
			return
		}
		delay = min(2*delay, engineRetryMax)
	}
}

// cursor is where a new connection starts: after the last event recorded.
// A first supervisor starts from its own birth.
func (e *engineWatch) cursor() time.Time {
	c := readCursor(e.paths)
	if l := lastEngineEvent(e.paths); l.After(c) {
		c = l
	}
	if c.IsZero() {
		c = e.born
		writeCursor(e.paths, c)
	}
	return c
}

// eventFilters are the events berth records or needs to know what runs.
func eventFilters() filters.Args {
	f := filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("type", string(events.ServiceEventType)))
	for _, a := range []string{"start", "die", "kill", "oom", "health_status", "destroy", "create", "remove"} {
		f.Add("event", a)
	}
	return f
}

func unixNano(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

// session is one connection: subscribe from the cursor (the daemon sends
// the recent events it kept first), list what runs, then handle events
// until the stream breaks. ok says the daemon was reached.
func (e *engineWatch) session(ctx context.Context, wasLost bool) (ok bool, err error) {
	api, err := e.dial(ctx)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	since := e.since
	e.connected = time.Now()
	e.mu.Unlock()
	msgs, errs := api.Events(ctx, events.ListOptions{Since: unixNano(since), Filters: eventFilters()})
	if err := e.list(ctx, api); err != nil {
		return false, err
	}
	if wasLost {
		e.record(Event{Kind: EventEngineBack})
	}
	for {
		select {
		case m := <-msgs:
			e.handle(ctx, api, m)
		case err := <-errs:
			return true, err
		case <-e.done:
			return true, nil
		}
	}
}

// list reads which of the environment's containers and Swarm services run.
func (e *engineWatch) list(ctx context.Context, api engine.API) error {
	alive := map[string]string{}
	for _, f := range []filters.Args{
		filters.NewArgs(filters.Arg("label", labelEnv+"="+e.t.env)),
		filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+e.t.project)),
	} {
		cs, err := api.ContainerList(ctx, container.ListOptions{Filters: f})
		if err != nil {
			return fmt.Errorf("list the environment's containers: %w", err)
		}
		for _, c := range cs {
			if svc, _ := e.t.of(c.Labels); svc != "" {
				alive[c.ID] = svc
			}
		}
	}
	ids := map[string]string{}
	if e.t.swarm {
		// A daemon that is no swarm manager has no services to list.
		ss, _ := api.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", labelEnv+"="+e.t.env))})
		for _, s := range ss {
			if svc := s.Spec.Labels[labelSvc]; e.t.runners[svc] == metadata.RunnerSwarm {
				alive[s.ID], ids[s.ID] = svc, svc
			}
		}
	}
	e.mu.Lock()
	e.alive, e.swarmIDs = alive, ids
	e.mu.Unlock()
	return nil
}

// stillIdle confirms with the daemon that none of the environment's
// objects runs before the supervisor exits on that account.
func (e *engineWatch) stillIdle(ctx context.Context, api engine.API) {
	if e.busy() {
		return
	}
	if err := e.list(ctx, api); err == nil && !e.busy() {
		e.idle()
	}
}

// watchEngine starts following the Docker daemon when the environment has
// services there.
func (s *Supervisor) watchEngine() {
	if s.cfg.Engine == nil {
		return
	}
	env, err := s.env()
	if err != nil {
		return
	}
	t := targetOf(env)
	if t == nil {
		return
	}
	e := newEngineWatch(t, s.cfg.Engine, s.paths, s.born, s.done)
	e.idle, e.removed, e.logf = s.exitIfIdle, s.shutdown, s.cfg.Logf
	e.record = func(ev Event) {
		if _, err := os.Stat(s.paths.Dir); err != nil {
			return // the environment was removed: nothing is made again
		}
		s.event(ev)
	}
	s.mu.Lock()
	s.eng = e
	s.mu.Unlock()
	go e.run(s.ctx)
}
