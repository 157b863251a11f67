package main

import (
	"context"

	"github.com/spf13/cobra"
)

func newUpdateCommand(g *globalOptions) *cobra.Command {
	opts := &installOptions{}
	c := &cobra.Command{
		Use:   "update COMPONENT|all",
		Short: "Install a component's latest stable version and bind this environment to it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpdate(cmd.Context(), g, args[0], opts)
		},
	}
	addInstallFlags(c, opts)
	return c
}

// runUpdate is install without a version: the latest stable tag.
func runUpdate(ctx context.Context, g *globalOptions, name string, opts *installOptions) error {
	return runInstall(ctx, g, name, "", opts)
}
