package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
)

// shBinary is a static stand-in for /bin/sh, built once, that test images
// built FROM scratch copy in so that their RUN steps have a shell.
var shBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-images-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shBinary = filepath.Join(dir, "sh")
	// Context sums are cached under the user's cache directory: the tests
	// keep theirs in their own.
	os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	cmd := exec.Command("go", "build", "-o", shBinary, "./testdata/sh")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test sh: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// dockerClient connects to the machine's daemon, or skips the test when
// there is none, unless BERTH_REQUIRE_DOCKER=1.
func dockerClient(t *testing.T) *engine.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := engine.NewClient(ctx, engine.Endpoint{})
	testkit.RequireDocker(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

var tagSeq atomic.Int64

// uniqueTag is a tag no other test or run uses; the image is removed when
// the test ends.
func uniqueTag(t *testing.T, c *engine.Client) string {
	tag := fmt.Sprintf("berth-test-%d-%d-%d:latest", os.Getpid(), time.Now().UnixNano(), tagSeq.Add(1))
	if c != nil {
		t.Cleanup(func() {
			c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
		})
	}
	return tag
}

const testManifest = `version: 1
components:
  engine:
    repo: /nonexistent/engine.git
images:
  sse-runtime:
    component: engine
    context: sse_runtime
    tag: "${SSE_CONTAINER_IMAGE}"
    args:
      UID: "${UID}"
      GID: "${GID}"
    build_on_install: true
`

// testEnv makes an environment with engine v1.0.0 installed and its
// sse_runtime context holding files (plus the test sh as bin/sh).
func testEnv(t *testing.T, dotenv string, files map[string]string) *metadata.Env {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	meta := fmt.Sprintf("template=backend\ninstall_root=%s\nenvironment_name=test\nenvironment_root=%s\nengine_version=v1.0.0\n", filepath.Join(root, "releases"), root)
	must(os.WriteFile(filepath.Join(root, metadata.MetadataFile), []byte(meta), 0o644))
	must(os.WriteFile(filepath.Join(root, metadata.ManifestFile), []byte(testManifest), 0o644))
	must(os.MkdirAll(filepath.Join(root, "config"), 0o755))
	must(os.WriteFile(filepath.Join(root, "config", ".env"), []byte(dotenv), 0o644))
	ctxDir := filepath.Join(root, "releases", "engine-v1.0.0", "sse_runtime")
	writeFiles(t, ctxDir, files)
	sh, err := os.ReadFile(shBinary)
	must(err)
	must(os.MkdirAll(filepath.Join(ctxDir, "bin"), 0o755))
	must(os.WriteFile(filepath.Join(ctxDir, "bin", "sh"), sh, 0o755))
	must(component.Adopt(filepath.Dir(ctxDir), "engine", "v1.0.0"))
	env, err := metadata.Open(root)
	must(err)
	return env
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSpecVariables(t *testing.T) {
	files := map[string]string{"Dockerfile": "FROM scratch\n"}
	t.Run("missing tag variable", func(t *testing.T) {
		env := testEnv(t, "OTHER=1\n", files)
		t.Setenv("SSE_CONTAINER_IMAGE", "")
		os.Unsetenv("SSE_CONTAINER_IMAGE")
		_, err := SpecFor(env, "sse-runtime")
		var me *MissingVariableError
		if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), "SSE_CONTAINER_IMAGE is missing from config/.env") {
			t.Fatalf("got %v, want SSE_CONTAINER_IMAGE is missing from config/.env", err)
		}
	})
	t.Run("UID and GID are the current user's", func(t *testing.T) {
		env := testEnv(t, "SSE_CONTAINER_IMAGE=x/y:1\nUID=99999\nGID=99998\n", files)
		t.Setenv("UID", "88888")
		spec, err := SpecFor(env, "sse-runtime")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"UID": strconv.Itoa(os.Getuid()), "GID": strconv.Itoa(os.Getgid())}
		for k, v := range want {
			if spec.Args[k] != v {
				t.Errorf("arg %s = %q, want %q", k, spec.Args[k], v)
			}
		}
		if spec.Tag != "x/y:1" || spec.Version != "v1.0.0" {
			t.Errorf("tag %q version %q", spec.Tag, spec.Version)
		}
	})
	t.Run("component not installed", func(t *testing.T) {
		env := testEnv(t, "SSE_CONTAINER_IMAGE=x/y:1\n", files)
		os.RemoveAll(filepath.Join(installRoot(t, env), "engine-v1.0.0"))
		_, err := SpecFor(env, "sse-runtime")
		if err == nil || !strings.Contains(err.Error(), "berth install engine v1.0.0") {
			t.Fatalf("got %v, want an error telling to install engine v1.0.0", err)
		}
	})
	t.Run("unknown image", func(t *testing.T) {
		env := testEnv(t, "SSE_CONTAINER_IMAGE=x/y:1\n", files)
		_, err := SpecFor(env, "nope")
		if err == nil || !strings.Contains(err.Error(), "sse-runtime") {
			t.Fatalf("got %v, want an error listing sse-runtime", err)
		}
	})
}

func TestInputsDigest(t *testing.T) {
	base := map[string]string{
		"Dockerfile":    "FROM scratch\nCOPY . /ctx\n",
		".dockerignore": "ignored/\n*.log\nDockerfile\n",
		"app/main.txt":  "hello",
		"ignored/a.txt": "x",
		"debug.log":     "x",
	}
	args := map[string]string{"UID": "1"}
	digest := func(t *testing.T, change func(dir string), args map[string]string) string {
		dir := t.TempDir()
		writeFiles(t, dir, base)
		if change != nil {
			change(dir)
		}
		bc, err := scanContext(dir, "Dockerfile", args)
		if err != nil {
			t.Fatal(err)
		}
		return bc.digest
	}
	ref := digest(t, nil, args)
	tests := []struct {
		name    string
		change  func(dir string)
		args    map[string]string
		changed bool
	}{
		{"same inputs", nil, args, false},
		{"context file changed", func(d string) { os.WriteFile(filepath.Join(d, "app/main.txt"), []byte("bye"), 0o644) }, args, true},
		{"file added", func(d string) { os.WriteFile(filepath.Join(d, "app/new.txt"), nil, 0o644) }, args, true},
		{"mode changed", func(d string) { os.Chmod(filepath.Join(d, "app/main.txt"), 0o755) }, args, true},
		{"ignored dir changed", func(d string) { os.WriteFile(filepath.Join(d, "ignored/a.txt"), []byte("y"), 0o644) }, args, false},
		{"ignored pattern file changed", func(d string) { os.WriteFile(filepath.Join(d, "debug.log"), []byte("y"), 0o644) }, args, false},
		{"Dockerfile changed though ignored", func(d string) { os.WriteFile(filepath.Join(d, "Dockerfile"), []byte("FROM scratch\n"), 0o644) }, args, true},
		{"build arg changed", nil, map[string]string{"UID": "2"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := digest(t, tt.change, tt.args)
			if (got != ref) != tt.changed {
				t.Errorf("digest changed = %v, want %v", got != ref, tt.changed)
			}
		})
	}
	if _, err := scanContext(t.TempDir(), "Dockerfile", nil); err == nil || !strings.Contains(err.Error(), "no Dockerfile") {
		t.Errorf("empty context: got %v, want no Dockerfile error", err)
	}
}

func TestNeedsBuildKit(t *testing.T) {
	tests := []struct {
		dockerfile string
		want       bool
	}{
		{"FROM scratch\nRUN echo hi\n", false},
		{"FROM scratch\nRUN --mount=type=cache,target=/root/.cache echo hi\n", true},
		{"# syntax=docker/dockerfile:1\nFROM scratch\n", true},
		{"FROM scratch\nrun --network=none echo\n", true},
		{"FROM scratch\nCOPY <<EOF /x\nhi\nEOF\n", true},
		{"FROM scratch\n# RUN --mount is only a comment here\n", false},
	}
	for _, tt := range tests {
		if got, _ := needsBuildKit([]byte(tt.dockerfile)); got != tt.want {
			t.Errorf("needsBuildKit(%q) = %v, want %v", tt.dockerfile, got, tt.want)
		}
	}
}

// Few steps: the classic builder commits a container for each, slowly.
const labelDockerfile = `FROM scratch
COPY . /
ARG UID
ARG GID
RUN absent /secret.txt && check /kept.txt && echo built-as $UID:$GID
`

func TestBuildLifecycle(t *testing.T) {
	c := dockerClient(t)
	for _, builder := range []Builder{BuilderClassic, BuilderBuildKit} {
		t.Run(string(builder), func(t *testing.T) {
			ctx := context.Background()
			tag := uniqueTag(t, c)
			env := testEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n", map[string]string{
				"Dockerfile":    labelDockerfile,
				".dockerignore": "secret.txt\n",
				"secret.txt":    "not for the daemon",
				"kept.txt":      "v1",
				"nonce.txt":     tag, // so the daemon's layer cache never hides the RUN step
			})
			spec, err := SpecFor(env, "sse-runtime")
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			opts := BuildOptions{Builder: builder, Out: &out}

			if st, err := StatusOf(ctx, c, spec); err != nil || st.State != StateMissing {
				t.Fatalf("before build: %+v, %v; want missing", st, err)
			}
			res, err := Build(ctx, c, spec, opts)
			if err != nil {
				t.Fatalf("build: %v\n%s", err, out.String())
			}
			if res.Skipped || res.ID == "" || res.Builder != builder {
				t.Fatalf("first build: %+v", res)
			}
			inspect, err := c.ImageInspect(ctx, tag)
			if err != nil {
				t.Fatal(err)
			}
			wantLabels := map[string]string{
				LabelComponent: "engine", LabelVersion: "v1.0.0", LabelImage: "sse-runtime",
				LabelInputs: res.Inputs,
			}
			for k, v := range wantLabels {
				if got := inspect.Config.Labels[k]; got != v {
					t.Errorf("label %s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(out.String(), "built-as "+strconv.Itoa(os.Getuid())+":"+strconv.Itoa(os.Getgid())) {
				t.Errorf("build output lacks the RUN step's line:\n%s", out.String())
			}

			// Unchanged: skipped, same image.
			again, err := Build(ctx, c, spec, opts)
			if err != nil || !again.Skipped || again.ID != res.ID {
				t.Fatalf("second build: %+v, %v; want skipped with id %s", again, err, res.ID)
			}
			if builder == BuilderClassic {
				// Every step the daemon announced has its DONE line with a time.
				steps := regexp.MustCompile(`(?m)^(Step \d+/\d+) : `).FindAllStringSubmatch(out.String(), -1)
				if len(steps) < 5 {
					t.Errorf("classic build output has %d steps:\n%s", len(steps), out.String())
				}
				for _, st := range steps {
					if !regexp.MustCompile(`(?m)^` + st[1] + ` DONE \d+\.\ds$`).MatchString(out.String()) {
						t.Errorf("no timed DONE line for %s:\n%s", st[1], out.String())
					}
				}
				// The rest does not depend on the builder, and the classic
				// builder commits a container per label: seconds each here.
				return
			}
			// An ignored file changes: still current.
			writeFiles(t, spec.Context, map[string]string{"secret.txt": "changed"})
			if st, err := StatusOf(ctx, c, spec); err != nil || st.State != StateCurrent {
				t.Fatalf("after ignored change: %+v, %v; want current", st, err)
			}
			// A context file changes: stale, then rebuilt.
			writeFiles(t, spec.Context, map[string]string{"kept.txt": "v2"})
			if st, err := StatusOf(ctx, c, spec); err != nil || st.State != StateStale {
				t.Fatalf("after context change: %+v, %v; want stale", st, err)
			}
			rebuilt, err := Build(ctx, c, spec, opts)
			if err != nil || rebuilt.Skipped || rebuilt.Inputs == res.Inputs {
				t.Fatalf("rebuild after context change: %+v, %v", rebuilt, err)
			}
			// The image the tag moved away from is not left dangling.
			if _, err := c.ImageInspect(ctx, res.ID); err == nil {
				t.Fatalf("the replaced image %s is still there", res.ID)
			}
			// The version changes: stale, then rebuilt with the new label.
			v2 := *spec
			v2.Version = "v1.1.0"
			if st, err := StatusOf(ctx, c, &v2); err != nil || st.State != StateStale || st.BuiltVersion != "v1.0.0" {
				t.Fatalf("after version change: %+v, %v; want stale, built for v1.0.0", st, err)
			}
			if r, err := Build(ctx, c, &v2, opts); err != nil || r.Skipped {
				t.Fatalf("rebuild after version change: %+v, %v", r, err)
			}
			if st, err := StatusOf(ctx, c, &v2); err != nil || st.State != StateCurrent {
				t.Fatalf("after rebuild: %+v, %v; want current", st, err)
			}
			// --force rebuilds a current image.
			if r, err := Build(ctx, c, &v2, BuildOptions{Builder: builder, Force: true}); err != nil || r.Skipped {
				t.Fatalf("forced build: %+v, %v", r, err)
			}
		})
	}
}

func TestBuildFailingStep(t *testing.T) {
	c := dockerClient(t)
	for _, builder := range []Builder{BuilderClassic, BuilderBuildKit} {
		t.Run(string(builder), func(t *testing.T) {
			tag := uniqueTag(t, c)
			env := testEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n", map[string]string{
				"Dockerfile": "FROM scratch\nCOPY bin/sh /bin/sh\nRUN echo step-ok\nRUN echo before && fail boom-message-42\n",
			})
			spec, err := SpecFor(env, "sse-runtime")
			if err != nil {
				t.Fatal(err)
			}
			_, err = Build(context.Background(), c, spec, BuildOptions{Builder: builder})
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("got %v, want a BuildError", err)
			}
			if !strings.Contains(be.Step, "fail boom-message-42") {
				t.Errorf("step %q does not name the failing RUN", be.Step)
			}
			if !strings.Contains(err.Error(), "boom-message-42") || !strings.Contains(be.Output, "before") {
				t.Errorf("error lacks the step's output: %v", err)
			}
			if _, err := c.ImageInspect(context.Background(), tag); err == nil {
				t.Errorf("a failed build left an image tagged %s", tag)
			}
		})
	}
}

func TestBuildKitOnlySyntax(t *testing.T) {
	c := dockerClient(t)
	dockerfile := "FROM scratch\nCOPY bin/sh /bin/sh\nRUN --mount=type=cache,target=/cache write /cache/x hi && check /cache/x && echo cache-ok\n"
	tests := []struct {
		builder Builder
		wantErr string
	}{
		{BuilderAuto, ""},
		{BuilderBuildKit, ""},
		{BuilderClassic, "needs BuildKit"},
	}
	for _, tt := range tests {
		name := string(tt.builder)
		if name == "" {
			name = "auto"
		}
		t.Run(name, func(t *testing.T) {
			tag := uniqueTag(t, c)
			env := testEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n", map[string]string{"Dockerfile": dockerfile})
			spec, err := SpecFor(env, "sse-runtime")
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			res, err := Build(context.Background(), c, spec, BuildOptions{Builder: tt.builder, Out: &out})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("build: %v\n%s", err, out.String())
			}
			if res.Builder != BuilderBuildKit || !strings.Contains(out.String(), "cache-ok") {
				t.Errorf("builder %s, output:\n%s", res.Builder, out.String())
			}
		})
	}
	// A daemon without BuildKit is told apart from a failing build.
	old := *c
	old.Ping.OSType = "windows"
	_, err := chooseBuilder(&old, "sse-runtime", BuilderAuto, []byte(dockerfile))
	var bke *BuildKitUnavailableError
	if !errors.As(err, &bke) || !strings.Contains(err.Error(), "has no BuildKit") {
		t.Errorf("got %v, want BuildKitUnavailableError", err)
	}
}

func TestBuildForComponent(t *testing.T) {
	c := dockerClient(t)
	tag := uniqueTag(t, c)
	env := testEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n", map[string]string{"Dockerfile": "FROM scratch\nCOPY Dockerfile /\n"})
	// A new release not yet bound: built from its own directory and labelled with its version.
	dir := filepath.Join(installRoot(t, env), "engine-v2.0.0")
	writeFiles(t, filepath.Join(dir, "sse_runtime"), map[string]string{"Dockerfile": "FROM scratch\nCOPY Dockerfile /new\n"})
	if got := VersionFromDir(env, "engine", dir); got != "v2.0.0" {
		t.Fatalf("VersionFromDir = %q", got)
	}
	var out strings.Builder
	if err := InstallHook(&out, BuildOptions{})(context.Background(), env, "engine", dir); err != nil {
		t.Fatal(err)
	}
	inspect, err := c.ImageInspect(context.Background(), tag)
	if err != nil || inspect.Config.Labels[LabelVersion] != "v2.0.0" {
		t.Fatalf("image after install hook: %v labels %v", err, inspect.Config)
	}
	// The bound version (v1.0.0) now sees the image as stale.
	sts, err := Statuses(context.Background(), c, env)
	if err != nil || len(sts) != 1 || sts[0].State != StateStale {
		t.Fatalf("Statuses = %+v, %v; want one stale", sts, err)
	}
	// Other components build nothing and need no daemon.
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	if err := InstallHook(&out, BuildOptions{})(context.Background(), env, "tranqu", dir); err != nil {
		t.Errorf("hook for a component without images: %v", err)
	}
	if err := InstallHook(&out, BuildOptions{})(context.Background(), env, "engine", dir); err == nil || !strings.Contains(err.Error(), "--skip-sse-build") {
		t.Errorf("hook without a daemon: %v, want an error suggesting --skip-sse-build", err)
	}
}

func installRoot(t testing.TB, env *metadata.Env) string {
	t.Helper()
	root, err := env.InstallRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
