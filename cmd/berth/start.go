package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

type startOptions struct {
	// skipRunning: a named service that runs already is skipped (up).
	skipRunning bool
	foreground  bool
	noDeps      bool
	parallel    int
	output      string
	host        string
	profiles    []string
}

func newStartCommand(g *globalOptions) *cobra.Command {
	return startCommand(g, &startOptions{})
}

func startCommand(g *globalOptions, opts *startOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "start SERVICE...|all",
		Short: "Start services, detached, in start order",
		Long: `Start services detached from berth, in start order (depends_on first, then
the manifest's start_order, then manifest order), with their stopped
dependencies unless --no-deps. Services that do not depend on each other
start concurrently (--parallel); a dependent waits until its dependencies
are started or, with condition healthy, healthy. A service with a health
check must become healthy within its start_timeout. A named service that
already runs is an error and nothing starts; with all, running services are
skipped. A service that conflicts with a running one is refused. If one
service fails, berth launches nothing more; services already started stay
running.

With --foreground, one service runs attached to the terminal; berth forwards
INT, TERM and HUP to it and exits with its exit code (128+N for signal N).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runStart(cmd.Context(), g, args, opts) },
	}
	c.Flags().BoolVar(&opts.foreground, "foreground", false, "run one service attached to the terminal until it exits")
	c.Flags().BoolVar(&opts.noDeps, "no-deps", false, "start only the services named, not their stopped dependencies")
	c.Flags().IntVar(&opts.parallel, "parallel", runtime.DefaultParallel, "how many services to launch at once (1: one after another, each once the one before is ready)")
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	addHostFlag(c, &opts.host)
	c.Flags().StringArrayVar(&opts.profiles, "profile", nil, "with all: also start the services of this profile (repeatable)")
	return c
}

func runStart(ctx context.Context, g *globalOptions, names []string, opts *startOptions) error {
	if opts.foreground && (len(names) != 1 || names[0] == runtime.All) {
		return usagef("--foreground runs exactly one service: name one service, not all or several")
	}
	if len(opts.profiles) > 0 && (len(names) != 1 || names[0] != runtime.All) {
		return usagef("--profile selects services for all: give all (or berth up without names), or name the services")
	}
	if opts.parallel < 1 {
		return usagef("--parallel must be at least 1")
	}
	m, err := g.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	req := runtime.StartRequest{Host: opts.host, Parallel: opts.parallel, NoDeps: opts.noDeps, SkipRunning: opts.skipRunning, Profiles: opts.profiles}
	if opts.foreground {
		return runForeground(ctx, g.streams, m, names[0], req)
	}
	p, err := m.PlanStart(ctx, names, req)
	if err != nil {
		return err
	}
	for _, n := range p.Pulled {
		fmt.Fprintf(g.stderr, "starting dependency %s\n", n)
	}
	states, err := m.Execute(ctx, p)
	if outputFormat(opts.output) == outputJSON {
		if jerr := writeJSON(g.stdout, nonNil(states)); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		writeStatusBlock(g.stdout, states)
	}
	return err
}

func runForeground(ctx context.Context, s *streams, m *runtime.Manager, name string, req runtime.StartRequest) error {
	in, out, errOut, release, err := s.files()
	if err != nil {
		return err
	}
	defer release()
	sigs, stop := process.NotifyForeground()
	defer stop()
	exit, err := m.Foreground(ctx, name, runtime.Stdio{Stdin: in, Stdout: out, Stderr: errOut, Signals: sigs}, req)
	if err != nil {
		return err
	}
	if code := exit.ExitCode(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
