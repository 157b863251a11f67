package swarm_test

import (
	"context"
	"errors"
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

// TestPullPolicies: swarm.pull works as container.pull does, through the
// same code: never refuses an absent image naming it and the fix, missing
// pulls it (from a registry served by this process) and the service runs
// the pulled image.
func TestPullPolicies(t *testing.T) {
	t.Parallel()
	testkit.RequireDocker(t, cliErr)
	ctx := context.Background()
	addr, pulls, stop, err := imagetest.CountingRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ref := fmt.Sprintf("%s/berth-swarmpull-%d:1", addr, os.Getpid())
	if err := imagetest.PushOnly(ctx, cli, testImg, ref); err != nil {
		t.Fatal(err)
	}
	defer imagetest.Remove(cli, ref)
	pushed := pulls.Load()
	r := newRunner(t, nil)

	svc := service(t, metadata.SwarmSpec{Image: ref, Pull: metadata.PullNever})
	_, err = r.Start(ctx, svc)
	var me *swarm.MissingImageError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "swarm.pull is never") || pulls.Load() != pushed {
		t.Fatalf("start with pull never: %v (%d pulls); want a MissingImageError naming %s and the fix", err, pulls.Load()-pushed, ref)
	}

	svc = service(t, metadata.SwarmSpec{Image: ref, Restart: &metadata.SwarmRestart{Condition: metadata.RestartAny}})
	h, err := r.Start(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second})
	if pulls.Load() == pushed {
		t.Fatal("start with pull missing did not pull the absent image")
	}
	waitReady(t, r, svc)
	info, err := cli.ImageInspect(ctx, ref)
	st, _ := r.Inspect(ctx, svc)
	if d, _ := st.Detail.(swarm.Detail); err != nil || len(d.Tasks) != 1 || d.Tasks[0].Image != info.ID {
		t.Fatalf("tasks %+v (%v); want one running the pulled %s", st.Detail, err, info.ID)
	}
}
