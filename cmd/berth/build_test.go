package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata/component"
)

// imageEnv writes an environment with engine v1.0.0 installed whose
// sse_runtime context is a FROM scratch Dockerfile, and returns its root.
func imageEnv(t *testing.T, dotenv string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		".metadata": fmt.Sprintf("template=backend\ninstall_root=%s\nenvironment_name=t\nenvironment_root=%s\nengine_version=v1.0.0\n", filepath.Join(root, "releases"), root),
		"berth.yaml": `version: 1
components:
  engine: {repo: /nonexistent.git}
images:
  sse-runtime:
    component: engine
    context: sse_runtime
    tag: "${SSE_CONTAINER_IMAGE}"
    args: {UID: "${UID}", GID: "${GID}"}
`,
		"config/.env": dotenv,
		"releases/engine-v1.0.0/sse_runtime/Dockerfile": "FROM scratch\nARG UID\nCOPY Dockerfile /\n",
		"releases/engine-v1.0.0/sse_runtime/nonce":      root,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := component.Adopt(filepath.Join(root, "releases", "engine-v1.0.0"), "engine", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	return root
}

// berthInProcess runs berth inside the test process (no binary to build).
func berthInProcess(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, newStreams(nil, &out, &errb))
	return code, out.String(), errb.String()
}

func requireDaemon(t *testing.T) *engine.Client {
	t.Helper()
	c, err := engine.NewClient(context.Background(), engine.Endpoint{})
	testkit.RequireDocker(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestBuildCommand(t *testing.T) {
	c := requireDaemon(t)
	tag := fmt.Sprintf("berth-cmdtest-%d-%d:latest", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true}) })
	root := imageEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n")

	steps := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"images", "--env", root}, 0, "sse-runtime: missing"},
		{[]string{"build", "sse-runtime", "--env", root}, 0, "sse-runtime: built " + tag},
		{[]string{"build", "sse-runtime", "--env", root}, 0, "sse-runtime: up to date"},
		{[]string{"images", "--env", root}, 0, "sse-runtime: current (" + tag + ", engine v1.0.0)"},
		{[]string{"build", "all", "--force", "--builder", "classic", "--env", root}, 0, "sse-runtime: built " + tag},
		{[]string{"build", "nope", "--env", root}, 1, ""},
		{[]string{"build", "sse-runtime", "--builder", "bogus", "--env", root}, 2, ""},
	}
	for _, s := range steps {
		code, out, errOut := berthInProcess(s.args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) {
			t.Fatalf("berth %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(s.args, " "), code, out, errOut, s.wantCode, s.wantOut)
		}
	}
	code, out, _ := berthInProcess("images", "-o", "json", "--env", root)
	var sts []images.Status
	if err := json.Unmarshal([]byte(out), &sts); code != 0 || err != nil || len(sts) != 1 || sts[0].State != images.StateCurrent {
		t.Fatalf("images -o json: exit %d, %v, %s", code, err, out)
	}
}

func TestBuildCommandErrors(t *testing.T) {
	missingSock := "unix://" + filepath.Join(t.TempDir(), "no.sock")
	tests := []struct {
		name       string
		dotenv     string
		args       []string
		dockerHost string
		wantCode   int
		wantErr    string
	}{
		{"missing tag variable", "OTHER=1\n", []string{"build", "sse-runtime"}, "", 1, "Error: SSE_CONTAINER_IMAGE is missing from config/.env"},
		{"unreachable daemon", "SSE_CONTAINER_IMAGE=x:1\n", []string{"build", "sse-runtime"}, missingSock, 1, "cannot reach the Docker daemon at " + missingSock},
		{"images with unreachable daemon", "SSE_CONTAINER_IMAGE=x:1\n", []string{"images"}, missingSock, 1, missingSock},
		{"doctor with unreachable daemon", "SSE_CONTAINER_IMAGE=x:1\n", []string{"doctor"}, missingSock, 1, "a required check failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Unsetenv("SSE_CONTAINER_IMAGE")
			t.Setenv("DOCKER_HOST", tt.dockerHost)
			root := imageEnv(t, tt.dotenv)
			code, out, errOut := berthInProcess(append(tt.args, "--env", root)...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestDoctorJSON(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no.sock"))
	root := imageEnv(t, "SSE_CONTAINER_IMAGE=x:1\n")
	code, out, _ := berthInProcess("doctor", "-o", "json", "--env", root)
	var checks []check
	if err := json.Unmarshal([]byte(out), &checks); err != nil || code != 1 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	byName := map[string]check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	for _, name := range []string{"docker", "buildkit", "compose", "git", "uv", "disk"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no %s check in %s", name, out)
		}
	}
	if d := byName["docker"]; d.OK || !d.Required {
		t.Errorf("docker check %+v: want failed and required (the manifest has images)", d)
	}
	if c := byName["compose"]; c.Required {
		t.Errorf("compose is required though no service uses it: %+v", c)
	}
}

// --no-cache builds without the cache, and its progress does not say
// CACHED (BuildKit marks its own context steps cached even then).
func TestBuildNoCacheSaysNoCached(t *testing.T) {
	c := requireDaemon(t)
	tag := fmt.Sprintf("berth-nocache-%d-%d:latest", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true}) })
	root := imageEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n")
	if code, out, errOut := berthInProcess("build", "sse-runtime", "--builder", "buildkit", "--env", root); code != 0 {
		t.Fatalf("build: %d %s %s", code, out, errOut)
	}
	// With the cache, a rebuild reuses steps and says so...
	code, out, errOut := berthInProcess("build", "sse-runtime", "--force", "--builder", "buildkit", "--env", root)
	if code != 0 || !strings.Contains(out+errOut, "CACHED") {
		t.Fatalf("build --force: %d, no CACHED in\n%s%s", code, out, errOut)
	}
	// ...without it, nothing is said to come from a cache.
	code, out, errOut = berthInProcess("build", "sse-runtime", "--no-cache", "--builder", "buildkit", "--env", root)
	if code != 0 || strings.Contains(out+errOut, "CACHED") || !strings.Contains(out+errOut, "DONE") {
		t.Fatalf("build --no-cache: %d\n%s%s", code, out, errOut)
	}
}
