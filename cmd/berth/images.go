package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
)

type imagesOptions struct{ output string }

func newImagesCommand(g *globalOptions) *cobra.Command {
	opts := &imagesOptions{}
	c := &cobra.Command{
		Use:   "images",
		Short: "Tell whether each runtime image is current, stale or missing",
		Long: `List the manifest's runtime images with their tag and whether each is
current (built from the component version bound in .metadata with the same
Dockerfile, context files and build args), stale (built, but from another
version or other inputs: berth build rebuilds it) or missing. berth compares
the labels it puts on every image it builds; nothing is built or pulled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runImages(cmd.Context(), g, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	c.AddCommand(newImagesSaveCommand(g), newImagesLoadCommand(g))
	return c
}

func runImages(ctx context.Context, g *globalOptions, opts *imagesOptions) error {
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	sts := []images.Status{}
	if len(env.Manifest.ImageOrder) > 0 {
		cli, err := engine.NewClient(ctx, engine.Endpoint{})
		if err != nil {
			return err
		}
		defer cli.Close()
		if sts, err = images.Statuses(ctx, cli, env); err != nil {
			return err
		}
	}
	if outputFormat(opts.output) == outputJSON {
		return writeJSON(g.stdout, sts)
	}
	for _, st := range sts {
		switch st.State {
		case images.StateCurrent:
			fmt.Fprintf(g.stdout, "%s: current (%s, %s %s)\n", st.Image, st.Tag, st.Component, st.Version)
		default:
			fmt.Fprintf(g.stdout, "%s: %s (%s)\n", st.Image, st.State, st.Reason)
		}
	}
	return nil
}
