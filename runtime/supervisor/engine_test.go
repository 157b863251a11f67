package supervisor

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/engine/enginetest"
	"github.com/berthdev/berth/runtime"
)

func testTarget() *engineTarget {
	return &engineTarget{env: "lab", project: "lab",
		runners: map[string]string{"web": "container", "db": "compose", "api": "swarm"},
		compose: map[string]string{"postgres": "db"}, swarm: true}
}

func msg(action, id string, at time.Time, attrs map[string]string) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: events.Action(action), TimeNano: at.UnixNano(),
		Actor: events.Actor{ID: id, Attributes: attrs}}
}

var webLabels = map[string]string{labelEnv: "lab", labelSvc: "web"}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// stream is one connection of the fake daemon: the test sends events and
// ends it with an error.
type stream struct {
	since string
	msgs  chan events.Message
	errs  chan error
}

// fakeDaemon is a daemon that can be down: dial fails while down; each
// connection's stream goes to streams.
type fakeDaemon struct {
	mu      sync.Mutex
	down    bool
	dials   int
	streams chan *stream
	fake    *enginetest.Fake
}

func newFakeDaemon() *fakeDaemon {
	d := &fakeDaemon{streams: make(chan *stream, 4)}
	d.fake = &enginetest.Fake{
		EventsFunc: func(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
			s := &stream{since: o.Since, msgs: make(chan events.Message), errs: make(chan error, 1)}
			d.streams <- s
			return s.msgs, s.errs
		},
		ContainerListFunc: func(context.Context, container.ListOptions) ([]container.Summary, error) { return nil, nil },
		ServiceListFunc:   func(context.Context, swarm.ServiceListOptions) ([]swarm.Service, error) { return nil, nil },
		ContainerInspectFunc: func(_ context.Context, id string) (container.InspectResponse, error) {
			return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id,
				State:      &container.State{},
				HostConfig: &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "on-failure"}}}}, nil
		},
	}
	return d
}

func (d *fakeDaemon) dial(context.Context) (engine.API, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials++
	if d.down {
		return nil, errors.New("cannot connect to the Docker daemon")
	}
	return d.fake, nil
}

func (d *fakeDaemon) setDown(down bool) {
	d.mu.Lock()
	d.down = down
	d.mu.Unlock()
}

func (d *fakeDaemon) next(t *testing.T) *stream {
	t.Helper()
	select {
	case s := <-d.streams:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no connection to the daemon")
		return nil
	}
}

func watchFor(t *testing.T, d *fakeDaemon, idle ...func()) (*engineWatch, Paths, func()) {
	p := PathsOf(t.TempDir())
	os.MkdirAll(p.Dir, 0o755) // as Serve makes it
	done := make(chan struct{})
	e := newEngineWatch(testTarget(), d.dial, p, time.Now(), done)
	if len(idle) > 0 {
		e.idle = idle[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		e.run(ctx)
		close(finished)
	}()
	return e, p, func() {
		close(done)
		cancel()
		<-finished
	}
}

func kinds(t *testing.T, p Paths) string {
	evs, err := ReadEvents(p, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, e := range evs {
		ks = append(ks, e.Kind)
	}
	return strings.Join(ks, " ")
}

func waitKinds(t *testing.T, p Paths, want string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		if got := kinds(t, p); got != want {
			return errors.New("events " + got + ", want " + want)
		}
		return nil
	})
}

// The daemon goes away and comes back: the watcher records that it lost
// it, retries on timers until it answers, records that it is back, and
// asks for the events since the last one it recorded.
func TestEngineReconnects(t *testing.T) {
	d := newFakeDaemon()
	_, p, stop := watchFor(t, d)
	defer stop()
	s := d.next(t)
	at := time.Now().Add(time.Second)
	s.msgs <- msg("start", "c1", at, webLabels)
	waitKinds(t, p, "started")
	d.setDown(true)
	s.errs <- errors.New("unexpected EOF")
	waitKinds(t, p, "started engine-lost")
	testkit.Eventually(t, 10*time.Second, func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.dials < 3 {
			return errors.New("fewer than two retries")
		}
		return nil
	})
	d.setDown(false)
	s = d.next(t)
	if want := unixNano(at); s.since != want {
		t.Errorf("reconnected since %s, want %s (the last event recorded)", s.since, want)
	}
	// The daemon sends again what it kept: the start is not recorded twice.
	s.msgs <- msg("start", "c1", at, webLabels)
	s.msgs <- msg("die", "c1", at.Add(time.Second), with(webLabels, "exitCode", "3"))
	waitKinds(t, p, "started engine-lost engine-back exited")
	evs, _ := ReadEvents(p, nil, time.Time{})
	if x := evs[3].Exit; x == nil || x.Code != 3 || evs[3].Container != "c1" || evs[3].Runner != "container" {
		t.Errorf("exit event %+v", evs[3])
	}
	if !strings.Contains(evs[1].Text(), "docker: lost the Docker engine: unexpected EOF") {
		t.Errorf("lost: %s", evs[1].Text())
	}
}

// A daemon that is down when the supervisor starts is retried quietly: it
// was never reached, so nothing was lost.
func TestEngineDownAtStart(t *testing.T) {
	d := newFakeDaemon()
	d.setDown(true)
	_, p, stop := watchFor(t, d)
	defer stop()
	testkit.Eventually(t, 10*time.Second, func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.dials < 2 {
			return errors.New("not retried")
		}
		return nil
	})
	d.setDown(false)
	s := d.next(t)
	s.msgs <- msg("start", "c1", time.Now().Add(time.Second), webLabels)
	waitKinds(t, p, "started")
}

// Compose containers go to the berth service that stands for them; Swarm
// task failures and their replacements are recorded; a foreign container
// and containers of another environment are not.
func TestEngineAttribution(t *testing.T) {
	d := newFakeDaemon()
	e, p, stop := watchFor(t, d)
	defer stop()
	s := d.next(t)
	at := time.Now().Add(time.Second)
	tick := func() time.Time { at = at.Add(time.Millisecond); return at }
	s.msgs <- msg("start", "x1", tick(), map[string]string{"maintainer": "someone"})
	s.msgs <- msg("start", "x2", tick(), map[string]string{labelEnv: "other", labelSvc: "web"})
	s.msgs <- msg("die", "p1", tick(), map[string]string{"com.docker.compose.project": "lab", "com.docker.compose.service": "postgres", "exitCode": "1"})
	task := with(map[string]string{labelEnv: "lab", labelSvc: "api"}, labelTask, "t1")
	s.msgs <- msg("start", "s1", tick(), task)
	s.msgs <- msg("die", "s1", tick(), with(task, "exitCode", "2"))
	s.msgs <- msg("start", "s2", tick(), with(task, labelTask, "t2"))
	s.msgs <- msg("health_status: unhealthy", "s2", tick(), with(task, labelTask, "t2"))
	s.msgs <- msg("kill", "s2", tick(), with(task, labelTask, "t2", "signal", "9"))
	waitKinds(t, p, "exited started exited started unhealthy killed")
	evs, _ := ReadEvents(p, nil, time.Time{})
	for i, want := range []string{
		"db: exited (exit code 1) [container p1]",
		"api: started (task t1, container s1)",
		"api: exited (exit code 2): task t1 failed [task t1, container s1]",
		"api: started (task t2, container s2): replaces failed task t1",
		"api: unhealthy: docker's health check [task t2, container s2]",
		"api: killed by signal KILL [task t2, container s2]",
	} {
		if got := evs[i].Text(); !strings.HasSuffix(got, want) {
			t.Errorf("event %d: %q, want ...%q", i, got, want)
		}
	}
	if evs[0].Runner != "compose" || evs[1].Runner != "swarm" {
		t.Errorf("runners %q %q", evs[0].Runner, evs[1].Runner)
	}
	if !e.busy() {
		t.Error("a running task container does not keep the supervisor")
	}
}

// A stop berth made is not an exit: the deaths of the service's
// containers inside its window are left to the stop's own record.
func TestEngineStopMarks(t *testing.T) {
	d := newFakeDaemon()
	idle := make(chan struct{}, 1)
	_, p, stop := watchFor(t, d, func() { idle <- struct{}{} })
	defer stop()
	s := d.next(t)
	at := time.Now().Add(time.Second)
	s.msgs <- msg("start", "c1", at, webLabels)
	waitKinds(t, p, "started")
	k := &EngineHooks{Paths: p, Reason: "by user", Record: true}
	svc := testService("web")
	if err := k.stop(svc, handleOf("c1"), "by user", func() error {
		s.msgs <- msg("kill", "c1", at.Add(time.Millisecond), with(webLabels, "signal", "15"))
		s.msgs <- msg("die", "c1", at.Add(2*time.Millisecond), with(webLabels, "exitCode", "143"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-idle:
	case <-time.After(10 * time.Second):
		t.Fatal("the last container's stop did not make the supervisor idle")
	}
	waitKinds(t, p, "started stopped")
	// A stop that failed leaves no mark: a later death is a crash.
	k.stop(svc, handleOf("c1"), "by user", func() error { return errors.New("timeout") })
	if ms := readMarks(p, "web"); len(ms) != 1 || ms[0].To.IsZero() {
		t.Errorf("marks after a stop and a failed stop: %+v, want the first alone", ms)
	}
}

func testService(name string) *runtime.Service {
	return &runtime.Service{Name: name, Runner: "container"}
}

func handleOf(id string) runtime.Handle { return runtime.Handle{ID: id, Runner: "container"} }

// A die read after Docker already started the container again (the
// supervisor was busy, or read it in a backfill) still says that Docker
// restarts it: the container runs, started after the exit, under a restart
// policy. CI once saw the bare "exited (exit code 3)" here.
func TestEngineExitReadAfterDockersRestart(t *testing.T) {
	d := newFakeDaemon()
	at := time.Now().Add(time.Second)
	d.fake.ContainerInspectFunc = func(_ context.Context, id string) (container.InspectResponse, error) {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id,
			State:      &container.State{Running: true, StartedAt: at.Add(time.Second).Format(time.RFC3339Nano)},
			HostConfig: &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "on-failure"}}}}, nil
	}
	_, p, stop := watchFor(t, d)
	defer stop()
	s := d.next(t)
	s.msgs <- msg("start", "c1", at, webLabels)
	s.msgs <- msg("die", "c1", at.Add(time.Millisecond), with(webLabels, "exitCode", "3"))
	waitKinds(t, p, "started exited")
	evs, _ := ReadEvents(p, nil, time.Time{})
	if got := evs[1].Text(); !strings.Contains(got, "exited (exit code 3): docker restarts it (policy on-failure)") {
		t.Errorf("exit read late: %q", got)
	}
}

// A supervisor that has lost the daemon keeps retrying while its
// environment exists (a daemon restart: its containers may come back), but
// once the environment's directory is removed it exits: nothing it watched
// there can be learnt or recorded any more, and no command reaches it.
// Before, it retried forever (seen with a benchmark's supervisor whose
// daemon socket and environment were both gone).
func TestEngineLostWithTheEnvironmentRemoved(t *testing.T) {
	d := newFakeDaemon()
	removed := make(chan struct{})
	e, p, stop := watchFor(t, d)
	defer stop()
	e.removed = func() { close(removed) }
	s := d.next(t)
	s.msgs <- msg("start", "c1", time.Now().Add(time.Second), webLabels)
	waitKinds(t, p, "started")
	d.setDown(true)
	s.errs <- errors.New("unexpected EOF")
	waitKinds(t, p, "started engine-lost")
	select {
	case <-removed:
		t.Fatal("the watcher gave up while the environment exists")
	case <-time.After(500 * time.Millisecond):
	}
	if err := os.RemoveAll(p.Root); err != nil {
		t.Fatal(err)
	}
	select {
	case <-removed:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher still retries after the environment was removed")
	}
}

// The exit of the environment's last container is in the log before the
// watcher says it is idle: the supervisor exits at once then, and CI saw
// it go without the last exit of TestEngineEventsRestartByDocker (the
// exit was recorded after the container was forgotten).
func TestEngineLastExitRecordedBeforeIdle(t *testing.T) {
	d := newFakeDaemon()
	d.fake.ContainerInspectFunc = func(_ context.Context, id string) (container.InspectResponse, error) {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id,
			State: &container.State{}, HostConfig: &container.HostConfig{}}}, nil
	}
	atIdle := make(chan string, 1)
	var p Paths
	_, p, stop := watchFor(t, d, func() { atIdle <- kinds(t, p) })
	defer stop()
	s := d.next(t)
	at := time.Now().Add(time.Second)
	task := with(map[string]string{labelEnv: "lab", labelSvc: "api"}, labelTask, "t1")
	s.msgs <- msg("start", "c1", at, webLabels)
	s.msgs <- msg("start", "s1", at.Add(time.Millisecond), task)
	s.msgs <- msg("die", "s1", at.Add(2*time.Millisecond), with(task, "exitCode", "2"))
	s.msgs <- msg("die", "c1", at.Add(3*time.Millisecond), with(webLabels, "exitCode", "3"))
	select {
	case got := <-atIdle:
		if want := "started started exited exited"; got != want {
			t.Errorf("events when the watcher went idle: %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the last container's exit did not make the watcher idle")
	}
}
