package runtime_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// freeAddr is a local address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// yamlEnv makes an environment from a manifest in which TESTSVC stands for
// the helper program and ADDR1, ADDR2, ... for free local addresses.
func yamlEnv(t *testing.T, manifest string) *runtime.Manager {
	t.Helper()
	root := t.TempDir()
	manifest = strings.ReplaceAll(manifest, "TESTSVC", testsvc)
	for i := 9; i >= 1; i-- {
		key := "ADDR" + string(rune('0'+i))
		if strings.Contains(manifest, key) {
			manifest = strings.ReplaceAll(manifest, key, freeAddr(t))
		}
	}
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	return processManager(t, root, 50*time.Millisecond)
}

func names(svcs []*runtime.Service) string {
	var out []string
	for _, s := range svcs {
		out = append(out, s.Name)
	}
	return strings.Join(out, " ")
}

const depsManifest = `version: 1
services:
  web:
    command: [TESTSVC]
    depends_on: [api]
  api:
    command: [TESTSVC, --tcp, ADDR2]
    depends_on: {db: {condition: healthy}}
  db:
    command: [TESTSVC, --tcp, ADDR1, --ready-after, 200ms]
    health: {type: tcp, address: ADDR1}
  other:
    command: [TESTSVC]
`

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
	m := yamlEnv(t, depsManifest)
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

// A dependent with condition healthy is launched only once its dependency
// is healthy; independent services do not wait; a running dependency is
// not started again.
func TestStartWaitsForHealthyDependency(t *testing.T) {
	ctx := context.Background()
	m := yamlEnv(t, depsManifest)
	start := time.Now()
	states, err := m.Start(ctx, []string{"web"}, runtime.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]runtime.State{}
	for _, st := range states {
		at[st.Name] = st
	}
	if len(states) != 3 || at["db"].Health != "healthy" || !strings.Contains(at["db"].HealthDetail, "open") {
		t.Fatalf("states %+v", states)
	}
	// db listens 200 ms after it starts; api must start after that.
	if gap := at["api"].StartedAt.Sub(*at["db"].StartedAt); gap < 200*time.Millisecond {
		t.Errorf("api started %v after db; it must wait for db to be healthy (200 ms)", gap)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("start took %v", took)
	}
	if got := statusLine(t, m); got != "web=running api=running db=running other=stopped" {
		t.Fatalf("status %s", got)
	}
	// Another dependent of running services: nothing but it is launched.
	m.Env.Manifest.Services["other"].DependsOn = metadata.DependsOn{{Service: "db", Condition: metadata.ConditionHealthy}}
	p, err := m.PlanStart(ctx, []string{"other"}, runtime.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if names(p.Launch) != "other" || len(p.Waits["other"]) != 0 || strings.Join(p.Confirm["other"], ",") != "db" {
		t.Errorf("plan with a running dependency: launch %q, waits %v, confirm %v", names(p.Launch), p.Waits, p.Confirm)
	}
	p.Abandon()
}

// A dependency that runs already but is not healthy keeps its dependent
// from launching.
func TestStartNeedsRunningDependencyHealthy(t *testing.T) {
	ctx := context.Background()
	m := yamlEnv(t, `version: 1
services:
  db:
    command: [TESTSVC, --tcp, ADDR1, --ready-after, 1h]
    health: {type: tcp, address: ADDR1}
    start_timeout: 300ms
  app:
    command: [TESTSVC]
    depends_on: {db: {condition: healthy}}
`)
	var nh *runtime.NotHealthyError
	if _, err := m.Start(ctx, []string{"db"}, runtime.StartRequest{}); !errors.As(err, &nh) {
		t.Fatalf("start db: %v; want it left running, not healthy", err)
	}
	_, err := m.Start(ctx, []string{"app"}, runtime.StartRequest{})
	if err == nil || !strings.Contains(err.Error(), "failed to start 'app': it needs db healthy") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("start app: %v", err)
	}
	if got := statusLine(t, m); got != "db=running app=stopped" {
		t.Fatalf("status %s", got)
	}
}

// Independent services become ready together; --parallel 1 is strictly
// one after another in start order.
func TestParallelStart(t *testing.T) {
	manifest := "version: 1\nservices:\n"
	for i := 1; i <= 4; i++ {
		n := string(rune('a' + i - 1))
		addr := "ADDR" + string(rune('0'+i))
		manifest += "  " + n + ":\n    command: [TESTSVC, --tcp, " + addr + ", --ready-after, 200ms]\n    health: {type: tcp, address: " + addr + "}\n"
	}
	tests := []struct {
		parallel int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, 10 * time.Second},
		{4, 200 * time.Millisecond, 700 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run("parallel "+string(rune('0'+tc.parallel)), func(t *testing.T) {
			m := yamlEnv(t, manifest)
			start := time.Now()
			states, err := m.Start(context.Background(), []string{"all"}, runtime.StartRequest{Parallel: tc.parallel})
			took := time.Since(start)
			if err != nil || len(states) != 4 {
				t.Fatalf("start: %v %v", states, err)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("start of 4 services ready after 200 ms took %v, want %v..%v", took, tc.min, tc.max)
			}
			if tc.parallel == 1 {
				for i := 1; i < len(states); i++ {
					if gap := states[i].StartedAt.Sub(*states[i-1].StartedAt); gap < 200*time.Millisecond {
						t.Errorf("%s started %v after %s; sequential start waits for readiness", states[i].Name, gap, states[i-1].Name)
					}
				}
			}
		})
	}
}

func TestStartNotHealthy(t *testing.T) {
	ctx := context.Background()
	m := yamlEnv(t, `version: 1
services:
  slow:
    command: [TESTSVC]
    health: {type: tcp, address: ADDR1}
    start_timeout: 300ms
  after:
    command: [TESTSVC]
    depends_on: [slow]
  gone:
    command: [TESTSVC, --exit, "4"]
    health: {type: tcp, address: ADDR2}
`)
	_, err := m.Start(ctx, []string{"after"}, runtime.StartRequest{Parallel: 1})
	var nh *runtime.NotHealthyError
	if !errors.As(err, &nh) || nh.Service != "slow" {
		t.Fatalf("err = %v, want NotHealthyError for slow", err)
	}
	for _, want := range []string{"slow did not become healthy within 3", "(last check: tcp ", "connection refused)", "slow was left running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := statusLine(t, m); got != "slow=running after=stopped gone=stopped" {
		t.Fatalf("status %s; slow is left running and after was not launched", got)
	}
	// A service that exits while being waited for fails at once with its exit status.
	start := time.Now()
	_, err = m.Start(ctx, []string{"gone"}, runtime.StartRequest{})
	var sf *runtime.StartFailedError
	if !errors.As(err, &sf) || !strings.Contains(err.Error(), "gone exited with code 4") || strings.Count(err.Error(), "gone") > 2 {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the wait went on %v after the process exited", took)
	}
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	m := yamlEnv(t, `version: 1
services:
  coredns: {command: [TESTSVC], conflicts: [dnsmasq]}
  dnsmasq: {command: [TESTSVC]}
  free: {command: [TESTSVC]}
`)
	if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{}); err == nil || !strings.Contains(err.Error(), "cannot start coredns and dnsmasq together") {
		t.Fatalf("start all: %v", err)
	}
	if got := statusLine(t, m); got != "coredns=stopped dnsmasq=stopped free=stopped" {
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
	if got := statusLine(t, m); got != "coredns=running dnsmasq=stopped free=stopped" {
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
	m := yamlEnv(t, `version: 1
services:
  db: {command: [TESTSVC]}
  api: {command: [TESTSVC], depends_on: [db]}
  web: {command: [TESTSVC], depends_on: [api]}
  batch: {command: [TESTSVC], depends_on: [db]}
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
			if got := statusLine(t, m); got != tc.status {
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
	if got := statusLine(t, m); got != "db=running api=running web=running batch=stopped" {
		t.Fatalf("after restart: %s", got)
	}
}

// --foreground of a service whose dependency is stopped starts the
// dependency detached first, then runs the service itself attached.
func TestForegroundStartsDependenciesFirst(t *testing.T) {
	m := yamlEnv(t, `version: 1
services:
  db:
    command: [TESTSVC, --tcp, ADDR1]
    health: {type: tcp, address: ADDR1}
  app:
    command: [TESTSVC, --print, hi, --exit, "3"]
    depends_on: {db: {condition: healthy}}
`)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		exit runtime.Exit
		err  error
	}
	done := make(chan result, 1)
	go func() {
		exit, err := m.Foreground(context.Background(), "app", runtime.Stdio{Stdout: out, Stderr: out}, runtime.StartRequest{})
		done <- result{exit, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || r.exit.ExitCode() != 3 {
			t.Fatalf("foreground app: %+v, %v; want its exit code 3", r.exit, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("foreground app did not end: was another service run attached?")
	}
	if b, _ := os.ReadFile(out.Name()); !strings.Contains(string(b), "hi") {
		t.Errorf("attached output %q lacks app's line", b)
	}
	if got := statusLine(t, m); got != "db=running app=stopped" {
		t.Fatalf("status %s", got)
	}
}
