package swarm_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/images/imagetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/swarm"
)

// healthImage is the test image with a HEALTHCHECK of 127.0.0.1:8080,
// tagged for this test alone (a parallel test's cleanup removes its own).
func healthImage(t *testing.T) string {
	t.Helper()
	tag := fmt.Sprintf("berth-swarmhealth-%d-%d:1", os.Getpid(), envSeq.Add(1))
	if err := imagetest.BuildHealthcheck(context.Background(), cli, testImg, tag, 8080); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imagetest.Remove(cli, tag) })
	return tag
}

// TestDockerTaskHealth: a service whose image has a HEALTHCHECK and whose
// berth.yaml gives no check reports Docker's health per task, starting
// while the check fails in its start period, then healthy.
func TestDockerTaskHealth(t *testing.T) {
	t.Parallel()
	testkit.RequireDocker(t, cliErr)
	img := healthImage(t)
	r := newRunner(t, nil)
	ctx := context.Background()
	svc := service(t, metadata.SwarmSpec{Image: img}, "--ready-after", "3s", "--tcp", "127.0.0.1:8080")
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second})

	testkit.Eventually(t, 60*time.Second, func() error {
		res, err := r.RunnerHealth(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		if res == nil || res.Healthy || !strings.HasPrefix(res.Detail, "docker: svc.1 starting") {
			return fmt.Errorf("runner health %+v; want svc.1 starting", res)
		}
		return nil
	})
	st, err := r.Inspect(ctx, svc)
	if d, _ := st.Detail.(swarm.Detail); err != nil || len(d.Tasks) != 1 || d.Tasks[0].Health != "starting" {
		t.Fatalf("inspect: %+v, %v; want one task starting", st.Detail, err)
	}
	waitReady(t, r, svc)
	res, err := r.RunnerHealth(ctx, svc)
	if err != nil || res == nil || !res.Healthy || res.Detail != "docker: svc.1 healthy" || res.Kind != "docker" {
		t.Fatalf("runner health when ready: %+v, %v; want svc.1 healthy", res, err)
	}
	st, _ = r.Inspect(ctx, svc)
	if d, _ := st.Detail.(swarm.Detail); len(d.Tasks) != 1 || d.Tasks[0].Health != "healthy" {
		t.Fatalf("inspect when ready: %+v; want one task healthy", st.Detail)
	}
}

// TestNoDockerHealthWithoutHealthcheck: an image without a HEALTHCHECK
// leaves the health to berth's checks (none here: "no check").
func TestNoDockerHealthWithoutHealthcheck(t *testing.T) {
	t.Parallel()
	r := newRunner(t, nil)
	ctx := context.Background()
	svc := service(t, metadata.SwarmSpec{})
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second})
	waitReady(t, r, svc)
	if res, err := r.RunnerHealth(ctx, svc); res != nil || err != nil {
		t.Fatalf("runner health: %+v, %v; want none", res, err)
	}
}
