package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
	"github.com/berthdev/berth/runtime/process"
	"github.com/berthdev/berth/runtime/supervisor"
)

// newSuperviseCommand is the supervisor itself (berth internal supervise),
// spawned by the first detached start of a host service.
func newSuperviseCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "supervise",
		Short: "Be the environment's supervisor until its last service stops",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := g.findRoot()
			if err != nil {
				return err
			}
			var ready *os.File
			readyFD := -1
			if fd, err := strconv.Atoi(os.Getenv("BERTH_SUPERVISOR_READY_FD")); err == nil && fd > 2 {
				readyFD = fd
			}
			process.CloseInherited(readyFD)
			if readyFD > 2 {
				syscall.CloseOnExec(readyFD)
				ready = os.NewFile(uintptr(readyFD), "ready")
				os.Unsetenv("BERTH_SUPERVISOR_READY_FD")
			}
			proc := newProcessRunner()
			return supervisor.Serve(supervisor.Config{Root: root, Version: buildVersion(), Process: proc, Ready: ready,
				Registry: func(env *metadata.Env) *runtime.Registry {
					// Its own stops of Docker-run services (a crash's
					// dependents) are recorded by the cascade, not as crashes.
					hooks := &supervisor.EngineHooks{Paths: supervisor.PathsOf(root), Reason: "by the supervisor"}
					return newRegistryWith(env, io.Discard, func() runtime.Runner { return proc }, hooks)
				},
				Engine: engineOf(root),
				Logf: func(format string, args ...any) {
					fmt.Fprintf(g.stderr, format+"\n", args...)
				}})
		},
	}
}

func newSupervisorCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "supervisor",
		Short: "Show or replace the environment's supervisor",
		Long: `The supervisor is one berth process per environment that launches its detached
host services, restarts them by policy and records their exits, and records
what the Docker engine reports of the container, compose and Swarm services
(see berth events). The first detached start spawns it; it exits when the last
of the environment's services stops. It is on unless berth.yaml says supervisor: false
(BERTH_SUPERVISOR=0 or 1 decides for one command).`,
		Example: `  berth supervisor status   # is one running, and what does it watch
  berth supervisor replace  # hand the services to a supervisor of this berth`,
	}
	c.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Say whether a supervisor runs and what it watches",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := g.findRoot()
			if err != nil {
				return err
			}
			cl := supervisorClient(root)
			pid, err := cl.Hello()
			if errors.Is(err, supervisor.ErrNotRunning) {
				fmt.Fprintln(g.stdout, "supervisor: not running")
				return nil
			}
			if err != nil {
				return err
			}
			recs, err := cl.Watched()
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "supervisor: running (PID %d), watching %d service(s)\n", pid, len(recs))
			for _, r := range recs {
				fmt.Fprintf(g.stdout, "  %s: PID %d, restart %s, %d restart(s)\n", r.Service, r.PID, r.Policy, r.Restarts)
			}
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "replace",
		Short: "Hand the running services to a new supervisor of this berth (they keep running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := g.findRoot()
			if err != nil {
				return err
			}
			cl := supervisorClient(root)
			if err := cl.Detach(); err != nil && !errors.Is(err, supervisor.ErrNotRunning) {
				return err
			}
			if err := cl.Ensure(); err != nil {
				return err
			}
			pid, err := cl.Hello()
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "supervisor: running (PID %d)\n", pid)
			return nil
		},
	})
	return c
}

// engineOf reaches the default Docker daemon of the environment at root,
// one client made on first use (the supervisor reconnects through it).
func engineOf(root string) supervisor.EngineDial {
	clients := &engine.Clients{}
	return func(ctx context.Context) (engine.API, error) {
		env, err := metadata.OpenTolerant(root)
		if err != nil {
			return nil, err
		}
		if clients.Endpoint == nil {
			clients.Endpoint = container.Endpoints(env)
		}
		c, err := clients.Get(ctx, "")
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
