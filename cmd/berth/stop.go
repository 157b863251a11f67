package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
)

type stopOptions struct {
	timeout time.Duration
	force   bool
	output  string
	host    string
}

func init() { registerCommand(newStopCommand) }

func addStopFlags(c *cobra.Command, opts *stopOptions) {
	c.Flags().DurationVar(&opts.timeout, "timeout", 0, "grace period after the stop signal (default: each service's stop_timeout, 5s)")
	c.Flags().BoolVar(&opts.force, "force", false, "send KILL to a service still running when the grace period ends")
	addHostFlag(c, &opts.host)
}

func newStopCommand(g *globalOptions) *cobra.Command {
	opts := &stopOptions{}
	c := &cobra.Command{
		Use:   "stop SERVICE...|all",
		Short: "Stop services in reverse start order",
		Long: `Stop services in reverse start order: the stop signal (TERM unless the
manifest says) goes to the service's whole process group, then berth waits for
the exit up to the grace period. KILL is sent only with --force. A service
without a PID file, or whose process is gone, is reported Stopped. stop all goes
on past failures and exits non-zero at the end, naming each failure.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runStop(cmd.Context(), g, args, opts) },
	}
	addStopFlags(c, opts)
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

type stopReport struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	WasRunning bool   `json:"was_running"`
	PID        int    `json:"pid,omitempty"`
	Error      string `json:"error,omitempty"`
}

func runStop(ctx context.Context, g *globalOptions, names []string, opts *stopOptions) error {
	if opts.timeout < 0 {
		return usagef("--timeout cannot be negative")
	}
	m, err := g.newManager()
	if err != nil {
		return err
	}
	m.Host = opts.host
	results, err := m.Stop(ctx, names, runtime.StopRequest{Grace: opts.timeout, Force: opts.force})
	return reportStops(g, results, err, opts.output)
}

func reportStops(g *globalOptions, results []runtime.StopResult, err error, output string) error {
	if outputFormat(output) == outputJSON {
		out := []stopReport{}
		for _, r := range results {
			rep := stopReport{Name: r.Name, State: runtime.Stopped, WasRunning: r.WasRunning, PID: r.PID}
			if r.Err != nil {
				rep.State, rep.Error = runtime.Running, r.Err.Error()
			}
			out = append(out, rep)
		}
		if jerr := writeJSON(g.stdout, out); jerr != nil && err == nil {
			return jerr
		}
		return err
	}
	for _, r := range results {
		if r.Err == nil {
			fmt.Fprintf(g.stdout, "%s: Stopped\n", r.Name)
		}
	}
	return err
}
