package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
)

type statusOptions struct{ output, host string }

func init() { registerCommand(newStatusCommand) }

func newStatusCommand(g *globalOptions) *cobra.Command {
	opts := &statusOptions{}
	c := &cobra.Command{
		Use:   "status [SERVICE...]",
		Short: "Show whether each service runs, one line each in manifest order",
		Long: `Show whether each service runs, one line per service in manifest order:
"core: Running (PID 12345)", "web: Running (container 0123456789ab)",
"db: Running (db, minio, mc)" for a compose service, or "core: Stopped".
Other programs may parse these lines. A PID file naming a dead process, or a PID now used by another process,
shows Stopped. status reads only and changes no file.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runStatus(cmd.Context(), g, args, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	addHostFlag(c, &opts.host)
	return c
}

func runStatus(ctx context.Context, g *globalOptions, names []string, opts *statusOptions) error {
	m, err := g.newManager()
	if err != nil {
		return err
	}
	m.Host = opts.host
	states, err := m.Status(ctx, names)
	if err != nil {
		return err
	}
	if outputFormat(opts.output) == outputJSON {
		return writeJSON(g.stdout, states)
	}
	for _, st := range states {
		fmt.Fprintln(g.stdout, statusLine(st))
	}
	return nil
}

// statusLine is the form other programs parse.
func statusLine(st runtime.State) string {
	if st.IsRunning() {
		return fmt.Sprintf("%s: Running (%s)", st.Name, st.Describe())
	}
	return fmt.Sprintf("%s: Stopped", st.Name)
}

// writeStatusBlock is the short block printed after start and restart.
func writeStatusBlock(w io.Writer, states []runtime.State) {
	if len(states) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tPID\tUPTIME")
	for _, st := range states {
		pid, up := "-", "-"
		if st.IsRunning() {
			pid, up = strings.TrimPrefix(st.Describe(), "PID "), st.Uptime
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Name, st.State, pid, up)
	}
	tw.Flush()
}
