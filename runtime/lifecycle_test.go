package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
	"github.com/berthdev/berth/runtime/runnertest"
)

var testsvc string

func TestMain(m *testing.M) {
	os.Exit(runnertest.WithTestsvc(&testsvc, m.Run))
}

const backendLike = `version: 1
start_order: [gateway, tranqu, mitigator, estimator, combiner, sse_engine, core]
services:
  core: {command: [x]}
  sse_engine: {command: [x]}
  mitigator: {command: [x]}
  estimator: {command: [x]}
  combiner: {command: [x]}
  tranqu: {command: [x]}
  gateway: {command: [x]}
`

func TestSelect(t *testing.T) {
	m, _ := metadata.ParseManifest("berth.yaml", []byte(backendLike))
	order := m.Graph().StartOrder()
	tests := []struct {
		args    []string
		want    string
		all     bool
		wantErr string
	}{
		{[]string{"all"}, strings.Join(order, " "), true, ""},
		{[]string{"core", "gateway"}, "gateway core", false, ""},
		{[]string{"nope"}, "", false, `unknown service "nope"`},
		{[]string{"all", "core"}, "", false, "cannot be combined"},
		{nil, "", false, "name a service"},
	}
	for _, tc := range tests {
		got, all, err := runtime.Select(m, tc.args, order)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Select(%v) error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want || all != tc.all {
			t.Errorf("Select(%v) = %v, %v, %v", tc.args, got, all, err)
		}
	}
}

// newEnv makes an environment whose services are testsvc with the given
// arguments, in the given order.
func newEnv(t *testing.T, extra string, services ...[2]string) *runtime.Manager {
	t.Helper()
	root := t.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\n" + extra + "services:\n")
	for _, s := range services {
		fmt.Fprintf(&b, "  %s:\n    command: [%q%s]\n    log: {to: file}\n", s[0], testsvc, s[1])
	}
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(b.String()), 0o644)
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("GREETING=hello from .env\nVIRTUAL_ENV=/venv\n"), 0o644)
	return processManager(t, root, 100*time.Millisecond)
}

// processManager opens the environment at root (its manifest written) with
// the process runner, and stops all it started when the test ends.
func processManager(t *testing.T, root string, startCheck time.Duration) *runtime.Manager {
	t.Helper()
	os.WriteFile(filepath.Join(root, metadata.MetadataFile), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return process.New(process.Options{}), nil })
	m := &runtime.Manager{Env: env, Runners: reg, StartCheck: startCheck}
	t.Cleanup(func() {
		m.Stop(context.Background(), []string{"all"}, runtime.StopRequest{Grace: time.Second, Force: true})
	})
	return m
}

// psRunning lists, by ps, the testsvc processes whose cwd is the env root:
// an independent check that status tells the truth.
func psCount(t *testing.T, m *runtime.Manager) int {
	out, _ := exec.Command("ps", "-eo", "pid=,stat=,args=").Output()
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(f[1], "Z") || f[2] != testsvc {
			continue
		}
		if wd, err := os.Readlink("/proc/" + f[0] + "/cwd"); err == nil && wd == m.Env.Root {
			n++
		}
	}
	return n
}

func statusLine(t *testing.T, m *runtime.Manager) string {
	states, err := m.Status(context.Background(), nil, runtime.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	running := 0
	for _, s := range states {
		parts = append(parts, s.Name+"="+s.State)
		if s.IsRunning() {
			running++
		}
	}
	if ps := psCount(t, m); ps != running {
		t.Fatalf("ps shows %d service processes, status %d running: %v", ps, running, parts)
	}
	return strings.Join(parts, " ")
}

func TestStartStopRestart(t *testing.T) {
	ctx := context.Background()
	m := newEnv(t, "start_order: [b, a]\n", [2]string{"a", ""}, [2]string{"b", ""}, [2]string{"c", `, --ignore-term`})

	states, err := m.Start(ctx, []string{"a", "b"}, runtime.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[0].Name != "b" || states[1].Name != "a" || states[0].PID == 0 {
		t.Fatalf("started %+v; want b then a", states)
	}
	if got := statusLine(t, m); got != "a=running b=running c=stopped" {
		t.Fatalf("status %s", got)
	}
	_, err = m.Start(ctx, []string{"c", "a"}, runtime.StartRequest{})
	var are *runtime.AlreadyRunningError
	if !errors.As(err, &are) || are.Service != "a" || !strings.Contains(err.Error(), fmt.Sprintf("a is already running (PID %d)", states[1].PID)) {
		t.Fatalf("start of a running service: %v", err)
	}
	if got := statusLine(t, m); got != "a=running b=running c=stopped" {
		t.Fatalf("a refused start launched something: %s", got)
	}
	var notes strings.Builder
	m.Progress = &notes
	states, err = m.Start(ctx, []string{"all"}, runtime.StartRequest{})
	if err != nil || len(states) != 1 || states[0].Name != "c" || !strings.Contains(notes.String(), "a is already running") {
		t.Fatalf("start all: %+v, %v, notes %q", states, err, notes.String())
	}
	if got := statusLine(t, m); got != "a=running b=running c=running" {
		t.Fatalf("status %s", got)
	}

	// c ignores TERM: restart all stops what it can and starts nothing.
	_, started, err := m.Restart(ctx, []string{"all"}, runtime.StopRequest{Grace: 200 * time.Millisecond})
	if err == nil || started != nil || !strings.Contains(err.Error(), "failed to stop 'c': the process did not exit within 200ms after TERM") {
		t.Fatalf("restart all with a stuck service: started %v, %v", started, err)
	}
	if got := statusLine(t, m); got != "a=stopped b=stopped c=running" {
		t.Fatalf("after failed restart: %s", got)
	}
	res, err := m.Stop(ctx, []string{"all"}, runtime.StopRequest{Grace: 200 * time.Millisecond, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Name != "c" || !res[0].WasRunning || res[1].WasRunning {
		t.Fatalf("stop results %+v", res)
	}
	if got := statusLine(t, m); got != "a=stopped b=stopped c=stopped" {
		t.Fatalf("after force stop: %s", got)
	}
	// restart of a stopped service starts it.
	if _, started, err := m.Restart(ctx, []string{"a"}, runtime.StopRequest{}); err != nil || len(started) != 1 {
		t.Fatalf("restart a: %v %v", started, err)
	}
}

func TestEnvironmentAndDir(t *testing.T) {
	ctx := context.Background()
	m := newEnv(t, "", [2]string{"e", `, --print-env, GREETING, --print-env, VIRTUAL_ENV, --print-env, OWN, --exit, "0"`})
	m.Env.Manifest.Services["e"].Env = map[string]string{"OWN": "${ENV_NAME}-x"}
	m.Env.Manifest.Services["e"].UnsetEnv = []string{"VIRTUAL_ENV"}
	m.Env.Manifest.Services["e"].Dir = "sub"
	os.MkdirAll(m.Env.Path("sub"), 0o755)
	m.StartCheck = -1
	if _, err := m.Start(ctx, []string{"e"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("GREETING=hello from .env\nVIRTUAL_ENV unset\nOWN=%s-x\ncwd=%s\n", filepath.Base(m.Env.Root), m.Env.Path("sub"))
	testkit.Eventually(t, 5*time.Second, func() error {
		if b, _ := os.ReadFile(m.Env.Path("logs", "e", "service.log")); string(b) != want {
			return fmt.Errorf("log %q, want %q", b, want)
		}
		return nil
	})
}
