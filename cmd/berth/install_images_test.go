package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/metadata"
)

// TestInstallBuildsImages covers the seed's rule for engine installs on the
// real daemon: install builds the build_on_install image, a failed build
// fails the install and keeps the old binding, and --skip-sse-build binds
// without building.
func TestInstallBuildsImages(t *testing.T) {
	cli := requireDaemon(t)
	for k, v := range map[string]string{
		"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.DevNull,
		"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
		"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
		metadata.EnvVar: "",
	} {
		t.Setenv(k, v)
	}
	base := t.TempDir()
	bare, work, envDir := filepath.Join(base, "rt.git"), filepath.Join(base, "work"), filepath.Join(base, "env")
	componentGit(t, base, "init", "-q", "--bare", "-b", "main", bare)
	componentGit(t, base, "init", "-q", "-b", "main", work)
	os.MkdirAll(filepath.Join(work, "rt"), 0o755)
	for tag, dockerfile := range map[string]string{
		"v1.0.0": "FROM scratch\nARG UID\nCOPY Dockerfile /\n",
		"v2.0.0": "FROM scratch\nRUN this-step-fails\n",
	} {
		os.WriteFile(filepath.Join(work, "rt", "Dockerfile"), []byte(dockerfile), 0o644)
		componentGit(t, work, "add", "-A")
		componentGit(t, work, "commit", "-q", "-m", tag)
		componentGit(t, work, "tag", tag)
	}
	componentGit(t, work, "push", "-q", "--tags", bare, "main:main")
	if _, err := metadata.Init(metadata.InitOptions{Dir: envDir, Template: "demo", InstallRoot: filepath.Join(base, "releases")}); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("berth-test-install-%d:latest", time.Now().UnixNano())
	t.Cleanup(func() { cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true}) })
	appendFile(t, filepath.Join(envDir, "config", ".env"), "RT_IMAGE="+tag+"\n")
	// The demo template declares components of its own; this test needs only rt.
	if err := os.WriteFile(filepath.Join(envDir, metadata.ManifestFile), []byte(`version: 1
components:
  rt:
    repo: `+bare+`
images:
  runtime:
    component: rt
    context: rt
    tag: "${RT_IMAGE}"
    args: {UID: "${UID}"}
    build_on_install: true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	berthIn := func(args ...string) (int, string, string) {
		return berthInProcess(append([]string{"--env", envDir}, args...)...)
	}
	binding := func() string {
		m, err := metadata.ReadMetadata(filepath.Join(envDir, metadata.MetadataFile))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := m.Get("rt_version")
		return v
	}
	imageVersion := func() string {
		insp, err := cli.ImageInspect(context.Background(), tag)
		if err != nil {
			return "missing"
		}
		return insp.Config.Labels[images.LabelVersion]
	}

	if code, _, stderr := berthIn("install", "rt", "v1.0.0"); code != 0 {
		t.Fatalf("install v1.0.0: exit %d\n%s", code, stderr)
	}
	if binding() != "v1.0.0" || imageVersion() != "v1.0.0" {
		t.Fatalf("after install v1.0.0: binding %q, image version %q", binding(), imageVersion())
	}

	code, _, stderr := berthIn("install", "rt", "v2.0.0")
	if code != 1 || !strings.Contains(stderr, "building runtime failed") || !strings.Contains(stderr, "this-step-fails") {
		t.Fatalf("install v2.0.0 with a failing build: exit %d\n%s", code, stderr)
	}
	if binding() != "v1.0.0" || imageVersion() != "v1.0.0" {
		t.Fatalf("a failed build changed things: binding %q, image version %q", binding(), imageVersion())
	}

	code, _, stderr = berthIn("install", "rt", "v2.0.0", "--skip-sse-build")
	if code != 0 || !strings.Contains(stderr, "not built (--skip-sse-build)") {
		t.Fatalf("install --skip-sse-build: exit %d\n%s", code, stderr)
	}
	if binding() != "v2.0.0" || imageVersion() != "v1.0.0" {
		t.Fatalf("after --skip-sse-build: binding %q, image version %q (want v2.0.0, image untouched)", binding(), imageVersion())
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
