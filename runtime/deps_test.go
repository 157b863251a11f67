package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
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

// launchWait bounds the waits of the parallel start tests for something
// that takes milliseconds on an idle machine: generous, because the test
// machine may be loaded, and never a measure of speed (benchmarks are).
const launchWait = 20 * time.Second

// A sequential start (parallel 1) launches a service only once the one
// before it is ready.
func TestSequentialStart(t *testing.T) {
	manifest := "version: 1\nservices:\n"
	for i := 1; i <= 4; i++ {
		n := string(rune('a' + i - 1))
		addr := "ADDR" + string(rune('0'+i))
		manifest += "  " + n + ":\n    command: [TESTSVC, --tcp, " + addr + ", --ready-after, 200ms]\n    health: {type: tcp, address: " + addr + "}\n"
	}
	m := yamlEnv(t, manifest)
	states, err := m.Start(context.Background(), []string{"all"}, runtime.StartRequest{Parallel: 1})
	if err != nil || len(states) != 4 {
		t.Fatalf("start: %v %v", states, err)
	}
	for i := 1; i < len(states); i++ {
		if gap := states[i].StartedAt.Sub(*states[i-1].StartedAt); gap < 200*time.Millisecond {
			t.Errorf("%s started %v after %s; sequential start waits for readiness", states[i].Name, gap, states[i-1].Name)
		}
	}
}

// With parallel 4 the launches do not wait for each other's readiness: all
// four services are launched while none of them is ready. Their health
// check is a file the test writes only once it has seen all four running,
// so a start that waited for one service's readiness before launching the
// next never gets there.
func TestParallelStart(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	manifest := "version: 1\nservices:\n"
	for i := 1; i <= 4; i++ {
		manifest += "  " + string(rune('a'+i-1)) + ":\n    command: [TESTSVC]\n" +
			"    health: {type: file, path: " + ready + ", interval: 50ms}\n    start_timeout: 60s\n"
	}
	m := yamlEnv(t, manifest)
	type result struct {
		states []runtime.State
		err    error
	}
	done := make(chan result, 1)
	go func() {
		states, err := m.Start(context.Background(), []string{"all"}, runtime.StartRequest{Parallel: 4})
		done <- result{states, err}
	}()
	err := testkit.Poll(launchWait, func() error {
		if n := psCount(t, m); n != 4 {
			return fmt.Errorf("%d of 4 services launched", n)
		}
		return nil
	})
	select {
	case r := <-done:
		t.Fatalf("start returned before any service was ready: %v %v", r.states, r.err)
	default:
	}
	if err != nil {
		t.Fatalf("with parallel 4, while none was ready: %v; the launches do not overlap", err)
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.states) != 4 {
			t.Fatalf("start: %v %v", r.states, r.err)
		}
	case <-time.After(launchWait):
		t.Fatalf("start did not return within %v of all four services becoming ready", launchWait)
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
