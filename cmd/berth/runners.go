package main

import (
	"context"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"sync"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/runtime/container"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
	"github.com/berthdev/berth/runtime/process"
	"github.com/berthdev/berth/runtime/remote"
	"github.com/berthdev/berth/runtime/supervisor"
	"github.com/berthdev/berth/runtime/swarm"
	"github.com/spf13/cobra"
)

// newRegistry lists the runners this build of berth has. A new runner kind
// is one Register line here; factories run only when a service needs them.
func newRegistry(env *metadata.Env, progress io.Writer) *runtime.Registry {
	return newRegistryOf(env, progress, nil)
}

// newRegistryOf is newRegistry with the supervisor client cl, if the
// environment is supervised (nil: a new one).
func newRegistryOf(env *metadata.Env, progress io.Writer, cl *supervisor.Client) *runtime.Registry {
	var hooks *supervisor.EngineHooks
	if !env.Manifest.Supervised() {
		if cl != nil {
			cl.Close() // its survey, asked for before the manifest said so, is not read
		}
		cl = nil
	} else {
		if cl == nil {
			cl = supervisorClient(env.Root)
		}
		hooks = &supervisor.EngineHooks{Paths: cl.Paths, Ensure: cl.Ensure, Reason: "by user", Record: true,
			Warn: func(err error) { fmt.Fprintf(progress, "Warning: %v\n", err) }}
	}
	reg := newRegistryWith(env, progress, func() runtime.Runner {
		p := newProcessRunner()
		if cl != nil {
			r := supervisor.NewRunner(p, cl)
			r.Launched = oneProc
			return r
		}
		return p
	}, hooks)
	if cl != nil {
		// The supervisor's session ends with the registry (the command).
		reg.OnClose(cl.Close)
	}
	return reg
}

// oneProc has a command that starts through the supervisor run its Go code
// on one processor from its first launch on, unless the user set
// GOMAXPROCS: from then on it sends requests, waits for their answers and
// for its services, and makes system calls that leave the processor to its
// other goroutines while they block; its plan, whose inspections run on two
// goroutines, was made before. On two processors, every answer that readied
// a goroutine, and every goroutine a launch started, woke the idle thread,
// which looked for work and slept again (findRunnable, futex, nanosleep):
// about 10 of the command's 45 ms of CPU in a start of 100 on two cores,
// taken from the services starting. The supervisor keeps its processors: a
// launch holds its thread while the child execs (vfork), and on one
// processor nothing else of the supervisor could run meanwhile.
func oneProc() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		setMaxProcs(1)
	}
}

// setMaxProcs is runtime.GOMAXPROCS; tests, which run supervisors in
// their own process, count its calls instead.
var setMaxProcs = goruntime.GOMAXPROCS

// executable is os.Executable, read once: a status asked for it twice
// (the supervisor's argv, the log pipe's), a readlink of /proc/self/exe
// each.
var executable = sync.OnceValues(os.Executable)

func newProcessRunner() *process.Runner {
	var pipe []string
	if exe, err := executable(); err == nil {
		pipe = []string{exe, "internal", "logpipe"}
	}
	return process.New(process.Options{LogPipe: pipe})
}

// supervisorClient reaches the supervisor of the environment at root.
func supervisorClient(root string) *supervisor.Client {
	exe, _ := executable()
	return &supervisor.Client{Paths: supervisor.PathsOf(root), Version: buildVersion(),
		Spawn: []string{exe, "--env", root, "internal", "supervise"}}
}

// newRegistryWith is newRegistry with the given host-process runner; hooks,
// when set, wrap the Docker runners (a supervised environment's).
func newRegistryWith(env *metadata.Env, progress io.Writer, proc func() runtime.Runner, hooks *supervisor.EngineHooks) *runtime.Registry {
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return proc(), nil })
	// One client per Docker host, shared by the runners and closed with
	// the registry.
	clients := &engine.Clients{Endpoint: container.Endpoints(env)}
	reg.OnClose(clients.Close)
	reg.Register(metadata.RunnerContainer, func() (runtime.Runner, error) {
		r := container.New(container.ForEnv(env, clients, progress))
		if hooks != nil {
			return &supervisor.ContainerRunner{Runner: r, Hooks: hooks}, nil
		}
		return r, nil
	})
	reg.Register(metadata.RunnerCompose, func() (runtime.Runner, error) {
		r := compose.New(compose.Options{Root: env.Root, Client: func(ctx context.Context) (*engine.Client, error) {
			return clients.Get(ctx, "")
		}})
		if hooks != nil {
			return &supervisor.ComposeRunner{Runner: r, Hooks: hooks}, nil
		}
		return r, nil
	})
	reg.Register(metadata.RunnerSwarm, func() (runtime.Runner, error) {
		opts, _ := swarm.ForEnv(env, progress)
		if hooks != nil {
			return &supervisor.SwarmRunner{Runner: swarm.New(opts), Hooks: hooks}, nil
		}
		return swarm.New(opts), nil
	})
	reg.Register(metadata.RunnerRemote, func() (runtime.Runner, error) { return remote.New(), nil })
	return reg
}

// newManager opens the environment and returns its lifecycle manager.
func (g *globalOptions) newManager() (*runtime.Manager, error) {
	env, err := g.openEnv()
	if err != nil {
		return nil, err
	}
	g.revive(env)
	reg := newRegistry(env, g.stderr)
	return &runtime.Manager{Env: env, Runners: reg, Progress: g.stderr, Exec: execIn(env, reg)}, nil
}

// execIn runs hook steps and command checks that name in: inside the
// container or compose service, through the Engine API of its daemon (a
// client made on first use and closed with the registry).
func execIn(env *metadata.Env, reg *runtime.Registry) health.InExec {
	clients := &engine.Clients{Endpoint: container.Endpoints(env)}
	reg.OnClose(clients.Close)
	return func(ctx context.Context, in string, argv, vars []string, dir string, out io.Writer) (int, error) {
		t, err := compose.TargetOf(env.Manifest, env.Name(), in)
		if err != nil {
			return -1, err
		}
		host := ""
		if name, _ := metadata.SplitIn(in); env.Manifest.Services[name] != nil {
			host = env.Manifest.Services[name].Host
		}
		c, err := clients.Get(ctx, host)
		if err != nil {
			return -1, err
		}
		return compose.Exec(ctx, c, t, argv, vars, dir, out)
	}
}

// revive starts a new supervisor when the last one was killed while it
// watched services: it adopts them (see supervisor.Client.Revive).
func (g *globalOptions) revive(env *metadata.Env) { g.reviveWith(env, nil) }

// reviveWith is revive through the client cl (nil: a new one).
func (g *globalOptions) reviveWith(env *metadata.Env, cl *supervisor.Client) {
	if !env.Manifest.Supervised() {
		return
	}
	if cl == nil {
		cl = supervisorClient(env.Root)
	}
	if err := cl.Revive(); err != nil {
		fmt.Fprintf(g.stderr, "Warning: %v\n", err)
	}
}

// newInspectManager is newManager for status and stop, which read past a bad
// line in .metadata or config/.env with a warning.
func (g *globalOptions) newInspectManager() (*runtime.Manager, error) {
	return g.newInspectManagerOf(nil)
}

// newStopManager is newInspectManager for a stop: the supervisor, if one
// runs, is asked which launches run while the manifest is read (the
// survey of supervisor.Runner.Survey), and walks /proc for the stops to
// come while the command plans them.
func (g *globalOptions) newStopManager() (*runtime.Manager, error) {
	m, revive, err := g.newSurveyManager(true)
	if err != nil {
		return nil, err
	}
	revive()
	return m, nil
}

// newSurveyManager is the manager of a status (or, stopping, of a stop)
// with its survey asked for, leaving the revive to the caller. A status
// revives once its inspections are done: reviving first waits for the
// supervisor's answer to the survey, which the inspections wait for only
// once they have read their PID files.
func (g *globalOptions) newSurveyManager(stopping bool) (m *runtime.Manager, revive func(), err error) {
	var cl *supervisor.Client
	if root, err := g.findRoot(); err == nil {
		cl = supervisorClient(root)
		if stopping {
			cl.PrefetchLiveForStop()
		} else {
			cl.PrefetchLive()
		}
	}
	env, err := g.openEnvTolerant()
	if err != nil {
		return nil, nil, err
	}
	reg := newRegistryOf(env, g.stderr, cl)
	m = &runtime.Manager{Env: env, Runners: reg, Progress: g.stderr, Exec: execIn(env, reg)}
	return m, func() { g.reviveWith(env, cl) }, nil
}

func (g *globalOptions) newInspectManagerOf(cl *supervisor.Client) (*runtime.Manager, error) {
	env, err := g.openEnvTolerant()
	if err != nil {
		return nil, err
	}
	g.reviveWith(env, cl)
	reg := newRegistryOf(env, g.stderr, cl)
	return &runtime.Manager{Env: env, Runners: reg, Progress: g.stderr, Exec: execIn(env, reg)}, nil
}

func addHostFlag(c *cobra.Command, host *string) {
	c.Flags().StringVar(host, "host", "", "only the services placed on this manifest host")
}

// buildVersion is berth's version with the commit it was built from: a
// supervisor and its clients must be the same build.
func buildVersion() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				v += "+" + s.Value[:min(12, len(s.Value))]
			case s.Key == "vcs.modified" && s.Value == "true":
				v += "-dirty"
			}
		}
	}
	return v
}
