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
		Long: `Install the newest stable vX.Y.Z tag of the component's git remote (as
berth install COMPONENT without a version does), run its setup steps and
build its runtime images, then bind .metadata to it. A release already
installed under install_root is reused. "all" updates every component in
manifest order and stops at the first failure. Running services keep the
version they started with until they are restarted.`,
		Args: cobra.ExactArgs(1),
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
