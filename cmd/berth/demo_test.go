package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs `berth demo` as a user would, once against the real Docker
// daemon and once with DOCKER_HOST at a socket that does not exist, and
// checks each step's result and that nothing is left running.
func TestDemo(t *testing.T) {
	missing := "DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock")
	tests := []struct {
		name   string
		docker bool
		env    []string
		want   []string
	}{
		{"with a daemon", true, nil, []string{
			"demo-runtime: ", // built, or up to date from an earlier run
		}},
		{"without a daemon", false, []string{missing}, []string{
			"skipped: no Docker daemon answers (cannot reach the Docker daemon at unix://",
			"box: not started: no demo image (see the build step)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.docker {
				requireDaemon(t)
			}
			dir := filepath.Join(t.TempDir(), "demo")
			r := berth(t, t.TempDir(), tt.env, "demo", "--dir", dir)
			if r.code != 0 {
				t.Fatalf("demo failed (exit %d)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			want := append([]string{
				"  api:\n      v1.0.0\n      v0.2.0\n      v0.1.0\n",
				"api v1.0.0 installed in " + filepath.Join(dir, "releases", "api-v1.0.0"),
				"web_version=branch:next (was v0.2.0)",
				"api: Running (PID ",
				"web: Running (PID ",
				"api: healthy (http 200",
				"web: healthy (http 200",
				"200 OK hello from web (web branch:next)",
				"api | api: serving api v1.0.0",
				"web: Stopped\n    api: Stopped\n",
				"demo done in ",
			}, tt.want...)
			if tt.docker {
				want = append(want, "box: Running (container ", "box: healthy (http 200", "box: Stopped")
			}
			for _, w := range want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if _, rest, _ := strings.Cut(r.stdout, "] versions api"); strings.Contains(strings.SplitN(rest, "\n[", 2)[0], "v1.1.0-rc.1") {
				t.Error("versions lists the pre-release tag")
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			// The demo stopped what it started; its directory was kept (--dir).
			st := berth(t, dir, tt.env, "--env", filepath.Join(dir, "env"), "status", "api", "web")
			if st.code != 0 || st.stdout != "api: Stopped\nweb: Stopped\n" {
				t.Fatalf("status after the demo: %+v", st)
			}
		})
	}
}

// TestDemoKeep leaves the services running and checks that the commands it
// prints work: status shows them running and stop stops them.
func TestDemoKeep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	noDocker := []string{"DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock")}
	r := berth(t, t.TempDir(), noDocker, "demo", "--dir", dir, "--keep")
	if r.code != 0 {
		t.Fatalf("demo --keep: %+v", r)
	}
	root := filepath.Join(dir, "env")
	t.Cleanup(func() { berth(t, root, noDocker, "stop", "api", "web") })
	for _, w := range []string{"cd " + root + "\n", "berth status api web\n", "berth stop api web\n"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("--keep output lacks %q:\n%s", w, r.stdout)
		}
	}
	st := berth(t, root, noDocker, "status", "api", "web")
	if ok, _ := regexp.MatchString(`^api: Running \(PID \d+\)\nweb: Running \(PID \d+\)\n$`, st.stdout); !ok || st.code != 0 {
		t.Fatalf("status after demo --keep: %+v", st)
	}
	if st := berth(t, root, noDocker, "stop", "api", "web"); st.code != 0 || st.stdout != "web: Stopped\napi: Stopped\n" {
		t.Fatalf("stop: %+v", st)
	}
}

func TestDemoRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "mine.txt")
	os.WriteFile(keep, []byte("mine"), 0o644)
	r := berth(t, t.TempDir(), nil, "demo", "--dir", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "is not empty") {
		t.Fatalf("demo into a non-empty dir: %+v", r)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Fatalf("the user's file changed: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("demo wrote into the refused directory: %v", entries)
	}
}
