package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// hookEnv is an environment with one testsvc service "app" and the given
// hooks block (indented under the service).
func hookEnv(t *testing.T, hooks string) *runtime.Manager {
	t.Helper()
	root := t.TempDir()
	manifest := fmt.Sprintf("version: 1\nservices:\n  app:\n    command: [%q, --tcp, \"127.0.0.1:0\"]\n    log: {to: file}\n    hooks:\n%s", testsvc, hooks)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(manifest), 0o644)
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("GREETING=hello\nVIRTUAL_ENV=/venv\n"), 0o644)
	return processManager(t, root, 50*time.Millisecond)
}

func TestPostStartRetriesThenSucceeds(t *testing.T) {
	m := hookEnv(t, `      post_start:
        - name: flaky
          run: [sh, -c, 'n=$$(cat count 2>/dev/null || echo 0); n=$$((n+1)); echo $$n > count; echo "try $$n $$GREETING $${VIRTUAL_ENV-unset} $$EXTRA"; [ $$n -ge 3 ]']
          dir: data
          env: {EXTRA: "${GREETING}!"}
          unset_env: [VIRTUAL_ENV]
          retries: 3
          delay: 20ms
        - name: absent
          run: ["false"]
          if_exists: data/nope
`)
	os.MkdirAll(m.Env.Path("data"), 0o755)
	var progress bytes.Buffer
	m.Progress = &progress
	if _, err := m.Start(context.Background(), []string{"app"}, runtime.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(m.Env.Path("logs", "app", "service.log"))
	for _, w := range []string{"post_start flaky: try 1/4", "try 2 hello unset hello!", "post_start flaky: try 3/4", "post_start flaky: done", "post_start absent: skipped (data/nope does not exist)"} {
		if !strings.Contains(string(log), w) {
			t.Errorf("service log lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(string(log), "try 4/4") {
		t.Errorf("a fourth try after success:\n%s", log)
	}
	if want := "app: flaky failed; retrying (2/3) in 20ms..."; !strings.Contains(progress.String(), want) {
		t.Errorf("progress lacks %q:\n%s", want, progress.String())
	}
}

func TestPostStartFailureFailsTheStart(t *testing.T) {
	m := hookEnv(t, `      post_start:
        - name: slow
          run: [sh, -c, 'echo starting; echo "line two" >&2; sleep 10']
          timeout: 150ms
          retries: 1
          delay: 10ms
`)
	began := time.Now()
	_, err := m.Start(context.Background(), []string{"app"}, runtime.StartRequest{})
	var se *runtime.StepError
	if !errors.As(err, &se) {
		t.Fatalf("start: %v", err)
	}
	if se.Tries != 2 || se.Hook != "post_start" || !strings.Contains(err.Error(), "timed out after 150ms") ||
		!strings.Contains(err.Error(), "line two") || !strings.Contains(err.Error(), "failed to start 'app'") {
		t.Errorf("error: %v", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("the timed-out tries were not cut short: %v", d)
	}
	// The service itself was left running, as for a failed health wait.
	if line := statusLine(t, m); line != "app=running" {
		t.Errorf("status %s", line)
	}
}

func TestPreStopRunsWhileTheServiceRuns(t *testing.T) {
	m := hookEnv(t, `      pre_stop:
        - run: [sh, -c, 'for p in pids/*; do echo "$$(basename $$p)" >> stopped-while-running; done']
      post_start:
        - tcp: "127.0.0.1:1"
          timeout: 100ms
`)
	_, err := m.Start(context.Background(), []string{"app"}, runtime.StartRequest{})
	if err == nil || !strings.Contains(err.Error(), `post_start step "wait for 127.0.0.1:1" of app failed after 1 try`) {
		t.Fatalf("tcp step to a closed port: %v", err)
	}
	if _, err := m.Stop(context.Background(), []string{"app"}, runtime.StopRequest{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(m.Env.Path("stopped-while-running"))
	if err != nil || !strings.Contains(string(data), "app") {
		t.Errorf("pre_stop did not run before the stop: %q %v", data, err)
	}
	if line := statusLine(t, m); line != "app=stopped" {
		t.Errorf("status %s", line)
	}
}
