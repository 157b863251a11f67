package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/images/imagetest"
)

// pullEnv is an environment with a container service web whose image
// (pushed to a registry this process serves, and absent from the daemon) is
// to be pulled, a container service lazy with pull: never and a process
// service. It returns the environment, web's image and the registry's stop.
func pullEnv(t *testing.T) (dir, ref string, stop func()) {
	t.Helper()
	c, tag := testImage(t)
	addr, _, stop, err := imagetest.CountingRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ref = fmt.Sprintf("%s/%s:1", addr, uniqueEnvName("berth-clipull"))
	if err := imagetest.PushOnly(context.Background(), c, tag, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imagetest.Remove(c, ref) })
	dir = t.TempDir()
	files := map[string]string{
		".metadata": fmt.Sprintf("template=t\nenvironment_name=%s\nenvironment_root=%s\n", uniqueEnvName("berthpull"), dir),
		"berth.yaml": fmt.Sprintf(`version: 1
services:
  web:
    runner: container
    container: {image: %q}
  lazy:
    runner: container
    container: {image: %q, pull: never}
  proc:
    command: [sleep, "60"]
`, ref, ref+"-never"),
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ref, stop
}

// TestCLIPull: berth pull pulls web's image from the registry, skips the
// others saying why, and fails naming the registry once it is gone.
func TestCLIPull(t *testing.T) {
	dir, ref, stop := pullEnv(t)
	c, _ := testImage(t)
	r := berth(t, dir, nil, "pull")
	want := "web: pulled " + ref + "\nlazy: skipped (container.pull is never)\nproc: skipped (a process service runs no image berth pulls)\n"
	if r.code != 0 || r.stdout != want || !strings.Contains(r.stderr, "Downloaded newer image for "+ref) {
		t.Fatalf("pull: exit %d\nstdout %q\nstderr %q\nwant stdout %q", r.code, r.stdout, r.stderr, want)
	}
	if _, err := c.ImageInspect(context.Background(), ref); err != nil {
		t.Fatalf("the pulled image is not on the daemon: %v", err)
	}
	stop()
	r = berth(t, dir, nil, "pull", "web")
	if r.code != 1 || r.stdout != "web: failed\n" || !strings.Contains(r.stderr, "the daemon cannot reach its registry ("+strings.Split(ref, "/")[0]+")") {
		t.Fatalf("pull from a registry gone: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
}
