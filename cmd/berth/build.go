package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
)

type buildOptions struct {
	force   bool
	noCache bool
	builder string
	output  string
	push    bool
}

func newBuildCommand(g *globalOptions) *cobra.Command {
	opts := &buildOptions{}
	c := &cobra.Command{
		Use:   "build IMAGE... | all",
		Short: "Build the manifest's runtime images for the bound component versions",
		Long: `Build runtime images (for example sse-runtime) through the Docker Engine API
for the component version bound in .metadata. An image whose version and build
inputs (Dockerfile, context files after .dockerignore, build args) are unchanged
is not rebuilt; --force or --no-cache rebuilds it. With --push each image,
built or up to date, is then pushed (with progress) to the registry its
manifest entry names, so that every node of a swarm can pull it by digest;
an image that names no registry is refused before anything is built.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runBuild(cmd.Context(), g, args, opts) },
	}
	c.Flags().BoolVar(&opts.force, "force", false, "build even when the image is current")
	c.Flags().BoolVar(&opts.noCache, "no-cache", false, "build without the daemon's layer cache (implies --force)")
	c.Flags().BoolVar(&opts.push, "push", false, "push each image to the registry its manifest entry names (images.NAME.registry)")
	c.Flags().StringVar(&opts.builder, "builder", "auto", "builder: auto (BuildKit where the daemon has it), classic or buildkit")
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

func runBuild(ctx context.Context, g *globalOptions, names []string, opts *buildOptions) error {
	builder, err := images.ParseBuilder(opts.builder)
	if err != nil {
		return usageError{err}
	}
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	if len(names) == 1 && names[0] == "all" {
		names = env.Manifest.ImageOrder
	}
	specs := make([]*images.Spec, 0, len(names))
	for _, name := range names {
		spec, err := images.SpecFor(env, name)
		if err != nil {
			return err
		}
		if opts.push && env.Manifest.Images[name].Registry == "" {
			return fmt.Errorf("image %s names no registry in berth.yaml, so --push has nowhere to push it: add images.%s.registry (for example registry.example:5000/team) or build it without --push", name, name)
		}
		specs = append(specs, spec)
	}
	// The daemon is reached while the contexts are scanned (a scan's error
	// still comes first); a manifest or image name that is wrong reaches
	// no daemon.
	connect := sync.OnceValues(func() (*engine.Client, error) { return engine.NewClient(ctx, engine.Endpoint{}) })
	go connect()
	defer func() {
		if cli, err := connect(); err == nil {
			cli.Close()
		}
	}()
	// Build output goes with the human text; with -o json it goes to
	// stderr so that stdout stays one JSON document.
	progress := g.stdout
	if outputFormat(opts.output) == outputJSON {
		progress = g.stderr
	}
	bopts := images.BuildOptions{Force: opts.force, NoCache: opts.noCache, Builder: builder, Out: progress, Terminal: progress.IsTerminal(), TerminalFd: progress.FD()}
	var results []*images.Result
	for _, spec := range specs {
		res, err := images.BuildWith(ctx, connect, spec, bopts)
		if err != nil {
			return err
		}
		results = append(results, res)
		if outputFormat(opts.output) == outputText {
			if res.Skipped {
				fmt.Fprintf(g.stdout, "%s: up to date (%s, %s %s)\n", res.Image, res.Tag, spec.Component, res.Version)
			} else {
				fmt.Fprintf(g.stdout, "%s: built %s (%s %s, %s, %.1fs)\n", res.Image, res.Tag, spec.Component, res.Version, res.Builder, res.Duration.Seconds())
			}
		}
		// A registry on the manifest image is where a swarm's nodes pull it.
		if reg := env.Manifest.Images[spec.Name].Registry; opts.push && reg != "" {
			cli, err := connect()
			if err != nil {
				return err
			}
			if res.Pushed, err = images.Push(ctx, cli, res.Tag, reg, progress, progress.FD(), progress.IsTerminal()); err != nil {
				return fmt.Errorf("image %s: %w", spec.Name, err)
			}
			if outputFormat(opts.output) == outputText {
				fmt.Fprintf(g.stdout, "%s: pushed %s\n", res.Image, res.Pushed)
			}
		}
	}
	if outputFormat(opts.output) == outputJSON {
		return writeJSON(g.stdout, results)
	}
	return nil
}
