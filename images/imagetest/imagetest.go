// Package imagetest gives tests of the Docker runners a daemon and a small
// image to run: hack/testsvc built static into an image FROM scratch,
// since nothing can be pulled.
package imagetest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/engine"
)

// Connect reaches the default daemon.
func Connect() (*engine.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return engine.NewClient(ctx, engine.Endpoint{})
}

// Require returns c, or skips t when there is no daemon (err != nil),
// unless BERTH_REQUIRE_DOCKER=1, which makes it a failure.
func Require(t testing.TB, c *engine.Client, err error) *engine.Client {
	t.Helper()
	testkit.RequireDocker(t, err)
	return c
}

// BuildTestsvc builds hack/testsvc (CGO_ENABLED=0) and an image tagged tag
// holding it as /testsvc, its entrypoint. It returns the binary's path too.
func BuildTestsvc(ctx context.Context, c *engine.Client, tag, dir string) (string, error) {
	bin := filepath.Join(dir, "testsvc")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/berthdev/berth/hack/testsvc")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build testsvc: %w\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Also as /usr/bin/mysql: run by that name it plays the database client
	// (cloud-local's readiness command) against the --tcp port it serves.
	df := []byte("FROM scratch\nCOPY testsvc /testsvc\nCOPY testsvc /usr/bin/mysql\nENV PATH=/usr/bin\nENTRYPOINT [\"/testsvc\"]\n")
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, df}, {"testsvc", 0o755, exe}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return "", err
		}
		tw.Write(f.data)
	}
	tw.Close()
	resp, err := c.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	return bin, nil
}

// Remove removes the image tag.
func Remove(c *engine.Client, tag string) {
	c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
}

// WithTestsvc runs a package's tests (run is m.Run) with the testsvc image
// built as PREFIX-PID:latest into *img when a daemon answers (connectErr is
// nil), and removes the image afterwards. It returns the exit code.
func WithTestsvc(c *engine.Client, connectErr error, prefix string, img *string, run func() int) int {
	if connectErr != nil {
		return run()
	}
	defer c.Close()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*img = fmt.Sprintf("%s-%d:latest", prefix, os.Getpid())
	if _, err := BuildTestsvc(context.Background(), c, *img, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer Remove(c, *img)
	return run()
}

// BuildHealthcheck builds, FROM the testsvc image base, an image tagged tag
// with a HEALTHCHECK that runs the static helper as a client of the port
// the service serves with --tcp 127.0.0.1:PORT (testsvc run as mysql):
// starting until it listens (a start period of a minute), healthy after.
func BuildHealthcheck(ctx context.Context, c *engine.Client, base, tag string, port int) error {
	df := fmt.Sprintf("FROM %s\nHEALTHCHECK --interval=1s --timeout=5s --start-period=60s --retries=1 CMD [\"/usr/bin/mysql\", \"-h127.0.0.1\", \"-P%d\"]\n", base, port)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))})
	tw.Write([]byte(df))
	tw.Close()
	resp, err := c.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true})
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	return nil
}
