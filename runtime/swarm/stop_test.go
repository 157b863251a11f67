package swarm_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/swarm"
)

// removeWatch is the real daemon's client, noting for each ServiceRemove
// the service's tasks that Swarm's task reaper may be deleting at that
// moment: removing the service then crashes a Docker 20.10 daemon.
type removeWatch struct {
	swarm.API
	mu      sync.Mutex
	removes int
	racy    []string
}

func (w *removeWatch) ServiceRemove(ctx context.Context, id string) error {
	ts, err := w.API.TaskList(ctx, dswarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
	w.mu.Lock()
	w.removes++
	for _, t := range ts {
		if t.DesiredState == dswarm.TaskStateRemove || time.Since(t.Meta.CreatedAt) < 250*time.Millisecond {
			w.racy = append(w.racy, fmt.Sprintf("task %s (desired %s, state %s, created %s ago)", t.ID, t.DesiredState, t.Status.State, time.Since(t.Meta.CreatedAt).Round(time.Millisecond)))
		}
	}
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.API.ServiceRemove(ctx, id)
}

// TestStopNeverRacesTheTaskReaper: stop (scale to 0, tasks end, remove)
// and stop right after a rolling restart remove the service only when no
// task of it is being reaped, and the daemon stays up throughout.
func TestStopNeverRacesTheTaskReaper(t *testing.T) {
	t.Parallel()
	newRunner(t, nil) // skips without a daemon
	w := &removeWatch{API: cli}
	r := swarm.New(swarm.Options{Client: func(context.Context) (swarm.API, error) { return w, nil }, Poll: 50 * time.Millisecond})
	ctx := context.Background()
	two := uint64(2)
	svc := service(t, metadata.SwarmSpec{Replicas: &two})
	for cycle := range 3 {
		h, err := r.Start(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		waitReady(t, r, svc)
		if cycle == 1 {
			if _, err := r.Restart(ctx, svc); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 2 * time.Second}); err != nil {
			t.Fatalf("cycle %d: stop: %v", cycle, err)
		}
		if _, err := cli.Info(ctx); err != nil {
			t.Fatalf("cycle %d: the daemon is gone after stop: %v", cycle, err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.removes != 3 || len(w.racy) > 0 {
		t.Fatalf("%d removals; removed while the task reaper may delete: %v", w.removes, w.racy)
	}
}
