package swarm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/runtime"
)

// killWait is how long the runner waits past the grace period for Swarm's
// own KILL to end the tasks (Swarm sends it when the service's stop grace
// period ends, whatever berth asks).
const killWait = 10 * time.Second

// Stop removes the service, as docker stack rm does, and waits for the
// tasks it had to end; then it removes the secrets and configs made for
// it, and the environment's network once no service of the environment is
// left. Swarm sends each task the stop signal and, after the service's stop
// grace period, KILL: no task outlives the grace period. (Scaling to no
// task first costs an update and a wait for Swarm's task reaper before the
// removal can be made safely: see RemoveService.)
func (r *Runner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	c, err := r.client(ctx)
	if err != nil {
		return err
	}
	s, err := r.find(ctx, c, svc)
	if err != nil || s == nil {
		return err
	}
	ts, err := r.tasks(ctx, c, s.ID)
	if err != nil {
		return err
	}
	if err := RemoveService(ctx, c, s.ID); err != nil {
		return fmt.Errorf("remove swarm service %s: %w", Name(svc), err)
	}
	grace := max(opts.Grace, svc.StopGrace)
	if err := r.waitEnded(ctx, c, svc.Environment, ts, grace+killWait); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("the tasks of swarm service %s did not end within %s after the stop signal and Swarm's KILL", Name(svc), grace+killWait)
	}
	r.pruneFiles(context.WithoutCancel(ctx), c, svc, nil)
	r.pruneNetwork(context.WithoutCancel(ctx), c, svc.Environment)
	return nil
}

// waitEnded waits until none of the tasks ts (of a service of environment
// now removed: they are found by ID) may still run, or within has passed.
// It reads the environment's view, which the stops of its other services
// share.
func (r *Runner) waitEnded(ctx context.Context, c API, environment string, ts []swarm.Task, within time.Duration) error {
	var ids []string
	for _, t := range ts {
		if !terminal(t.Status.State) {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		snap, err := r.view(wctx, c, environment)
		if err == nil {
			var left []swarm.Task
			for _, id := range ids {
				if t, ok := snap.all[id]; ok {
					left = append(left, t)
				}
			}
			if !anyLive(left) {
				return nil
			}

		} else if wctx.Err() != nil {
			return wctx.Err()
		} else if err := r.pause(wctx); err != nil {
			return err
		}
	}
}

// anyLive says whether a task's container may still run, whatever its
// desired state. A task that was never assigned to a node and is no longer
// wanted never runs (a stop during a rolling update leaves such tasks
// "new" or "pending" for good).
func anyLive(ts []swarm.Task) bool {
	for _, t := range ts {
		if !terminal(t.Status.State) && !(unassigned(t.Status.State) && terminal(t.DesiredState)) {
			return true
		}
	}
	return false
}

// unassigned says whether a task in state s has not reached a node yet.
func unassigned(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateNew, swarm.TaskStateAllocated, swarm.TaskStatePending:
		return true
	}
	return false
}

// NotPlaceableError means the swarm has no node that can run a task of
// the service.
type NotPlaceableError struct {
	Service, Reason string
}

func (e *NotPlaceableError) Error() string {
	return fmt.Sprintf("service %s: the swarm cannot place its tasks: %s: check swarm.constraints and swarm.resources in berth.yaml against the nodes (docker node ls)", e.Service, e.Reason)
}

// Ready says whether every desired task of the service runs (Swarm counts
// a task running once the image's own health check passes) and no update
// is under way. A task that cannot be placed, a paused or rolled-back
// update, and an ended task that will not be replaced are errors; other
// waits give a detail saying what is awaited.
func (r *Runner) Ready(ctx context.Context, svc *runtime.Service, _ runtime.Handle) (bool, string, error) {
	c, err := r.client(ctx)
	if err != nil {
		return false, "", err
	}
	snap, err := r.view(ctx, c, svc.Environment)
	if err != nil {
		return false, "", err
	}
	s := snap.byName[Name(svc)]
	var ts []swarm.Task
	if s != nil && owned(svc, s.Spec.Labels) {
		ts = snap.tasks[s.ID]
	} else {
		// Not among the environment's services: gone, or not berth's.
		if s, err = r.find(ctx, c, svc); err != nil {
			return false, "", err
		}
		if s == nil {
			return false, "", fmt.Errorf("service %s: swarm service %s is gone", svc.Name, Name(svc))
		}
		if ts, err = r.tasks(ctx, c, s.ID); err != nil {
			return false, "", err
		}
	}
	want := replicas(s)
	up := 0
	for _, t := range ts {
		if !active(t) {
			continue
		}
		if t.Status.State == swarm.TaskStateRunning {
			up++
		}
		if t.Status.State == swarm.TaskStatePending && t.Status.Err != "" {
			return false, "", &NotPlaceableError{Service: svc.Name, Reason: t.Status.Err}
		}
	}
	if u := s.UpdateStatus; u != nil {
		switch u.State {
		case swarm.UpdateStatePaused, swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
			return false, "", fmt.Errorf("service %s: the swarm's update %s: %s", svc.Name, strings.ReplaceAll(string(u.State), "_", " "), u.Message)
		case swarm.UpdateStateUpdating, swarm.UpdateStateRollbackStarted:
			return false, fmt.Sprintf("updating, %d/%d tasks running", up, want), nil
		}
	}
	if uint64(up) >= want {
		return true, fmt.Sprintf("%d/%d tasks running", up, want), nil
	}
	if !running(s, ts) {
		if last := lastEnded(ts); last != nil {
			return false, "", &runtime.StartFailedError{Service: svc.Name, Exit: exitOf(*last)}
		}
	}
	detail := fmt.Sprintf("%d/%d tasks running", up, want)
	if last := lastEnded(ts); last != nil && last.Status.Err != "" {
		detail += "; last task " + describeEnd(*last)
	}
	return false, detail, nil
}

// ErrNoSwarm means the daemon is not a swarm manager.
var ErrNoSwarm = errors.New("this Docker daemon is not a swarm manager: make it one (docker swarm init) or point DOCKER_HOST at a manager")

// updateService updates s with the spec made from its current version,
// reading it again when the swarm changed it meanwhile ("update out of
// sequence": the orchestrator records its own progress in the service).
func updateService(ctx context.Context, c API, s *swarm.Service, spec func(*swarm.Service) swarm.ServiceSpec) error {
	cur := *s
	for attempt := 0; ; attempt++ {
		_, err := c.ServiceUpdate(ctx, cur.ID, cur.Version, spec(&cur), swarm.ServiceUpdateOptions{})
		if err == nil || attempt == 4 || !strings.Contains(err.Error(), "out of sequence") {
			return err
		}
		if cur, _, err = c.ServiceInspectWithRaw(ctx, cur.ID, swarm.ServiceInspectOptions{}); err != nil {
			return err
		}
	}
}
