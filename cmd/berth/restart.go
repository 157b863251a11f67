package main

import (
	"context"

	"github.com/spf13/cobra"
)

func newRestartCommand(g *globalOptions) *cobra.Command {
	opts := &stopOptions{}
	c := &cobra.Command{
		Use:   "restart SERVICE...|all",
		Short: "Stop services, then start them again if every stop succeeded",
		Long: `Stop the services (reverse start order), and only if every stop succeeded
start them again in start order. A service whose stop fails is not started.
Dependents and critical services are handled as by stop; with
--with-dependents the dependents stopped are started again too.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRestart(cmd.Context(), g, args, opts) },
	}
	addStopFlags(c, opts)
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

func runRestart(ctx context.Context, g *globalOptions, names []string, opts *stopOptions) error {
	m, p, err := planStops(ctx, g, g.newManager, names, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	stopped, started, err := m.ExecuteRestart(ctx, p)
	if outputFormat(opts.output) == outputJSON {
		if jerr := writeJSON(g.stdout, nonNil(started)); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	// The stop's "<svc>: Stopped" lines come first, as stop prints them
	// (scripts read them), then the start's status block.
	if rerr := reportStops(g, stopped, nil, opts.output); rerr != nil {
		return rerr
	}
	writeStatusBlock(g.stdout, started)
	return err
}
