package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

type pullOptions struct{ output string }

func newPullCommand(g *globalOptions) *cobra.Command {
	opts := &pullOptions{}
	c := &cobra.Command{
		Use:   "pull [SERVICE...]",
		Short: "Pull the images of container and swarm services",
		Long: `Pull, through the Docker daemon, the image of every container and swarm
service (or of those named), whether or not the daemon has it, as pull: always
would at start. Images berth builds (manifest images: berth build) and services
with pull: never are skipped, saying so, as are services that run no image.
Progress goes to stderr, redrawn per layer on a terminal; then one line per
service:

  web: pulled registry.example:5000/team/web:1.4
  api: skipped (berth builds it: build it with berth build api)

The exit status is 1 if a pull failed; the other services are pulled.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runPull(cmd.Context(), g, args, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

func runPull(ctx context.Context, g *globalOptions, names []string, opts *pullOptions) error {
	m, err := g.newManager()
	if err != nil {
		return err
	}
	defer m.Close()
	results, err := m.Pull(ctx, names)
	if outputFormat(opts.output) == outputJSON {
		if results == nil && err != nil {
			return err
		}
		if jerr := writeJSON(g.stdout, results); jerr != nil {
			return jerr
		}
		return err
	}
	var b strings.Builder
	for _, r := range results {
		switch {
		case r.Pulled:
			fmt.Fprintf(&b, "%s: pulled %s\n", r.Service, r.Image)
		case r.Skipped != "":
			fmt.Fprintf(&b, "%s: skipped (%s)\n", r.Service, r.Skipped)
		default:
			fmt.Fprintf(&b, "%s: failed\n", r.Service)
		}
	}
	fmt.Fprint(g.stdout, b.String())
	return err
}
