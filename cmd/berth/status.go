package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/supervisor"
	"github.com/berthdev/berth/runtime/swarm"
)

type statusOptions struct {
	output, host string
	services     bool
	filter       []string
}

func newStatusCommand(g *globalOptions) *cobra.Command {
	opts := &statusOptions{}
	c := &cobra.Command{
		Use:     "status [SERVICE...]",
		Aliases: []string{"ps"},
		Short:   "Show whether each service runs, one line each in manifest order",
		Long: `Show whether each service runs, one line per service in manifest order:
"core: Running (PID 12345)", "web: Running (container 0123456789ab)",
"db: Running (lab_db_1, lab_minio_1, lab_mc_1)" for a compose service, or "core: Stopped"
("box: Unknown" when a container's Docker daemon does not answer; exit 1).
Other programs may parse these lines. A PID file naming a dead process, or a
PID now used by another process, shows Stopped. status changes no record of
a service (it may refresh berth's copy of the parsed manifest in .berth/).

-o wide adds uptime, health (each running service's health check, run once),
a container's published ports and image and, under the supervisor, restarts
and the last exit in columns; -o json has the health and, under the
supervisor, run (restarts, last exit and exit code).

For scripts, --services prints only the names of the services shown, one per
line, and --filter KEY=VALUE (repeatable; state, runner, host or health)
shows only the services that match: --filter state=running --services lists
what runs.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runStatus(cmd.Context(), g, args, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputWide, outputJSON)
	addHostFlag(c, &opts.host)
	c.Flags().BoolVar(&opts.services, "services", false, "print only the names of the services shown, one per line")
	c.Flags().StringArrayVar(&opts.filter, "filter", nil, "show only services matching KEY=VALUE: state (running, stopped, unknown), runner, host, health")
	c.RegisterFlagCompletionFunc("filter", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []string
		for _, k := range []string{"state", "runner", "health"} {
			for _, v := range filterKeys[k] {
				out = append(out, k+"="+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func runStatus(ctx context.Context, g *globalOptions, names []string, opts *statusOptions) error {
	filter, err := parseStatusFilter(opts.filter)
	if err != nil {
		return err
	}
	if opts.services && outputFormat(opts.output) != outputText {
		return usagef("--services prints names only: it takes no -o")
	}
	m, revive, err := g.newSurveyManager(false)
	if err != nil {
		return err
	}
	defer m.Close()
	// A service that cannot be inspected is shown as Unknown among the
	// others, and its error ends the command with exit 1.
	states, err := m.Status(ctx, names, runtime.StatusRequest{Host: opts.host})
	revive()
	if states == nil {
		return err
	}
	// A record berth cannot trust reads Stopped (nothing is signalled on
	// its word), but never silently.
	for _, st := range states {
		if st.Warning != "" {
			fmt.Fprintf(g.stderr, "warning: %s: %s\n", st.Name, st.Warning)
		}
	}
	if outputFormat(opts.output) != outputText {
		supervisor.Attach(supervisor.PathsOf(m.Env.Root), states)
	}
	if filter.needsHealth() {
		m.CheckHealth(ctx, states)
	}
	states = filter.apply(states)
	if opts.services {
		var b strings.Builder
		for _, st := range states {
			b.WriteString(st.Name + "\n")
		}
		io.WriteString(g.stdout, b.String())
		return err
	}
	switch outputFormat(opts.output) {
	case outputJSON:
		if !filter.needsHealth() {
			m.CheckHealth(ctx, states)
		}
		if jerr := writeJSON(g.stdout, states); jerr != nil {
			return jerr
		}
		return err
	case outputWide:
		if !filter.needsHealth() {
			m.CheckHealth(ctx, states)
		}
		writeStatusTable(g.stdout, states, true, newWideInfo(m.Env))
		return err
	}
	// One write for all lines, not one per service, each appended in
	// place rather than formatted apart (fmt: 8 KB for 100 lines).
	b := make([]byte, 0, 40*len(states))
	for _, st := range states {
		b = append(appendStatusLine(b, st), '\n')
	}
	g.stdout.Write(b)
	return err
}

// statusLine is the form other programs parse.
func statusLine(st runtime.State) string { return string(appendStatusLine(nil, st)) }

// appendStatusLine appends st's statusLine to b.
func appendStatusLine(b []byte, st runtime.State) []byte {
	b = append(b, st.Name...)
	switch {
	case st.IsRunning():
		b = append(b, ": Running ("...)
		if st.Detail != nil {
			b = append(b, st.Describe()...)
		} else { // Describe's own form, without its fmt
			b = strconv.AppendInt(append(b, "PID "...), int64(st.PID), 10)
		}
		return append(b, ')')
	case st.State == runtime.Unknown:
		return append(b, ": Unknown"...)
	}
	return append(b, ": Stopped"...)
}

// writeStatusBlock is the short block printed after start and restart;
// a HEALTH column is added when a service was waited for through its check.
func writeStatusBlock(w io.Writer, states []runtime.State) {
	withHealth := false
	for _, st := range states {
		withHealth = withHealth || st.Health != ""
	}
	writeStatusTable(w, states, withHealth, nil)
}

// writeStatusTable writes states as a table; wide, if not nil, adds the
// PORTS and IMAGE columns of status -o wide.
func writeStatusTable(w io.Writer, states []runtime.State, withHealth bool, wide *wideInfo) {
	if len(states) == 0 {
		return
	}
	// tabwriter writes a row cell by cell and pads apart: the table of a
	// start or status of 100 services took about 1,000 writes to the
	// stream, each a system call on a file or terminal. It goes out whole.
	bw := bufio.NewWriterSize(w, 16<<10)
	defer bw.Flush()
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	head := "SERVICE\tSTATE\tPID\tUPTIME"
	if withHealth {
		head += "\tHEALTH"
	}
	withRuns := false
	for _, st := range states {
		withRuns = withRuns || st.Run != nil
	}
	if withRuns {
		head += "\tRESTARTS\tLAST EXIT"
	}
	if wide != nil {
		head += "\tPORTS\tIMAGE"
	}
	fmt.Fprintln(tw, head)
	for _, st := range states {
		pid, up, h := "-", "-", "-"
		if st.IsRunning() {
			pid, up = strings.TrimPrefix(st.Describe(), "PID "), st.Uptime
			if st.Health != "" {
				h = st.Health
				if st.HealthDetail != "" {
					h += " (" + st.HealthDetail + ")"
				}
			}
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s", st.Name, st.State, pid, up)
		if withHealth {
			line += "\t" + h
		}
		if withRuns {
			line += "\t" + runColumns(st.Run)
		}
		if wide != nil {
			line += "\t" + wide.columns(st.Name)
		}
		fmt.Fprintln(tw, line)
		if wide != nil {
			writeSwarmTasks(tw, st, withHealth, withRuns)
		}
	}
	tw.Flush()
}

// writeSwarmTasks writes, under a swarm service of status -o wide, one row
// per task: NAME.SLOT, its state (and error), its node, its health (Docker's,
// where the image has a HEALTHCHECK) and its image.
func writeSwarmTasks(w io.Writer, st runtime.State, withHealth, withRuns bool) {
	d, ok := st.Detail.(swarm.Detail)
	if !ok {
		return
	}
	for _, t := range d.Tasks {
		state := t.State
		if t.Desired != t.State && t.Desired != "" {
			state += ", desired " + t.Desired
		}
		if t.Error != "" {
			state += " (" + t.Error + ")"
		}
		node := t.Node
		if len(node) > 12 {
			node = node[:12]
		}
		row := fmt.Sprintf("  %s.%d\t%s\tnode %s\t", st.Name, t.Slot, state, dash(node))
		if withHealth {
			row += "\t" + dash(t.Health)
		}
		if withRuns {
			row += "\t\t"
		}
		fmt.Fprintf(w, "%s\t\t%s\n", row, dash(t.Image))
	}
}

// runColumns is the RESTARTS and LAST EXIT columns of status -o wide:
// "2\tsignal KILL 3m ago, gave up after 2 restarts".
func runColumns(r *runtime.RunInfo) string {
	if r == nil {
		return "-\t-"
	}
	last := "-"
	if r.LastExit != "" {
		last = r.LastExit
		if r.ExitedAt != nil {
			last += " " + time.Since(*r.ExitedAt).Truncate(time.Second).String() + " ago"
		}
	}
	for _, note := range []string{r.GaveUp, stoppedNote(r.Stopped)} {
		if note != "" {
			last += ", " + note
		}
	}
	return fmt.Sprintf("%d\t%s", r.Restarts, last)
}

func stoppedNote(s string) string {
	if s == "" {
		return ""
	}
	return "stopped " + s
}
