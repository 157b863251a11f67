package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/runtime"
)

// killWait bounds the wait after KILL for all of a service's containers
// together: the daemon reaps and reports each one (see the container
// runner's killWait), and compose services are several at once.
const killWait = 10 * time.Second

// Stop sends each running compose service its stop signal (compose's
// stop_signal, else the berth service's), waits up to the grace period,
// sends KILL after it only when opts.Kill is set, then removes the
// containers and, when the project has none left, its networks (as down).
func (r *Runner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	t, err := r.target(svc)
	if err != nil {
		return err
	}
	c, found, err := r.containers(ctx, t)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		// A failed start can leave the project's network without any
		// container: remove it as down would.
		return r.remove(ctx, c, t, nil)
	}
	signals := map[string]string{}
	if p, err := t.load(svc.Name, append(os.Environ(), svc.OwnEnv...)); err == nil {
		for _, n := range t.names {
			signals[n] = p.Services[n].StopSignal
		}
	}
	sig := opts.Signal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	var running []string
	for _, n := range t.names {
		if s, ok := found[n]; ok && s.State == "running" {
			running = append(running, n)
		}
	}
	left := signalAll(ctx, c, found, running, func(n string) string {
		if s := signals[n]; s != "" {
			return s
		}
		return fmt.Sprint(int(sig))
	}, opts.Grace)
	if len(left) > 0 {
		if !opts.Kill {
			return &runtime.StopTimeoutError{Service: svc.Name, Grace: opts.Grace, Signal: sig}
		}
		if left = signalAll(ctx, c, found, left, func(string) string { return "KILL" }, killWait); len(left) > 0 {
			return fmt.Errorf("compose services %s survived KILL", strings.Join(left, ", "))
		}
	}
	return r.remove(ctx, c, t, found)
}

// remove removes the stopped containers of found, then the project's
// networks once no container of the project is left: what compose down
// does, through the Engine API, which is much faster than compose v1.
func (r *Runner) remove(ctx context.Context, c *engine.Client, t *target, found map[string]dcontainer.Summary) error {
	var errs []error
	for n, s := range found {
		if err := c.ContainerRemove(ctx, s.ID, dcontainer.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove the container of compose service %s: %w", n, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	byProject := filters.NewArgs(filters.Arg("label", LabelProject+"="+t.project))
	rest, err := c.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: byProject})
	if err != nil || len(rest) > 0 {
		return err
	}
	nets, err := c.NetworkList(ctx, network.ListOptions{Filters: byProject})
	if err != nil {
		return fmt.Errorf("list the networks of compose project %s: %w", t.project, err)
	}
	for _, n := range nets {
		if err := c.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove network %s of compose project %s: %w", n.Name, t.project, err)
		}
	}
	return nil
}

// signalAll signals the named services' containers and returns those still
// running after grace.
func signalAll(ctx context.Context, c *engine.Client, found map[string]dcontainer.Summary, names []string, sig func(string) string, grace time.Duration) []string {
	wctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	alive := make([]bool, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		id := found[n].ID
		waitCh, errCh := c.ContainerWait(wctx, id, dcontainer.WaitConditionNotRunning)
		c.ContainerKill(ctx, id, sig(n))
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-waitCh:
			case err := <-errCh:
				alive[i] = !cerrdefs.IsNotFound(err)
			}
		}()
	}
	wg.Wait()
	var left []string
	for i, n := range names {
		if alive[i] {
			left = append(left, n)
		}
	}
	return left
}

// Forget removes the service's compose containers (and the project's
// networks) when none of them runs any more.
func (r *Runner) Forget(ctx context.Context, svc *runtime.Service, h runtime.Handle) error {
	t, err := r.target(svc)
	if err != nil {
		return err
	}
	c, found, err := r.containers(ctx, t)
	if err != nil || len(found) == 0 {
		return err
	}
	for _, s := range found {
		if s.State == "running" {
			return nil
		}
	}
	return r.remove(ctx, c, t, found)
}
