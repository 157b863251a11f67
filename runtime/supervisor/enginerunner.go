package supervisor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
	"github.com/berthdev/berth/runtime/swarm"
)

// EngineHooks are what berth does around the start and stop of a
// Docker-run service of a supervised environment: a start makes sure a
// supervisor runs (it records the engine's events of the service); a stop
// marks its window, so that the deaths of the service's containers within
// it are not taken for crashes, and records itself ("stopped: by user").
type EngineHooks struct {
	Paths Paths
	// Ensure starts a supervisor when none runs; nil starts none (the
	// supervisor's own stops).
	Ensure func() error
	// Warn tells the user that no supervisor could be started (the
	// service runs anyway, under its engine's policy).
	Warn func(error)
	// Reason is why its stops are made ("by user"); Record says a stop
	// records the event itself.
	Reason string
	Record bool
}

func (k *EngineHooks) ensure(svc *runtime.Service) {
	if k.Ensure == nil || svc.Host != "" {
		return
	}
	if err := k.Ensure(); err != nil && k.Warn != nil {
		k.Warn(fmt.Errorf("service %s runs, but its events are not recorded: %w", svc.Name, err))
	}
}

// start runs start with a supervisor serving the environment: one is
// started first, so that the engine's events of the start are seen as
// they come, and looked for again after (one that was exiting meanwhile
// is replaced; the new one reads the events it missed).
func (k *EngineHooks) start(ctx context.Context, svc *runtime.Service, start func() (runtime.Handle, error)) (runtime.Handle, error) {
	k.ensure(svc)
	h, err := start()
	if err == nil {
		k.ensure(svc)
	}
	return h, err
}

// stop runs stop inside a stop mark of svc.
func (k *EngineHooks) stop(svc *runtime.Service, h runtime.Handle, reason string, stop func() error) error {
	from := time.Now()
	if err := updateMarks(k.Paths, svc.Name, func(ms []stopMark) []stopMark {
		return append(ms, stopMark{From: from, Reason: reason})
	}); err != nil {
		return fmt.Errorf("service %s: record its stop: %w", svc.Name, err)
	}
	err := stop()
	updateMarks(k.Paths, svc.Name, func(ms []stopMark) []stopMark {
		i := slices.IndexFunc(ms, func(m stopMark) bool { return m.From.Equal(from) })
		switch {
		case i < 0:
		case err != nil:
			ms = slices.Delete(ms, i, i+1)
		default:
			ms[i].To = time.Now()
		}
		return ms
	})
	if err == nil && k.Record && reason == k.Reason {
		e := Event{Service: svc.Name, Kind: EventStopped, Reason: reason, Runner: svc.Runner}
		if svc.Runner == metadata.RunnerContainer {
			e.Container = h.ID
		}
		AppendEvent(k.Paths, e)
	}
	return err
}

// foreground marks a foreground run's window.
const foreground = "foreground"

// ContainerRunner is the container runner with EngineHooks.
type ContainerRunner struct {
	*container.Runner
	Hooks *EngineHooks
}

func (r *ContainerRunner) Start(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	return r.Hooks.start(ctx, svc, func() (runtime.Handle, error) { return r.Runner.Start(ctx, svc) })
}

func (r *ContainerRunner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	return r.Hooks.stop(svc, h, r.Hooks.Reason, func() error { return r.Runner.Stop(ctx, svc, h, opts) })
}

// Run marks a foreground run as a stop from its start: it ends with berth,
// and is never supervised.
func (r *ContainerRunner) Run(ctx context.Context, svc *runtime.Service, stdio runtime.Stdio, launched func(runtime.Handle)) (ex runtime.Exit, err error) {
	r.Hooks.stop(svc, runtime.Handle{}, foreground, func() error {
		ex, err = r.Runner.Run(ctx, svc, stdio, launched)
		return nil
	})
	return ex, err
}

// ComposeRunner is the compose runner with EngineHooks.
type ComposeRunner struct {
	*compose.Runner
	Hooks *EngineHooks
}

func (r *ComposeRunner) Start(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	return r.Hooks.start(ctx, svc, func() (runtime.Handle, error) { return r.Runner.Start(ctx, svc) })
}

func (r *ComposeRunner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	return r.Hooks.stop(svc, h, r.Hooks.Reason, func() error { return r.Runner.Stop(ctx, svc, h, opts) })
}

// SwarmRunner is the Swarm runner with EngineHooks.
type SwarmRunner struct {
	*swarm.Runner
	Hooks *EngineHooks
}

func (r *SwarmRunner) Start(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	return r.Hooks.start(ctx, svc, func() (runtime.Handle, error) { return r.Runner.Start(ctx, svc) })
}

func (r *SwarmRunner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	return r.Hooks.stop(svc, h, r.Hooks.Reason, func() error { return r.Runner.Stop(ctx, svc, h, opts) })
}

// Restart is Swarm's rolling restart: its old tasks' ends are no crash.
func (r *SwarmRunner) Restart(ctx context.Context, svc *runtime.Service) (h runtime.Handle, err error) {
	err = r.Hooks.stop(svc, h, "restarted by user", func() error {
		h, err = r.Runner.Restart(ctx, svc)
		return err
	})
	return h, err
}
