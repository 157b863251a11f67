package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata/component"
	"github.com/berthdev/berth/runtime"
)

type uninstallOptions struct{ output string }

func newUninstallCommand(g *globalOptions) *cobra.Command {
	opts := &uninstallOptions{}
	c := &cobra.Command{
		Use:   "uninstall COMPONENT vX.Y.Z|branch:NAME",
		Short: "Remove an installed release or this environment's branch install",
		Long: `Remove a release directory from install_root (any environment may use it; a
binding to it stays, with a warning) or this environment's branch install
$ENV_ROOT/COMPONENT together with its binding. Only what berth installed is removed.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUninstall(cmd.Context(), g, args[0], args[1], opts)
		},
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

func runUninstall(ctx context.Context, g *globalOptions, name, version string, opts *uninstallOptions) error {
	if err := component.ValidateName(name); err != nil {
		return usageError{err}
	}
	target, err := component.ParseTarget(version)
	if err != nil {
		return usageError{err}
	}
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	// A tree a running service of this environment uses is not deleted
	// under it.
	m := &runtime.Manager{Env: env, Runners: newRegistry(env, g.stderr), Progress: g.stderr}
	inUse := func(dir string) ([]string, error) { return m.UsersOf(ctx, name, dir) }
	res, err := component.Uninstall(ctx, env, name, target, inUse)
	if err != nil {
		return err
	}
	if res.StillBound {
		fmt.Fprintf(g.stderr, "warning: this environment still binds %s=%s, which is no longer installed: run `berth install %s %s` or `berth update %s` before starting it\n",
			env.BindingKey(name), res.Target, name, res.Target, name)
	}
	if outputFormat(opts.output) == outputJSON {
		return writeJSON(g.stdout, res)
	}
	fmt.Fprintf(g.stdout, "%s %s uninstalled (removed %s)\n", name, res.Target, res.Dir)
	if res.Unbound {
		fmt.Fprintf(g.stdout, "%s removed from .metadata\n", env.BindingKey(name))
	}
	return nil
}
