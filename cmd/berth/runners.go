package main

import (
	"os"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// newRegistry lists the runners this build of berth has. A new runner kind
// is one Register line here; factories run only when a service needs them.
func newRegistry() *runtime.Registry {
	reg := runtime.NewRegistry()
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) {
		var pipe []string
		if exe, err := os.Executable(); err == nil {
			pipe = []string{exe, "internal", "logpipe"}
		}
		return process.New(process.Options{LogPipe: pipe}), nil
	})
	return reg
}

// newManager opens the environment and returns its lifecycle manager.
func (g *globalOptions) newManager() (*runtime.Manager, error) {
	env, err := g.openEnv()
	if err != nil {
		return nil, err
	}
	return &runtime.Manager{Env: env, Runners: newRegistry(), Progress: g.stderr}, nil
}
