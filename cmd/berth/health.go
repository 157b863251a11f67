package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
	"github.com/berthdev/berth/runtime/supervisor"
)

type healthOptions struct {
	output   string
	watch    bool
	interval time.Duration
}

func newHealthCommand(g *globalOptions) *cobra.Command {
	opts := &healthOptions{}
	c := &cobra.Command{
		Use:   "health [SERVICE...]",
		Short: "Run the health checks of running services",
		Long: `Run the health check of every running service (or of those named) once, all
at the same time, and print one line per service and a summary:

  ✅ gateway: healthy (http 200, 3 ms)
  ❌ tranqu: unhealthy (tcp 127.0.0.1:51020: connection refused)
  ⚪ core: not running
  3 healthy, 1 unhealthy, 3 not running

The exit status is 1 if any running service is unhealthy. With --watch, berth
keeps checking (every --interval, else each check's interval) and prints each
change with a timestamp until interrupted; a service turns unhealthy only after
its check's retries.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runHealth(cmd.Context(), g, args, opts) },
	}
	c.Flags().BoolVarP(&opts.watch, "watch", "w", false, "keep checking and print changes until interrupted")
	c.Flags().DurationVar(&opts.interval, "interval", 0, "with --watch, time between checks (default: each check's interval, 10s)")
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

func runHealth(ctx context.Context, g *globalOptions, names []string, opts *healthOptions) error {
	if opts.interval != 0 && !opts.watch {
		return usagef("--interval applies to --watch only")
	}
	if opts.interval < 0 {
		return usagef("--interval cannot be negative")
	}
	m, err := g.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	if opts.watch {
		enc := json.NewEncoder(g.stdout)
		return m.WatchHealth(ctx, names, opts.interval, func(at time.Time, r health.Report) {
			if outputFormat(opts.output) == outputJSON {
				enc.Encode(struct {
					At time.Time `json:"at"`
					health.Report
				}{at, r})
				return
			}
			fmt.Fprintf(g.stdout, "%s %s\n", at.Format("2006-01-02 15:04:05"), healthLine(g.stdout, r))
		})
	}
	reports, unreachable := m.Health(ctx, names)
	if reports == nil {
		return unreachable
	}
	if outputFormat(opts.output) == outputJSON {
		err = health.RenderJSON(g.stdout, reports)
	} else {
		err = renderHealth(g.stdout, reports)
	}
	if err != nil {
		return err
	}
	if unreachable != nil {
		// Every other service was checked; those whose daemon does not
		// answer fail the command, named.
		return unreachable
	}
	var bad []string
	for _, r := range reports {
		if r.State == health.StateUnhealthy {
			bad = append(bad, r.Service)
		}
	}
	if down := downServices(ctx, m, names); len(down) > 0 {
		for _, d := range down {
			fmt.Fprintf(g.stderr, "%s is down: %s\n", d.Name, d.Why)
		}
		return &ExitError{Code: exitFailure, Err: fmt.Errorf("down: %s, started and not stopped by a user (see berth events %s)", strings.Join(downNames(down), ", "), down[0].Name)}
	}
	if len(bad) > 0 {
		return &ExitError{Code: exitFailure, Err: fmt.Errorf("unhealthy: %s (see berth logs %s)", strings.Join(bad, ", "), bad[0])}
	}
	return nil
}

type downService struct{ Name, Why string }

// downServices are the host services that were started, not stopped by a
// user, and do not run (the supervisor's records say so).
func downServices(ctx context.Context, m *runtime.Manager, names []string) []downService {
	states, err := m.Status(ctx, names, runtime.StatusRequest{})
	if states == nil && err != nil {
		return nil
	}
	supervisor.Attach(supervisor.PathsOf(m.Env.Root), states)
	var out []downService
	for _, st := range states {
		if st.Run == nil || !st.Run.Down {
			continue
		}
		why := st.Run.LastExit
		if why == "" {
			why = "it is not running"
		}
		if st.Run.GaveUp != "" {
			why += ", " + st.Run.GaveUp
		}
		out = append(out, downService{st.Name, why})
	}
	return out
}

func downNames(d []downService) []string {
	out := make([]string, len(d))
	for i, s := range d {
		out[i] = s.Name
	}
	return out
}

// healthLine is a report's line: with its symbol on a terminal that takes
// colour, in plain words otherwise (a pipe, a log, NO_COLOR).
func healthLine(o *outStream, r health.Report) string {
	if o.colorEnabled() {
		return r.Line()
	}
	return r.Plain()
}

func renderHealth(o *outStream, reports []health.Report) error {
	if o.colorEnabled() {
		return health.Render(o, reports)
	}
	return health.RenderPlain(o, reports)
}
