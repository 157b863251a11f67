package supervisor

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// handle records one event of the daemon's stream if it is of one of the
// environment's services and was not handled before (the stream of a new
// connection starts with the events since the cursor).
func (e *engineWatch) handle(ctx context.Context, api engine.API, m events.Message) {
	at := time.Unix(0, m.TimeNano)
	e.mu.Lock()
	seen := !at.After(e.since)
	e.mu.Unlock()
	if seen {
		return
	}
	var handled bool
	switch m.Type {
	case events.ContainerEventType:
		handled = e.container(ctx, api, m, at)
	case events.ServiceEventType:
		handled = e.service(ctx, api, m)
	}
	if !handled {
		return
	}
	e.mu.Lock()
	e.since = at
	e.mu.Unlock()
	if err := writeCursor(e.paths, at); err != nil {
		e.logf("engine cursor: %v", err)
	}
}

// container handles a container's event; it says whether the container is
// one of the environment's.
func (e *engineWatch) container(ctx context.Context, api engine.API, m events.Message, at time.Time) bool {
	svc, runner := e.t.of(m.Actor.Attributes)
	if svc == "" {
		return false
	}
	id := m.Actor.ID
	if stoppedBy(e.paths, svc, at) == foreground {
		return true // a foreground run: never supervised
	}
	ev := Event{At: at, Service: svc, Runner: runner, Container: id, Task: m.Actor.Attributes[labelTask],
		Unsupervised: at.Before(e.born)}
	action, status, _ := strings.Cut(string(m.Action), ": ")
	switch action {
	case "start":
		e.started(ctx, api, &ev)
	case "die":
		if stoppedBy(e.paths, svc, at) != "" {
			// berth stopped it and recorded the stop itself.
			e.gone(ctx, api, id, at, false)
			return true
		}
		code, _ := strconv.ParseInt(m.Actor.Attributes["exitCode"], 10, 64)
		ev.Kind, ev.Exit = EventExited, exitInfo(runtime.ExitOfCode(code), at)
		if e.exited(ctx, api, &ev) {
			// Recorded before the container is forgotten: the last one
			// gone lets the supervisor exit, and its exit must be in the
			// log by then.
			e.record(ev)
			e.gone(ctx, api, id, at, false)
			return true
		}
	case "kill":
		if stoppedBy(e.paths, svc, at) != "" {
			return true
		}
		n, _ := strconv.Atoi(m.Actor.Attributes["signal"])
		ev.Kind, ev.Exit = EventKilled, &ExitInfo{Signal: metadata.SignalName(syscall.Signal(n)), Code: 128 + n, At: at.UTC()}
		if ev.Exit.Signal == "" {
			ev.Exit.Signal = strconv.Itoa(n)
		}
	case "oom":
		ev.Kind = EventOOM
	case "health_status":
		ev.Kind, ev.Reason = EventUnhealthy, "docker's health check"
		if status == "healthy" {
			ev.Kind = EventHealthy
		}
	case "destroy":
		e.gone(ctx, api, id, at, true)
		return true
	default:
		return true
	}
	e.record(ev)
	return true
}

// started fills the event of a container start: the engine's restart of
// a container that exited, a Swarm task that replaces a failed one, or a
// start.
func (e *engineWatch) started(ctx context.Context, api engine.API, ev *Event) {
	e.mu.Lock()
	e.alive[ev.Container] = ev.Service
	restarted := e.died[ev.Container]
	delete(e.died, ev.Container)
	failed := e.failed[ev.Service]
	if ev.Task != "" {
		delete(e.failed, ev.Service)
	}
	e.mu.Unlock()
	ev.Kind = EventStarted
	switch {
	case restarted:
		info, err := api.ContainerInspect(ctx, ev.Container)
		if err != nil || info.HostConfig == nil || !restartPolicy(string(info.HostConfig.RestartPolicy.Name)) {
			return // started again by someone, not by a policy
		}
		ev.Kind, ev.Restarts = EventRestarted, info.RestartCount
		ev.Reason = "policy " + string(info.HostConfig.RestartPolicy.Name)
	case ev.Task != "" && failed != "":
		ev.Reason = "replaces failed task " + shortID(failed)
	}
}

func restartPolicy(name string) bool { return name != "" && name != "no" }

// exited fills the event of a container's exit not made by berth and
// says whether the container is gone for good (the engine does not bring
// it back).
func (e *engineWatch) exited(ctx context.Context, api engine.API, ev *Event) (gone bool) {
	if ev.Task != "" {
		ev.Reason = "task " + shortID(ev.Task) + " failed"
		e.mu.Lock()
		e.failed[ev.Service] = ev.Task
		e.mu.Unlock()
		return true
	}
	e.mu.Lock()
	e.died[ev.Container] = true
	e.mu.Unlock()
	info, err := api.ContainerInspect(ctx, ev.Container)
	if err == nil && info.State != nil && info.State.Restarting && info.HostConfig != nil {
		ev.Reason = "docker restarts it (policy " + string(info.HostConfig.RestartPolicy.Name) + ")"
		return false
	}
	if err == nil && info.State != nil && info.State.Running {
		// Started again since this exit: the event was read late (a
		// backfill, a busy supervisor). Docker did it when the container
		// has a restart policy and started after the exit.
		if started, perr := time.Parse(time.RFC3339Nano, info.State.StartedAt); perr == nil && !started.Before(ev.At) &&
			info.HostConfig != nil && restartPolicy(string(info.HostConfig.RestartPolicy.Name)) {
			ev.Reason = "docker restarts it (policy " + string(info.HostConfig.RestartPolicy.Name) + ")"
		}
		return false
	}
	return true
}

// gone forgets a container that no longer runs; the supervisor may exit
// when it was the environment's last running object (not while the
// events it missed are read: those after it must be recorded too).
func (e *engineWatch) gone(ctx context.Context, api engine.API, id string, at time.Time, destroyed bool) {
	e.mu.Lock()
	_, was := e.alive[id]
	was = was && !at.Before(e.connected)
	delete(e.alive, id)
	if destroyed {
		delete(e.died, id)
	}
	e.mu.Unlock()
	if was {
		e.stillIdle(ctx, api)
	}
}

// service handles a Swarm service's event: the environment's services
// count as running from their creation to their removal (their tasks come
// and go under Swarm's restart policy).
func (e *engineWatch) service(ctx context.Context, api engine.API, m events.Message) bool {
	id := m.Actor.ID
	switch m.Action {
	case "create", "update":
		s, _, err := api.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		if err != nil || s.Spec.Labels[labelEnv] != e.t.env || e.t.runners[s.Spec.Labels[labelSvc]] != metadata.RunnerSwarm {
			return false
		}
		e.mu.Lock()
		e.swarmIDs[id], e.alive[id] = s.Spec.Labels[labelSvc], s.Spec.Labels[labelSvc]
		e.mu.Unlock()
		return true
	case "remove":
		e.mu.Lock()
		_, ours := e.swarmIDs[id]
		delete(e.swarmIDs, id)
		e.mu.Unlock()
		if ours {
			e.gone(ctx, api, id, time.Unix(0, m.TimeNano), true)
		}
		return ours
	}
	return false
}
