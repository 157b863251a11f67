package swarm

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/images/engine/enginetest"
)

func TestReapable(t *testing.T) {
	now := time.Now()
	old := swarm.Meta{CreatedAt: now.Add(-time.Minute)}
	task := func(desired, state swarm.TaskState, meta swarm.Meta) swarm.Task {
		return swarm.Task{ID: "t", Meta: meta, DesiredState: desired, Status: swarm.TaskStatus{State: state}}
	}
	for _, tc := range []struct {
		name string
		ts   []swarm.Task
		want bool
	}{
		{"no task", nil, false},
		{"running", []swarm.Task{task(swarm.TaskStateRunning, swarm.TaskStateRunning, old)}, false},
		{"old history", []swarm.Task{task(swarm.TaskStateShutdown, swarm.TaskStateShutdown, old)}, false},
		{"scaled down, ended", []swarm.Task{task(swarm.TaskStateRemove, swarm.TaskStateShutdown, old)}, true},
		{"scaled down, running", []swarm.Task{task(swarm.TaskStateRemove, swarm.TaskStateRunning, old)}, true},
		{"just created", []swarm.Task{task(swarm.TaskStateRunning, swarm.TaskStateNew, swarm.Meta{CreatedAt: now.Add(-100 * time.Millisecond)})}, true},
	} {
		if got, why := reapable(tc.ts, now); got != tc.want {
			t.Errorf("%s: reapable = %v (%s), want %v", tc.name, got, why, tc.want)
		}
	}
}

// TestRemoveServiceWaitsForTheReaper: the service is removed only once the
// tasks with desired state "remove" are gone from the task list.
func TestRemoveServiceWaitsForTheReaper(t *testing.T) {
	lists := 0
	removedAt := -1
	f := &enginetest.Fake{
		TaskListFunc: func(context.Context, swarm.TaskListOptions) ([]swarm.Task, error) {
			lists++
			if lists < 3 {
				return []swarm.Task{{ID: "t1", DesiredState: swarm.TaskStateRemove, Status: swarm.TaskStatus{State: swarm.TaskStateShutdown}}}, nil
			}
			return nil, nil
		},
		ServiceInspectFunc: func(context.Context, string) (swarm.Service, error) { return swarm.Service{}, nil },
		ServiceRemoveFunc:  func(context.Context, string) error { removedAt = lists; return nil },
	}
	if err := RemoveService(context.Background(), f, "svc1"); err != nil {
		t.Fatal(err)
	}
	if removedAt != 3 {
		t.Fatalf("service removed after %d task lists, want after the third (the first without a task being removed)", removedAt)
	}
}
