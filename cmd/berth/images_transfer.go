package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
)

type imagesSaveOptions struct{ file string }

func newImagesSaveCommand(g *globalOptions) *cobra.Command {
	opts := &imagesSaveOptions{}
	c := &cobra.Command{
		Use:   "save [IMAGE...] -o FILE",
		Short: "Write runtime images to one archive file (for a CI cache)",
		Long: `Write the named runtime images (all of the manifest's without a name) to FILE
as one archive in the format of docker save, with berth's labels, so that a
later CI job can load them (berth images load FILE) and berth build finds
them current instead of building them again. Every image must be built.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runImagesSave(cmd.Context(), g, args, opts) },
	}
	c.Flags().StringVarP(&opts.file, "output", "o", "", "the archive file to write (required)")
	return c
}

func runImagesSave(ctx context.Context, g *globalOptions, names []string, opts *imagesSaveOptions) error {
	if opts.file == "" {
		return usageError{fmt.Errorf("berth images save needs the file to write: -o FILE")}
	}
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		names = env.Manifest.ImageOrder
	}
	if len(names) == 0 {
		return fmt.Errorf("berth.yaml names no image to save")
	}
	cli, err := engine.NewClient(ctx, engine.Endpoint{})
	if err != nil {
		return err
	}
	defer cli.Close()
	sts, err := images.Statuses(ctx, cli, env)
	if err != nil {
		return err
	}
	byName := map[string]images.Status{}
	for _, st := range sts {
		byName[st.Image] = st
	}
	var tags []string
	for _, name := range names {
		st, ok := byName[name]
		switch {
		case !ok:
			return fmt.Errorf("image %s is not in berth.yaml (berth images lists the images)", name)
		case st.State == images.StateMissing || st.State == images.StateUnknown:
			return fmt.Errorf("image %s cannot be saved: it is %s (%s): berth build %s first", name, st.State, st.Reason, name)
		}
		tags = append(tags, st.Tag)
	}
	if err := images.Save(ctx, cli, tags, opts.file); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "saved %d image(s) to %s\n", len(tags), opts.file)
	return nil
}

func newImagesLoadCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "load FILE",
		Short: "Load runtime images from an archive made by berth images save",
		Long: `Load the images of FILE (made by berth images save or docker save) into the
daemon, labels and tags as they were saved; berth build then finds the images
current for the same component versions and inputs and does nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cli, err := engine.NewClient(cmd.Context(), engine.Endpoint{})
			if err != nil {
				return err
			}
			defer cli.Close()
			return images.Load(cmd.Context(), cli, args[0], g.stdout)
		},
	}
}
