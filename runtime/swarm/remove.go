package swarm

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// Removing a service while Swarm's task reaper deletes some of its tasks
// crashes the whole daemon on Docker 20.10 (swarmkit before November 2025):
// the orchestrator lists the service's tasks, the reaper deletes one, and
// SetServiceTasksRemove then reads the deleted task (nil) and panics. The
// reaper deletes two kinds of task: those with desired state "remove" once
// they have ended (every task of a service scaled down, which is how berth
// stops one), and old tasks beyond the history limit of a slot that just
// got a new task (in batches, 250 ms after the event). So berth removes a
// service only when neither kind can be under way: no task desires
// "remove" and none was created within reaperQuiet.
const (
	reaperQuiet = 750 * time.Millisecond
	// settleMax bounds the wait: past it berth removes the service anyway
	// (the old behaviour, racy only on an old daemon).
	settleMax  = 20 * time.Second
	settlePoll = 50 * time.Millisecond
)

// reapable says whether Swarm's task reaper may be deleting a task of ts
// at now, and why.
func reapable(ts []swarm.Task, now time.Time) (bool, string) {
	for _, t := range ts {
		if t.DesiredState == swarm.TaskStateRemove {
			return true, fmt.Sprintf("task %s is being removed (%s)", shortID(t.ID), t.Status.State)
		}
		if now.Sub(t.Meta.CreatedAt) < reaperQuiet {
			return true, fmt.Sprintf("task %s was just created", shortID(t.ID))
		}
	}
	return false, ""
}

// RemoveService removes the Swarm service id once the daemon's task reaper
// is not deleting any of its tasks (see reapable), waiting at most
// settleMax; a service already gone is not an error. Tests use it too.
func RemoveService(ctx context.Context, c API, id string) error {
	return removeSettled(ctx, c, id, nil)
}

// removeSettled is RemoveService starting from ts, the service's tasks just
// listed, when not nil.
func removeSettled(ctx context.Context, c API, id string, ts []swarm.Task) error {
	deadline := time.Now().Add(settleMax)
	for {
		if ts == nil {
			var err error
			if ts, err = c.TaskList(ctx, swarm.TaskListOptions{Filters: serviceFilter(id)}); err != nil {
				break // a service already gone has no task list; the removal says what is wrong
			}
		}
		if busy, _ := reapable(ts, time.Now()); !busy || time.Now().After(deadline) {
			break
		}
		ts = nil
		t := time.NewTimer(settlePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if err := c.ServiceRemove(ctx, id); err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	return nil
}

func serviceFilter(id string) filters.Args { return filters.NewArgs(filters.Arg("service", id)) }
