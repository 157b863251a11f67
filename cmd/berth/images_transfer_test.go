package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/images/imagetest"
)

// TestImagesSaveLoadThenBuildDoesNothing is the CI cache: an image built
// and saved, removed from the daemon, then loaded again is current, and
// berth build does nothing.
func TestImagesSaveLoadThenBuildDoesNothing(t *testing.T) {
	c := requireDaemon(t)
	ctx := context.Background()
	tag := fmt.Sprintf("berth-cmdtest-save-%d-%d:latest", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { c.ImageRemove(ctx, tag, image.RemoveOptions{Force: true}) })
	root := imageEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n")
	archive := filepath.Join(t.TempDir(), "images.tar")
	step := func(wantCode int, wantOut string, args ...string) {
		t.Helper()
		code, out, errOut := berthInProcess(append(args, "--env", root)...)
		if code != wantCode || !strings.Contains(out+errOut, wantOut) {
			t.Fatalf("berth %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(args, " "), code, out, errOut, wantCode, wantOut)
		}
	}
	step(1, "berth build sse-runtime first", "images", "save", "-o", archive)
	if _, err := os.Stat(archive); !os.IsNotExist(err) {
		t.Fatalf("a refused save left %s: %v", archive, err)
	}
	step(0, "sse-runtime: built "+tag, "build", "sse-runtime")
	step(0, "saved 1 image(s) to "+archive, "images", "save", "-o", archive)
	step(1, "not in berth.yaml", "images", "save", "nope", "-o", archive)
	step(2, "-o FILE", "images", "save")
	if _, err := c.ImageRemove(ctx, tag, image.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	step(0, "sse-runtime: missing", "images")
	step(0, tag, "images", "load", archive)
	step(0, "sse-runtime: current ("+tag, "images")
	code, out, errOut := berthInProcess("build", "sse-runtime", "--env", root)
	if code != 0 || !strings.Contains(out, "sse-runtime: up to date") || strings.Contains(out, "built") {
		t.Fatalf("build after load: exit %d, stdout %q, stderr %q; want up to date and nothing built", code, out, errOut)
	}
	step(1, "load images", "images", "load", filepath.Join(t.TempDir(), "absent.tar"))
}

// TestBuildPush: --push pushes to the manifest image's registry (here one
// in the test process), a build without it pushes nothing, and --push of an
// image that names no registry is refused before anything is built.
func TestBuildPush(t *testing.T) {
	c := requireDaemon(t)
	ctx := context.Background()
	addr, stop, err := imagetest.Registry()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	tag := fmt.Sprintf("berth-cmdtest-push-%d-%d:latest", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { c.ImageRemove(ctx, tag, image.RemoveOptions{Force: true}) })

	bare := imageEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n")
	code, out, errOut := berthInProcess("build", "--push", "sse-runtime", "--env", bare)
	if code != 1 || !strings.Contains(errOut, "image sse-runtime names no registry in berth.yaml") {
		t.Fatalf("build --push without a registry: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := c.ImageInspect(ctx, tag); !cerrdefs.IsNotFound(err) {
		t.Fatalf("a refused build --push built %s: %v", tag, err)
	}

	root := imageEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n")
	manifest := filepath.Join(root, "berth.yaml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, append(b, []byte("    registry: "+addr+"/team\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	pushed := "sse-runtime: pushed " + addr + "/team/"
	code, out, errOut = berthInProcess("build", "sse-runtime", "--env", root)
	if code != 0 || !strings.Contains(out, "built") || strings.Contains(out, "pushed") {
		t.Fatalf("build without --push: exit %d, stdout %q, stderr %q; want built and not pushed", code, out, errOut)
	}
	code, out, errOut = berthInProcess("build", "--push", "sse-runtime", "--env", root)
	if code != 0 || !strings.Contains(out, "up to date") || !strings.Contains(out, pushed) || !strings.Contains(out, "@sha256:") {
		t.Fatalf("build --push: exit %d, stdout %q, stderr %q; want %q with a digest", code, out, errOut, pushed)
	}
	t.Cleanup(func() {
		ref := strings.TrimSpace(out[strings.Index(out, "pushed ")+len("pushed "):])
		c.ImageRemove(ctx, strings.SplitN(ref, "@", 2)[0]+":latest", image.RemoveOptions{Force: true})
	})
}
