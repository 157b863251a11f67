package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
)

func newValidateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the environment's berth.yaml, .metadata and config/.env",
		Long: `Check the environment's manifest (berth.yaml), .metadata and config/.env, and
report every problem at once with its file and line, including every variable
berth.yaml uses that is not defined (neither by berth, config/.env nor the
shell) and has no default. Every command runs the other checks first; validate
runs only the checks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runValidate(cmd.Context(), g) },
	}
}

func runValidate(_ context.Context, g *globalOptions) error {
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	for _, skipped := range env.DotEnv.Skipped {
		fmt.Fprintf(g.stderr, "Warning: %s\n", skipped)
	}
	if ps := env.Problems(); len(ps) > 0 {
		return fmt.Errorf("%s: %d problem(s):\n  %s", env.Path(metadata.MetadataFile), len(ps), strings.Join(ps, "\n  "))
	}
	if vs := env.UndefinedVariables(); len(vs) > 0 {
		return fmt.Errorf("%d undefined variable(s):\n  %s", len(vs), strings.Join(vs, "\n  "))
	}
	m := env.Manifest
	fmt.Fprintf(g.stdout, "%s is valid: %d component(s), %d image(s), %d service(s)\n",
		m.Path, len(m.ComponentOrder), len(m.ImageOrder), len(m.ServiceOrder))
	return nil
}
