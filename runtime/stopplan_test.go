package runtime_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// countingRunner is the process runner, counting its inspections.
type countingRunner struct {
	*process.Runner
	inspects atomic.Int64
}

func (c *countingRunner) Inspect(ctx context.Context, svc *runtime.Service) (runtime.State, error) {
	c.inspects.Add(1)
	return c.Runner.Inspect(ctx, svc)
}

// countingEnv is an environment of n testsvc services on a countingRunner.
func countingEnv(t testing.TB, n int) (*runtime.Manager, *countingRunner) {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\nservices:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%d:\n    command: [%q]\n", i, testsvc)
	}
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(root, metadata.MetadataFile), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingRunner{Runner: process.New(process.Options{})}
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return cr, nil })
	m := &runtime.Manager{Env: env, Runners: reg, StartCheck: 50 * time.Millisecond}
	t.Cleanup(func() {
		m.Stop(context.Background(), []string{"all"}, runtime.StopRequest{Grace: time.Second, Force: true})
	})
	return m, cr
}

// A stop acts on the state its plan inspected when the service's record is
// unchanged since: each running service is inspected once, not twice.
func TestStopInspectsEachServiceOnce(t *testing.T) {
	ctx := context.Background()
	m, cr := countingEnv(t, 3)
	if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	cr.inspects.Store(0)
	res, err := m.Stop(ctx, []string{"all"}, runtime.StopRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.WasRunning || r.PID == 0 {
			t.Errorf("stop result %+v, want a running service stopped", r)
		}
	}
	if n := cr.inspects.Load(); n != 3 {
		t.Errorf("a stop of 3 running services inspected %d times, want 3", n)
	}
	if got := statusLine(t, m); got != "s0=stopped s1=stopped s2=stopped" {
		t.Fatalf("after the stop: %s", got)
	}
}

// A service launched again between the stop's plan and its execution has a
// new record: the stop inspects it afresh and stops the new launch, not
// the one planned.
func TestStopOfALaunchNewerThanItsPlan(t *testing.T) {
	ctx := context.Background()
	m, cr := countingEnv(t, 1)
	if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	p, err := m.PlanStop(ctx, []string{"s0"}, runtime.StopRequest{})
	if err != nil {
		t.Fatal(err)
	}
	old := p.Running["s0"]
	svc, _, err := m.BaseService("s0")
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.Stop(ctx, svc, *old.Handle, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	states, err := m.Start(ctx, []string{"s0"}, runtime.StartRequest{})
	if err != nil || len(states) != 1 || states[0].PID == old.PID {
		t.Fatalf("second launch: %+v, %v", states, err)
	}
	res, err := m.ExecuteStop(ctx, p)
	if err != nil || len(res) != 1 || res[0].PID != states[0].PID {
		t.Fatalf("stop: %+v, %v; want PID %d stopped", res, err, states[0].PID)
	}
	if syscall.Kill(states[0].PID, 0) == nil {
		t.Fatalf("the second launch (PID %d) survived the stop planned before it", states[0].PID)
	}
	if got := statusLine(t, m); got != "s0=stopped" {
		t.Fatalf("after the stop: %s", got)
	}
}

// The plan of a stop of many process services inspects them in parts side
// by side, each service once, with the same result as one after another.
func TestStopPlanInspectsInParts(t *testing.T) {
	ctx := context.Background()
	m, cr := countingEnv(t, 40)
	if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{Parallel: 8}); err != nil {
		t.Fatal(err)
	}
	cr.inspects.Store(0)
	p, err := m.PlanStop(ctx, []string{"all"}, runtime.StopRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := cr.inspects.Load(); n != 40 || len(p.Running) != 40 {
		t.Fatalf("the plan inspected %d times and found %d running, want 40 and 40", n, len(p.Running))
	}
	for n, st := range p.Running {
		if st.Name != n || st.Handle == nil || st.PID == 0 {
			t.Errorf("planned state of %s: %+v", n, st)
		}
	}
	if _, err := m.ExecuteStop(ctx, p); err != nil {
		t.Fatal(err)
	}
	if n := cr.inspects.Load(); n != 40 {
		t.Errorf("plan and stop inspected %d times, want 40", n)
	}
}
