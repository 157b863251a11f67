package main

import (
	"strings"
	"testing"
)

func TestProfilesAndAutoStart(t *testing.T) {
	root := yamlEnvCLI(t, `version: 1
services:
  db:
    command: [TESTSVC]
    profiles: [debug]
  web:
    command: [TESTSVC]
    conflicts: [web-debug]
  web-debug:
    command: [TESTSVC]
    depends_on: [db]
    profiles: [debug]
    conflicts: [web]
  tool:
    command: [TESTSVC]
    auto_start: false
`)
	// A conflicting pair no longer stops start all: the profile's side
	// is left alone, and so are auto_start: false and profile services.
	if out, code := berthEnv(t, root, "start", "all"); code != 0 {
		t.Fatalf("start all with a conflicting pair: %d %s", code, out)
	}
	if out := checkAgree(t, root); out != "db: Stopped\nweb: Running (PID "+pidOf(t, out, "web")+")\nweb-debug: Stopped\ntool: Stopped\n" {
		t.Fatalf("after start all:\n%s", out)
	}
	// By name, any service starts.
	if out, code := berthEnv(t, root, "start", "tool"); code != 0 {
		t.Fatalf("start tool: %d %s", code, out)
	}
	berthEnv(t, root, "down")
	// --profile debug adds the profile's services to all; web, in no
	// profile, still starts, so the pair conflicts: said, nothing starts.
	out, code := berthEnv(t, root, "up", "--profile", "debug")
	if code != 1 || !strings.Contains(out, "conflict") {
		t.Fatalf("up --profile debug with web: %d %s", code, out)
	}
	if got, _ := completions(t, root, "up", "--profile", ""); len(got) != 1 || got[0] != "debug" {
		t.Errorf("--profile completes to %q", got)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"up", "--profile", "debg"}, 1, `no service has profile "debg": did you mean "debug"?`},
		{[]string{"start", "web", "--profile", "debug"}, 2, "--profile selects services for all"},
	} {
		if out, code := berthEnv(t, root, tt.args...); code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("%v: %d %s", tt.args, code, out)
		}
	}
}

func TestProfileStartsItsDependencies(t *testing.T) {
	root := yamlEnvCLI(t, `version: 1
services:
  db:
    command: [TESTSVC]
    auto_start: false
  api:
    command: [TESTSVC]
    profiles: [backend]
    depends_on: [db]
  web:
    command: [TESTSVC]
`)
	if out, code := berthEnv(t, root, "up", "--profile", "backend"); code != 0 {
		t.Fatalf("up --profile backend: %d %s", code, out)
	}
	if out := checkAgree(t, root); strings.Count(out, ": Running (PID ") != 3 {
		t.Fatalf("the profile's service and its dependency must start:\n%s", out)
	}
}

// pidOf is the PID status shows for name.
func pidOf(t *testing.T, status, name string) string {
	t.Helper()
	for _, l := range strings.Split(status, "\n") {
		if p, ok := strings.CutPrefix(l, name+": Running (PID "); ok {
			return strings.TrimSuffix(p, ")")
		}
	}
	return "?"
}
