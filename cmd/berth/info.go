package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
)

type infoOptions struct {
	output string
	raw    bool
}

func newInfoCommand(g *globalOptions) *cobra.Command {
	opts := &infoOptions{}
	c := &cobra.Command{
		Use:   "info",
		Short: "Print the environment's .metadata",
		Long: `Print the environment's .metadata as it is on disk, one key=value line
each: template, install_root, environment_name, environment_root, created_at and
a COMPONENT_version line for each component bound (vX.Y.Z for a shared release,
branch:NAME for a branch checkout). -o json gives the same keys as an object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInfo(cmd.Context(), g, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	c.Flags().BoolVar(&opts.raw, "raw", false, "print .metadata exactly as stored, byte for byte (as the OQTOPUS CLI's info does)")
	return c
}

func runInfo(_ context.Context, g *globalOptions, opts *infoOptions) error {
	if opts.raw {
		if outputFormat(opts.output) == outputJSON {
			return usagef("--raw prints the file itself; it does not go with -o json")
		}
		root, err := g.findRoot()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(root, metadata.MetadataFile))
		if err != nil {
			return err
		}
		_, err = g.stdout.Write(data)
		return err
	}
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	pairs := env.Meta.Pairs()
	if outputFormat(opts.output) == outputJSON {
		obj := map[string]string{}
		for _, p := range pairs {
			obj[p[0]] = p[1]
		}
		return writeJSON(g.stdout, obj)
	}
	for _, p := range pairs {
		fmt.Fprintf(g.stdout, "%s=%s\n", p[0], p[1])
	}
	for _, old := range env.Meta.Migrated {
		fmt.Fprintf(g.stderr, "note: legacy key %s in %s is read as its new name; berth renames it once the file is writable\n", old, env.Path(metadata.MetadataFile))
	}
	return nil
}
