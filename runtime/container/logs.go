package container

import (
	"context"
	"io"
	"time"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/logs"
)

// followAcross follows the service's container logs across restarts, as
// `logs -f` of a file follows it across rotation: when the daemon ends the
// stream because the container stopped, it waits, while ctx lives, for the
// service's next container (berth restart makes a new one) and goes on
// with all of that container's lines.
func (r *Runner) followAcross(ctx context.Context, c *engine.Client, svc *runtime.Service, id string, first io.ReadCloser) io.ReadCloser {
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
			next, ok := r.nextContainer(ctx, c, svc, id)
			if !ok {
				pw.Close()
				return
			}
			if rc, err = engine.Logs(ctx, c, next, engine.LogOptions{Follow: true, Tail: -1}); err != nil {
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
	return pr
}

// nextContainer waits until the service has a container other than id
// that has started; false once ctx ends. The daemon keeps no event for "a
// container of this name appeared" that berth could wait on without a
// second stream, so it asks at the interval a followed file is polled at.
func (r *Runner) nextContainer(ctx context.Context, c *engine.Client, svc *runtime.Service, id string) (string, bool) {
	tick := time.NewTicker(logs.DefaultPoll)
	defer tick.Stop()
	for {
		if info, err := r.find(ctx, c, svc); err == nil && info != nil && info.ID != id && info.State != nil && (info.State.Running || info.State.Status == "exited") {
			return info.ID, true
		}
		select {
		case <-ctx.Done():
			return "", false
		case <-tick.C:
		}
	}
}
