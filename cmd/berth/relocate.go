package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
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

func runRelocate(ctx context.Context, g *globalOptions) error {
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
	reportForeignRecords(ctx, g, root)
	return nil
}

// reportForeignRecords says which PID files a copied environment brought
// along: they name the original's services, which this copy shows as
// Stopped and never signals.
func reportForeignRecords(ctx context.Context, g *globalOptions, root string) {
	m, err := g.newManager()
	if err != nil || m.Env.Root != root {
		return
	}
	states, _ := m.Status(ctx, nil, runtime.StatusRequest{})
	for _, st := range states {
		if st.Warning != "" {
			fmt.Fprintf(g.stdout, "%s: Stopped here: %s\n", st.Name, st.Warning)
		}
	}
}
