package container

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/logs"
)

// lastTime is the time of the last line a follow passed on.
type lastTime struct {
	mu sync.Mutex
	t  time.Time
}

func (l *lastTime) set(t time.Time) { l.mu.Lock(); l.t = t; l.mu.Unlock() }
func (l *lastTime) get() time.Time  { l.mu.Lock(); defer l.mu.Unlock(); return l.t }

// followLogs opens a follow of the service's container logs that goes on
// across restarts, as `logs -f` of a file follows it across rotation: when
// the daemon ends the stream because the container stopped, it waits, while
// ctx lives, for the container to run again and goes on from there. A new
// container (berth restart makes one) is followed from its first line; the
// same container started again by Docker (a restart policy) is followed from
// just after the last line passed on, so no line is lost or repeated.
func (r *Runner) followLogs(ctx context.Context, c *engine.Client, svc *runtime.Service, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	last := &lastTime{}
	first, err := engine.Logs(ctx, c, id, engine.LogOptions{Follow: true, Tail: opts.Tail, Since: opts.Since, Times: last.set})
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		rc := first
		for {
			_, err := io.Copy(pw, rc)
			rc.Close()
			if err != nil && ctx.Err() == nil {
				pw.CloseWithError(err)
				return
			}
			next, startedAt, ok := r.runsAgain(ctx, c, svc, id)
			if !ok {
				pw.Close()
				return
			}
			lo := engine.LogOptions{Follow: true, Tail: -1, Times: last.set}
			if next == id {
				// After the last line; with none yet, this run's lines.
				lo.Since = startedAt
				if t := last.get(); !t.IsZero() {
					lo.Since = t.Add(time.Nanosecond)
				}
			}
			if rc, err = engine.Logs(ctx, c, next, lo); err != nil {
				pw.CloseWithError(err)
				return
			}
			id = next
		}
	}()
	go func() {
		// Ctrl-C ends the read at once, also while waiting for a container.
		select {
		case <-ctx.Done():
			pw.CloseWithError(ctx.Err())
		case <-done:
		}
	}()
	return pr, nil
}

// runsAgain waits until the service's container runs again: container id
// itself, started again in place by a restart policy (or still running,
// if the daemon ended the stream for another reason), or a new container
// that has started; false once ctx ends. It reads the container's state
// when the daemon reports a start of a container of that name (subscribed
// before the first read, so none is missed); if the daemon's event stream
// fails, it reads the state at the interval a followed file is polled at.
func (r *Runner) runsAgain(ctx context.Context, c *engine.Client, svc *runtime.Service, id string) (string, time.Time, bool) {
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	started, failed := c.Events(ectx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)), filters.Arg("container", Name(svc)), filters.Arg("event", "start"))})
	var poll <-chan time.Time
	for {
		info, err := r.find(ctx, c, svc)
		if err == nil && info != nil && info.State != nil {
			switch {
			// A container waiting out its restart policy's delay is
			// Running and Restarting: the run to follow is not there yet.
			case info.ID == id && info.State.Running && !info.State.Restarting:
				started, _ := time.Parse(time.RFC3339Nano, info.State.StartedAt)
				return id, started, true
			case info.ID != id && (info.State.Running || info.State.Status == "exited"):
				return info.ID, time.Time{}, true
			}
		}
		select {
		case <-ctx.Done():
			return "", time.Time{}, false
		case <-started:
		case <-failed:
			started, failed = nil, nil
			tick := time.NewTicker(logs.DefaultPoll)
			defer tick.Stop()
			poll = tick.C
		case <-poll:
		}
	}
}
