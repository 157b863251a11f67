package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
)

func newRelocateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "relocate",
		Short: "Record a moved environment's new place in .metadata",
		Long: `An environment remembers where it was created (environment_root in .metadata).
After moving its directory, run relocate inside it to record the new place.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRelocate(cmd.Context(), g) },
	}
}

func runRelocate(_ context.Context, g *globalOptions) error {
	root, err := g.findRoot()
	if err != nil {
		return err
	}
	metadata.MigrateLegacyKeys(root)
	env, err := metadata.OpenUnchecked(root)
	if err != nil {
		return err
	}
	old, _ := env.Meta.Get(metadata.KeyEnvironmentRoot)
	if err := env.UpdateMetadata(func(m *metadata.Metadata) error {
		m.Set(metadata.KeyEnvironmentRoot, root)
		return nil
	}); err != nil {
		return err
	}
	if old == root {
		fmt.Fprintf(g.stdout, "%s already records its place\n", root)
	} else {
		fmt.Fprintf(g.stdout, "environment_root: %s -> %s\n", old, root)
	}
	return nil
}
