package main

import (
	"context"
	"io"
	"os"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/runtime/container"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
	"github.com/berthdev/berth/runtime/process"
	"github.com/spf13/cobra"
)

// newRegistry lists the runners this build of berth has. A new runner kind
// is one Register line here; factories run only when a service needs them.
func newRegistry(env *metadata.Env) *runtime.Registry {
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) {
		var pipe []string
		if exe, err := os.Executable(); err == nil {
			pipe = []string{exe, "internal", "logpipe"}
		}
		return process.New(process.Options{LogPipe: pipe}), nil
	})
	reg.Register(metadata.RunnerContainer, func() (runtime.Runner, error) {
		return container.New(container.ForEnv(env)), nil
	})
	reg.Register(metadata.RunnerCompose, func() (runtime.Runner, error) {
		clients := container.ForEnv(env).Client
		return compose.New(compose.Options{Root: env.Root, Client: func(ctx context.Context) (*images.Client, error) {
			return clients(ctx, "")
		}}), nil
	})
	return reg
}

// newManager opens the environment and returns its lifecycle manager.
func (g *globalOptions) newManager() (*runtime.Manager, error) {
	env, err := g.openEnv()
	if err != nil {
		return nil, err
	}
	return &runtime.Manager{Env: env, Runners: newRegistry(env), Progress: g.stderr, Exec: execIn(env)}, nil
}

// execIn runs hook steps and command checks that name in: inside the
// container or compose service, through the Engine API of its daemon.
func execIn(env *metadata.Env) health.InExec {
	clients := container.ForEnv(env).Client
	return func(ctx context.Context, in string, argv, vars []string, dir string, out io.Writer) (int, error) {
		t, err := compose.TargetOf(env.Manifest, env.Name(), in)
		if err != nil {
			return -1, err
		}
		host := ""
		if name, _ := metadata.SplitIn(in); env.Manifest.Services[name] != nil {
			host = env.Manifest.Services[name].Host
		}
		c, err := clients(ctx, host)
		if err != nil {
			return -1, err
		}
		return compose.Exec(ctx, c, t, argv, vars, dir, out)
	}
}

func addHostFlag(c *cobra.Command, host *string) {
	c.Flags().StringVar(host, "host", "", "only the services placed on this manifest host")
}
