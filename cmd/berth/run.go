package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

func newRunCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "run [TASK [ARGS...]]",
		Short: "Run a task of the manifest, or list the tasks",
		Long: `Run one of the tasks berth.yaml declares (tasks:), in the foreground, with
its arguments checked against their declared choices; berth exits with the
task's exit code. Without a task, list the tasks with their descriptions.
The backend template declares device-status (show|active|inactive|maintenance),
as the OQTOPUS CLI's backend device-status.`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: g.completeTask,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return runListTasks(g)
			}
			return runTask(cmd.Context(), g, args[0], args[1:])
		},
	}
	// Everything after the task's name is the task's own.
	c.Flags().SetInterspersed(false)
	return c
}

func runListTasks(g *globalOptions) error {
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	m := env.Manifest
	if len(m.TaskOrder) == 0 {
		fmt.Fprintf(g.stdout, "no tasks: declare them under tasks: in %s\n", env.Path(metadata.ManifestFile))
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	for _, name := range m.TaskOrder {
		fmt.Fprintf(tw, "%s\t%s\n", runtime.TaskUsage(name, m.Tasks[name]), m.Tasks[name].Description)
	}
	return tw.Flush()
}

func runTask(ctx context.Context, g *globalOptions, name string, args []string) error {
	m, err := g.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	code, err := m.RunTask(ctx, name, args, g.stdin, g.stdout, g.stderr)
	var ue *runtime.TaskUsageError
	if errors.As(err, &ue) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// completeTask completes task names (with their descriptions), then each
// argument's declared choices.
func (g *globalOptions) completeTask(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	env, err := g.openEnv()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	m := env.Manifest
	if len(args) == 0 {
		var out []string
		for _, name := range m.TaskOrder {
			out = append(out, name+"\t"+strings.ReplaceAll(m.Tasks[name].Description, "\t", " "))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	t := m.Tasks[args[0]]
	if t == nil || len(args)-1 >= len(t.Args) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	a := t.Args[len(args)-1]
	if len(a.Choices) == 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return a.Choices, cobra.ShellCompDirectiveNoFileComp
}
