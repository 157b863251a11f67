package container_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/images/imagetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
)

func push(t *testing.T, c *engine.Client, src, ref string) {
	t.Helper()
	if err := imagetest.PushOnly(context.Background(), c, src, ref); err != nil {
		t.Fatal(err)
	}
}

func untag(t *testing.T, c *engine.Client, ref string) {
	t.Helper()
	if _, err := c.ImageRemove(context.Background(), ref, image.RemoveOptions{}); err != nil {
		t.Fatalf("untag %s: %v", ref, err)
	}
}

// relabel builds an image FROM base with one label more: another image ID
// with the same layers, as a new release of a tag would be.
func relabel(t *testing.T, c *engine.Client, base, tag string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	df := []byte("FROM " + base + "\nLABEL dev.berth.test.release=2\n")
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))})
	tw.Write(df)
	tw.Close()
	resp, err := c.ImageBuild(context.Background(), &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imagetest.Remove(c, tag) })
	info, err := c.ImageInspect(context.Background(), tag)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// TestPullPolicies pulls from a registry served by this process: missing
// pulls once, always pulls a changed tag again, never refuses an absent
// image naming it and the fix.
func TestPullPolicies(t *testing.T) {
	c := imagetest.Require(t, cli, cliErr)
	ctx := context.Background()
	addr, pulls, stop, err := imagetest.CountingRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ref := fmt.Sprintf("%s/berth-pulltest-%d:1", addr, os.Getpid())
	t.Cleanup(func() { imagetest.Remove(c, ref) })
	v1, err := c.ImageInspect(ctx, testImg)
	if err != nil {
		t.Fatal(err)
	}
	push(t, c, testImg, ref)

	var progress bytes.Buffer
	r := container.New(container.Options{Client: func(context.Context, string) (*engine.Client, error) { return c, nil }, Progress: &progress})
	// run starts the service with the policy and returns the image ID its
	// container was made from and how many pulls the registry served.
	run := func(policy string) (string, int64, error) {
		t.Helper()
		svc := service(t, ref, "--print", "up", "--exit", "0")
		svc.Container.Pull = policy
		before := pulls.Load()
		h, err := r.Start(ctx, svc)
		if err != nil {
			return "", pulls.Load() - before, err
		}
		defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second})
		info, err := c.ContainerInspect(ctx, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		return info.Image, pulls.Load() - before, nil
	}

	id, n, err := run("") // missing, the default
	if err != nil || id != v1.ID || n == 0 {
		t.Fatalf("pull missing, image absent: image %s, %d pulls, %v; want %s pulled", id, n, err, v1.ID)
	}
	if !strings.Contains(progress.String(), "svc: pulled "+ref) || !strings.Contains(progress.String(), "Status: Downloaded newer image for "+ref) {
		t.Errorf("no pull progress:\n%s", progress.String())
	}
	if id, n, err = run(metadata.PullMissing); err != nil || id != v1.ID || n != 0 {
		t.Fatalf("pull missing, image present: image %s, %d pulls, %v; want no pull", id, n, err)
	}

	// A new release of the tag in the registry; the daemon keeps the old.
	v2 := relabel(t, c, testImg, fmt.Sprintf("berth-pulltest-v2-%d:1", os.Getpid()))
	push(t, c, v2, ref)
	if err := c.ImageTag(ctx, v1.ID, ref); err != nil {
		t.Fatal(err)
	}
	if id, n, err = run(metadata.PullMissing); err != nil || id != v1.ID || n != 0 {
		t.Fatalf("pull missing after the tag moved: image %s, %d pulls, %v; want the local one, no pull", id, n, err)
	}
	if id, n, err = run(metadata.PullAlways); err != nil || id != v2 || n == 0 {
		t.Fatalf("pull always: image %s, %d pulls, %v; want the registry's %s", id, n, err, v2)
	}

	untag(t, c, ref)
	_, n, err = run(metadata.PullNever)
	var me *container.MissingImageError
	if !errors.As(err, &me) || n != 0 || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "container.pull is never") {
		t.Fatalf("pull never, image absent: %v (%d pulls); want a MissingImageError naming %s and the fix", err, n, ref)
	}
}

// TestPullUnreachableRegistry: a registry that does not answer fails the
// start at once, naming the registry.
func TestPullUnreachableRegistry(t *testing.T) {
	c := imagetest.Require(t, cli, cliErr)
	addr, stop, err := imagetest.Registry()
	if err != nil {
		t.Fatal(err)
	}
	stop() // the port was a registry's a moment ago: nothing answers there now
	r := container.New(container.Options{Client: func(context.Context, string) (*engine.Client, error) { return c, nil }})
	svc := service(t, addr+"/berth-nothing:1")
	t0 := time.Now()
	_, err = r.Start(context.Background(), svc)
	if err == nil || !strings.Contains(err.Error(), "cannot reach its registry ("+addr+")") {
		t.Fatalf("start: %v; want an error saying the registry %s does not answer", err, addr)
	}
	if d := time.Since(t0); d > 20*time.Second {
		t.Errorf("the failed pull took %s", d)
	}
}
