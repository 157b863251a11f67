package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/runnertest/fakerunner"
)

// fakeEnv makes an environment from a manifest whose services all run on
// one fake runner: the lifecycle's ordering and locking, without processes.
func fakeEnv(t *testing.T, manifest string) (*runtime.Manager, *fakerunner.Runner) {
	t.Helper()
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, metadata.MetadataFile), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	fr := fakerunner.New()
	reg := runtime.NewRegistry()
	for _, kind := range []string{metadata.RunnerProcess, metadata.RunnerContainer} {
		reg.Register(kind, func() (runtime.Runner, error) { return fr, nil })
	}
	// The start check watches a fake launch only briefly: its exits are immediate.
	return &runtime.Manager{Env: env, Runners: reg, StartCheck: 10 * time.Millisecond}, fr
}

// fakeStatus is status as "name=state ..." in manifest order, checked
// against what the fake runner really runs.
func fakeStatus(t *testing.T, m *runtime.Manager, fr *fakerunner.Runner) string {
	t.Helper()
	states, err := m.Status(context.Background(), nil, runtime.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var parts, running []string
	for _, s := range states {
		parts = append(parts, s.Name+"="+s.State)
		if s.IsRunning() {
			running = append(running, s.Name)
		}
	}
	live := fr.Running()
	slices.Sort(live)
	slices.Sort(running)
	if !slices.Equal(live, running) {
		t.Fatalf("the runner runs %v, status says %v", live, parts)
	}
	return strings.Join(parts, " ")
}

func TestPlanStartDependencies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		args   []string
		noDeps bool
		launch string
		pulled string
		waits  string
	}{
		{"pulls stopped dependencies", []string{"web"}, false, "db api web", "db api", "api:db/healthy web:api/started"},
		{"no-deps starts only it", []string{"web"}, true, "web", "", ""},
		{"all", []string{"all"}, false, "db api web other", "", "api:db/healthy web:api/started"},
		{"a leaf needs nothing", []string{"other"}, false, "other", "", ""},
	}
	manifest := strings.NewReplacer("TESTSVC", "x", "ADDR1", "127.0.0.1:1", "ADDR2", "127.0.0.1:2").Replace(depsManifest)
	m, _ := fakeEnv(t, manifest)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := m.PlanStart(ctx, tc.args, runtime.StartRequest{NoDeps: tc.noDeps})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Abandon()
			var waits []string
			for _, s := range p.Launch {
				for _, d := range p.Waits[s.Name] {
					waits = append(waits, s.Name+":"+d.Service+"/"+d.Condition)
				}
			}
			if got := names(p.Launch); got != tc.launch {
				t.Errorf("launch %q, want %q", got, tc.launch)
			}
			if got := strings.Join(p.Pulled, " "); got != tc.pulled {
				t.Errorf("pulled %q, want %q", got, tc.pulled)
			}
			if got := strings.Join(waits, " "); got != tc.waits {
				t.Errorf("waits %q, want %q", got, tc.waits)
			}
		})
	}
}

func TestStartFailureStopsTheRun(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, `version: 1
services:
  ok: {command: [x]}
  bad: {command: [x], log: {to: file}}
  late: {command: [x]}
`)
	fr.Exits = map[string]runtime.Exit{"bad": {Code: 3}, "late": {Signal: 15}}
	fr.Output = map[string][]string{"bad": {"config missing"}}
	_, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{})
	var sf *runtime.StartFailedError
	if !errors.As(err, &sf) {
		t.Fatalf("start: %v; want StartFailedError", err)
	}
	for _, want := range []string{"failed to start 'bad': bad exited with code 3", "config missing", "late was killed by signal TERM"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := fakeStatus(t, m, fr); got != "ok=running bad=stopped late=stopped" {
		t.Fatalf("status %s", got)
	}
	// A second failing run shows its own line, not the first run's.
	fr.Output["bad"] = []string{"second run"}
	_, err = m.Start(ctx, []string{"bad"}, runtime.StartRequest{})
	if err == nil || !strings.Contains(err.Error(), "second run") || strings.Contains(err.Error(), "config missing") {
		t.Fatalf("second failed start: %v; want only its own lines", err)
	}
}

// A status of many services whose runner inspects locally inspects them
// in parts, on two goroutines: each gets its own state, in manifest
// order, as the services stopped by a plan that prefetched them in parts.
func TestStatusAndStopOfManyLocalServices(t *testing.T) {
	ctx := context.Background()
	var manifest strings.Builder
	manifest.WriteString("version: 1\nservices:\n")
	var want, stopped []string
	for i := range 70 {
		fmt.Fprintf(&manifest, "  s%02d: {command: [x]}\n", i)
		state := "running"
		if i%3 == 0 {
			state = "stopped"
		}
		want = append(want, fmt.Sprintf("s%02d=%s", i, state))
		stopped = append(stopped, fmt.Sprintf("s%02d=stopped", i))
	}
	m, fr := fakeEnv(t, manifest.String())
	fr.LocalInspect = true
	var names []string
	for i := range 70 {
		if i%3 != 0 {
			names = append(names, fmt.Sprintf("s%02d", i))
		}
	}
	if _, err := m.Start(ctx, names, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := fakeStatus(t, m, fr); got != strings.Join(want, " ") {
		t.Fatalf("status:\n%s\nwant\n%s", got, strings.Join(want, " "))
	}
	res, err := m.Stop(ctx, []string{"all"}, runtime.StopRequest{Grace: time.Second})
	if err != nil || len(res) != 70 {
		t.Fatalf("stop all: %d results, %v", len(res), err)
	}
	for _, r := range res {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.Name, "s"))
		if r.WasRunning != (n%3 != 0) {
			t.Errorf("stop of %s: was running %v", r.Name, r.WasRunning)
		}
	}
	if got := fakeStatus(t, m, fr); got != strings.Join(stopped, " ") {
		t.Fatalf("status after stop all: %s", got)
	}
}

func TestStartStopRestartRules(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, "version: 1\nstart_order: [b, a]\nservices:\n  a: {command: [x]}\n  b: {command: [x]}\n  c: {command: [x]}\n")
	fr.Stubborn = map[string]bool{"c": true}
	states, err := m.Start(ctx, []string{"a", "b"}, runtime.StartRequest{Parallel: 1})
	if err != nil || len(states) != 2 || states[0].Name != "b" || states[1].Name != "a" {
		t.Fatalf("started %+v, %v; want b then a", states, err)
	}
	var are *runtime.AlreadyRunningError
	if _, err := m.Start(ctx, []string{"c", "a"}, runtime.StartRequest{}); !errors.As(err, &are) || are.Service != "a" || are.PID != states[1].PID {
		t.Fatalf("start of a running service: %v", err)
	}
	if got := fakeStatus(t, m, fr); got != "a=running b=running c=stopped" {
		t.Fatalf("a refused start launched something: %s", got)
	}
	var notes strings.Builder
	m.Progress = &notes
	if states, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{}); err != nil || len(states) != 1 || states[0].Name != "c" || !strings.Contains(notes.String(), "a is already running") {
		t.Fatalf("start all: %+v, %v, notes %q", states, err, notes.String())
	}
	// c outlives TERM: restart all stops what it can and starts nothing.
	_, started, err := m.Restart(ctx, []string{"all"}, runtime.StopRequest{Grace: 20 * time.Millisecond})
	if err == nil || started != nil || !strings.Contains(err.Error(), "failed to stop 'c'") || !strings.Contains(err.Error(), "nothing was started again") {
		t.Fatalf("restart all with a stuck service: started %v, %v", started, err)
	}
	if got := fakeStatus(t, m, fr); got != "a=stopped b=stopped c=running" {
		t.Fatalf("after failed restart: %s", got)
	}
	res, err := m.Stop(ctx, []string{"all"}, runtime.StopRequest{Grace: 20 * time.Millisecond, Force: true})
	if err != nil || len(res) != 3 || res[0].Name != "c" || !res[0].WasRunning || res[1].WasRunning {
		t.Fatalf("stop --force: %+v, %v", res, err)
	}
	// restart of a stopped service starts it.
	if _, started, err := m.Restart(ctx, []string{"a"}, runtime.StopRequest{}); err != nil || len(started) != 1 {
		t.Fatalf("restart a: %v %v", started, err)
	}
	if got := fakeStatus(t, m, fr); got != "a=running b=stopped c=stopped" {
		t.Fatalf("after restart of a stopped service: %s", got)
	}
}

func TestConcurrentStartsLaunchOne(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, "version: 1\nservices:\n  x: {command: [x]}\n")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each its own manager, as separate berth processes would be.
			mm := *m
			_, errs[i] = mm.Start(ctx, []string{"x"}, runtime.StartRequest{})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var busy *runtime.BusyError
		var running *runtime.AlreadyRunningError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &busy), errors.As(err, &running):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if n := strings.Count(strings.Join(fr.Events(), ","), "start x"); ok != 1 || n != 1 {
		t.Fatalf("%d starts succeeded and %d launched, want 1", ok, n)
	}
	if got := fakeStatus(t, m, fr); got != "x=running" {
		t.Fatalf("status %s", got)
	}
}

// One runner that does not answer (a Docker daemon away) leaves the others
// reported and started; its services are unknown, and the error names them.
func TestDaemonAwayIsPartial(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, "version: 1\nservices:\n  proc: {command: [x]}\n  web: {runner: container, container: {image: web}}\n")
	fr.Away = map[string]error{"web": errors.New("cannot reach the Docker daemon")}
	if _, err := m.Start(ctx, []string{"proc"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	states, err := m.Status(ctx, nil, runtime.StatusRequest{})
	if err == nil || !strings.Contains(err.Error(), "inspect web: cannot reach the Docker daemon") {
		t.Fatalf("status error %v; want it to name web", err)
	}
	if len(states) != 2 || states[0].State != runtime.Running || states[1].State != runtime.Unknown || !strings.Contains(states[1].Reason, "cannot reach") {
		t.Fatalf("states %+v", states)
	}
	if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{}); err == nil || !strings.Contains(err.Error(), "web") {
		t.Fatalf("start all with web's daemon away: %v", err)
	}
	if got := fmt.Sprint(fr.Running()); got != "[proc]" {
		t.Fatalf("running %s", got)
	}
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, `version: 1
services:
  coredns: {command: [x], conflicts: [dnsmasq]}
  dnsmasq: {command: [x]}
  free: {command: [x]}
`)
	if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{}); err == nil || !strings.Contains(err.Error(), "cannot start coredns and dnsmasq together") {
		t.Fatalf("start all: %v", err)
	}
	if got := fakeStatus(t, m, fr); got != "coredns=stopped dnsmasq=stopped free=stopped" {
		t.Fatalf("a refused start launched something: %s", got)
	}
	states, err := m.Start(ctx, []string{"dnsmasq"}, runtime.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ce *runtime.ConflictError
	_, err = m.Start(ctx, []string{"coredns", "free"}, runtime.StartRequest{})
	if !errors.As(err, &ce) || ce.With != "dnsmasq" || !strings.Contains(err.Error(), "cannot start coredns: it conflicts with dnsmasq, which is running (PID ") || ce.PID != states[0].PID {
		t.Fatalf("err = %v", err)
	}
	m.Stop(ctx, []string{"dnsmasq"}, runtime.StopRequest{})
	m.Start(ctx, []string{"coredns"}, runtime.StartRequest{})
	// The other direction: dnsmasq names nothing, coredns names it.
	if _, err := m.Start(ctx, []string{"dnsmasq"}, runtime.StartRequest{}); !errors.As(err, &ce) || ce.With != "coredns" {
		t.Fatalf("err = %v", err)
	}
	if got := fakeStatus(t, m, fr); got != "coredns=running dnsmasq=stopped free=stopped" {
		t.Fatalf("status %s", got)
	}
	// While another berth is starting dnsmasq (it holds dnsmasq's start
	// lock), coredns does not start: neither could see the other running.
	m.Stop(ctx, []string{"coredns"}, runtime.StopRequest{})
	l, err := metadata.TryLock(m.Env.Path("pids", "dnsmasq.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var busy *runtime.BusyError
	if _, err := m.Start(ctx, []string{"coredns"}, runtime.StartRequest{}); !errors.As(err, &busy) || !strings.Contains(err.Error(), "coredns conflicts with dnsmasq: dnsmasq is being started by another berth process") {
		t.Fatalf("start during a conflicting start: %v", err)
	}
	l.Unlock()
	if _, err := m.Start(ctx, []string{"coredns"}, runtime.StartRequest{}); err != nil {
		t.Fatalf("start once the other start is over: %v", err)
	}
}

func TestStopDependents(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, `version: 1
services:
  db: {command: [x]}
  api: {command: [x], depends_on: [db]}
  web: {command: [x], depends_on: [api]}
  batch: {command: [x], depends_on: [db]}
`)
	if _, err := m.Start(ctx, []string{"web", "db"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		req     runtime.StopRequest
		err     string
		stopped string
		status  string
	}{
		{"refused", []string{"db"}, runtime.StopRequest{}, "cannot stop db: running services depend on it: web, api (use --with-dependents", "", "db=running api=running web=running batch=stopped"},
		{"dependents named too", []string{"api", "web"}, runtime.StopRequest{}, "", "web api", "db=running api=stopped web=stopped batch=stopped"},
		{"ignore dependents", []string{"db"}, runtime.StopRequest{IgnoreDependents: true}, "", "db", "db=stopped api=running web=running batch=running"},
		{"with dependents", []string{"db"}, runtime.StopRequest{WithDependents: true}, "", "batch web api db", "db=stopped api=stopped web=stopped batch=stopped"},
		{"all needs neither", []string{"all"}, runtime.StopRequest{}, "", "batch web api db", "db=stopped api=stopped web=stopped batch=stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{}); err != nil {
				t.Fatal(err)
			}
			if tc.name == "refused" || tc.name == "dependents named too" {
				m.Stop(ctx, []string{"batch"}, runtime.StopRequest{})
			}
			res, err := m.Stop(ctx, tc.args, tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var stopped []string
			for _, r := range res {
				if r.WasRunning {
					stopped = append(stopped, r.Name)
				}
			}
			if got := strings.Join(stopped, " "); got != tc.stopped {
				t.Errorf("stopped %q in this order, want %q", got, tc.stopped)
			}
			if got := fakeStatus(t, m, fr); got != tc.status {
				t.Errorf("status %s, want %s", got, tc.status)
			}
		})
	}
	// restart --with-dependents starts the dependents again.
	m.Start(ctx, []string{"web"}, runtime.StartRequest{})
	_, started, err := m.Restart(ctx, []string{"api"}, runtime.StopRequest{WithDependents: true})
	if err != nil || len(started) != 2 {
		t.Fatalf("restart api --with-dependents: %+v %v", started, err)
	}
	if got := fakeStatus(t, m, fr); got != "db=running api=running web=running batch=stopped" {
		t.Fatalf("after restart: %s", got)
	}
}

// --foreground of a service whose dependency is stopped starts the
// dependency detached first, then runs the service itself attached.
func TestForegroundStartsDependenciesFirst(t *testing.T) {
	m, fr := fakeEnv(t, `version: 1
services:
  db: {command: [x]}
  app: {command: [x], depends_on: [db]}
`)
	fr.Exits = map[string]runtime.Exit{"app": {Code: 3}}
	exit, err := m.Foreground(context.Background(), "app", runtime.Stdio{}, runtime.StartRequest{})
	if err != nil || exit.ExitCode() != 3 {
		t.Fatalf("foreground app: %+v, %v; want its exit code 3", exit, err)
	}
	if got := strings.Join(fr.Events(), ", "); got != "start db, run app" {
		t.Errorf("events %q; want db started detached, then app run attached", got)
	}
	if got := fakeStatus(t, m, fr); got != "db=running app=stopped" {
		t.Fatalf("status %s", got)
	}
}

// A start in progress names its holder, read from its start lock whatever
// an earlier holder left there.
func TestStartLockNamesHolder(t *testing.T) {
	ctx := context.Background()
	m, _ := fakeEnv(t, "version: 1\nservices:\n  x: {command: [x]}\n")
	path := m.Env.Path("pids", "x.lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("a longer record of an earlier holder\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := m.PlanStart(ctx, []string{"x"}, runtime.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Abandon()
	mm := *m
	var busy *runtime.BusyError
	if _, err := mm.Start(ctx, []string{"x"}, runtime.StartRequest{}); !errors.As(err, &busy) || busy.Holder != os.Getpid() {
		t.Fatalf("start while another holds the lock: %v (holder %+v), want held by %d", err, busy, os.Getpid())
	}
}

// preparing is a fake runner that records PrepareStart among its events.
type preparing struct {
	*fakerunner.Runner
	mu     sync.Mutex
	events []string
}

func (p *preparing) PrepareStart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, fmt.Sprintf("prepare after %d starts", strings.Count(strings.Join(p.Runner.Events(), ","), "start ")))
}

// A runner that can get ready for launches (the supervisor's spawn) is
// told so while the start is planned, before any launch; a start that
// launches nothing does not tell it.
func TestStartPreparesRunner(t *testing.T) {
	ctx := context.Background()
	m, fr := fakeEnv(t, "version: 1\nservices:\n  x: {command: [x]}\n  y: {command: [y]}\n")
	pr := &preparing{Runner: fr}
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return pr, nil })
	m.Runners = reg
	if _, err := m.Start(ctx, []string{runtime.All}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(pr.events) == 0 || pr.events[0] != "prepare after 0 starts" {
		t.Errorf("prepare calls %q, want the first before any start", pr.events)
	}
	pr.events = nil
	if _, err := m.Start(ctx, []string{runtime.All}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(pr.events) != 0 {
		t.Errorf("a start of services that all run prepared the runner: %q", pr.events)
	}
}

// counting is a fake runner that counts Wait calls.
type counting struct {
	*fakerunner.Runner
	waits atomic.Int32
}

func (c *counting) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	c.waits.Add(1)
	return c.Runner.Wait(ctx, h)
}

// The readiness wait and the start check of a launch share one wait for
// its end: through a supervisor each is a request to it.
func TestStartWaitsOncePerLaunch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	m, fr := fakeEnv(t, fmt.Sprintf("version: 1\nservices:\n  x: {command: [x], health: {type: tcp, address: %q}}\n", ln.Addr().String()))
	m.StartCheck = time.Second
	cr := &counting{Runner: fr}
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return cr, nil })
	m.Runners = reg
	states, err := m.Start(context.Background(), []string{"x"}, runtime.StartRequest{})
	if err != nil || len(states) != 1 || states[0].Health != "healthy" {
		t.Fatalf("start: %v, %+v", err, states)
	}
	if n := cr.waits.Load(); n != 1 {
		t.Errorf("%d waits for the launch's end, want 1", n)
	}
}

// surveyingRunner is the fake runner with a survey, recording the order
// of the calls a status makes.
type surveyingRunner struct {
	*fakerunner.Runner
	mu    sync.Mutex
	calls []string
}

func (s *surveyingRunner) note(call string) {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}

func (s *surveyingRunner) Survey(ctx context.Context) context.Context {
	s.note("survey")
	return ctx
}

func (s *surveyingRunner) Prepare(_ context.Context, svc *runtime.Service) {
	s.note("prepare " + svc.Name)
}

func (s *surveyingRunner) Inspect(ctx context.Context, svc *runtime.Service) (runtime.State, error) {
	s.note("inspect " + svc.Name)
	return s.Runner.Inspect(ctx, svc)
}

// A status prepares every service of a surveying runner (for the
// supervisor: reads its PID file) before it inspects the first, whose
// inspection waits for the survey's answer: the answer comes while the
// files are read. Each service is prepared once, after the survey.
func TestStatusPreparesEveryServiceBeforeInspecting(t *testing.T) {
	var manifest strings.Builder
	manifest.WriteString("version: 1\nservices:\n")
	for i := range 40 {
		fmt.Fprintf(&manifest, "  s%02d: {command: [x]}\n", i)
	}
	m, fr := fakeEnv(t, manifest.String())
	fr.LocalInspect = true
	sr := &surveyingRunner{Runner: fr}
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return sr, nil })
	m.Runners = reg
	if _, err := m.Status(context.Background(), nil, runtime.StatusRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(sr.calls) != 81 || sr.calls[0] != "survey" {
		t.Fatalf("calls %v: want a survey, then 40 prepares and 40 inspections", sr.calls)
	}
	prepared := map[string]bool{}
	for _, c := range sr.calls[1:41] {
		name, ok := strings.CutPrefix(c, "prepare ")
		if !ok || prepared[name] {
			t.Fatalf("call %q among the first 40 after the survey: %v", c, sr.calls)
		}
		prepared[name] = true
	}
	for _, c := range sr.calls[41:] {
		if !strings.HasPrefix(c, "inspect ") {
			t.Fatalf("call %q after the prepares: %v", c, sr.calls)
		}
	}
}
