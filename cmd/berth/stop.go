package main

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/supervisor"
)

type stopOptions struct {
	timeout          time.Duration
	force            bool
	withDependents   bool
	ignoreDependents bool
	yes              bool
	output           string
	host             string
}

func addStopFlags(c *cobra.Command, opts *stopOptions) {
	c.Flags().DurationVar(&opts.timeout, "timeout", 0, "grace period after the stop signal (default: each service's stop_timeout, 5s)")
	c.Flags().BoolVar(&opts.force, "force", false, "send KILL to a service still running when the grace period ends")
	addHostFlag(c, &opts.host)
	c.Flags().BoolVar(&opts.withDependents, "with-dependents", false, "also stop the running services that depend on those named, first")
	c.Flags().BoolVar(&opts.ignoreDependents, "ignore-dependents", false, "stop the services named even while services that depend on them run")
	c.Flags().BoolVarP(&opts.yes, "yes", "y", false, "stop critical services without asking")
	c.MarkFlagsMutuallyExclusive("with-dependents", "ignore-dependents")
}

func (o *stopOptions) request() runtime.StopRequest {
	return runtime.StopRequest{Host: o.host, Grace: o.timeout, Force: o.force, WithDependents: o.withDependents, IgnoreDependents: o.ignoreDependents}
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
on past failures and exits non-zero at the end, naming each failure.

A service that running services depend on is refused, naming them, unless
--with-dependents (they are stopped first) or --ignore-dependents; stop all
needs neither. A running service marked critical: true asks "Stop <svc>?
This affects: ... [y/N]" when stdin is a terminal; --yes answers for scripts,
and without a terminal and without --yes berth refuses.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runStop(cmd.Context(), g, args, opts) },
	}
	addStopFlags(c, opts)
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

type stopReport struct {
	Name       string `json:"name"`
	Service    string `json:"service"`
	State      string `json:"state"`
	WasRunning bool   `json:"was_running"`
	Unmanaged  bool   `json:"unmanaged,omitempty"`
	PID        int    `json:"pid,omitempty"`
	Error      string `json:"error,omitempty"`
}

func runStop(ctx context.Context, g *globalOptions, names []string, opts *stopOptions) error {
	m, p, err := planStops(ctx, g, g.newStopManager, names, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	results, err := m.ExecuteStop(ctx, p)
	// A service that had crashed is down no more once a user stops it.
	cl := supervisorClient(m.Env.Root)
	defer cl.Close()
	for _, r := range results {
		if r.Err == nil && !r.WasRunning {
			supervisor.StoppedWhileDown(cl, r.Name)
		}
	}
	return reportStops(g, results, err, opts.output)
}

// planStops plans the stops of stop and restart and asks before stopping a
// critical service.
// newManager is g.newManager, or g.newStopManager for a plain stop,
// which reads past a bad line in .metadata or config/.env and asks a
// supervisor for its live launches while the manifest is read.
func planStops(ctx context.Context, g *globalOptions, newManager func() (*runtime.Manager, error), names []string, opts *stopOptions) (*runtime.Manager, *runtime.StopPlan, error) {
	if opts.timeout < 0 {
		return nil, nil, usagef("--timeout cannot be negative")
	}
	m, err := newManager()
	if err != nil {
		return nil, nil, err
	}
	p, err := m.PlanStop(ctx, names, opts.request())
	if err == nil {
		err = confirmStops(g, m, p, opts.yes)
	}
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, p, nil
}

func reportStops(g *globalOptions, results []runtime.StopResult, err error, output string) error {
	if outputFormat(output) == outputJSON {
		out := []stopReport{}
		for _, r := range results {
			rep := stopReport{Name: r.Name, Service: r.Name, State: runtime.Stopped, WasRunning: r.WasRunning, Unmanaged: r.Unmanaged, PID: r.PID}
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
	// One write for every line: a stop all of 100 wrote 100 times, at the
	// very end of the command.
	out := bufio.NewWriter(g.stdout)
	for _, r := range results {
		switch {
		case r.Err == nil && r.Unmanaged:
			fmt.Fprintf(out, "%s: remote, berth does not stop it: nothing to do\n", r.Name)
		case r.Err == nil:
			fmt.Fprintf(out, "%s: Stopped\n", r.Name)
		}
	}
	out.Flush() // as each line's write before, a failed write is not the stop's
	return err
}
