package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
)

type versionsOptions struct {
	repo   string
	output string
}

func newVersionsCommand(g *globalOptions) *cobra.Command {
	opts := &versionsOptions{}
	c := &cobra.Command{
		Use:   "versions COMPONENT",
		Short: "List a component's stable versions, marking what is installed and bound",
		Long: `List the stable vX.Y.Z tags of a component's git remote, newest first.
Inside an environment, '*' marks the version .metadata binds, "(installed)" a
complete install, and a branch install comes first. Outside an environment the
backend template's components are used. The remote is read with git
(git ls-remote; a plain repository on this machine is read directly, with the
same answer); ` + component.TimeoutEnv + ` bounds how long git may take.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersions(cmd.Context(), g, args[0], opts)
		},
	}
	c.Flags().StringVar(&opts.repo, "repo", "", "read this git repository instead of the component's")
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

// versionsJSON is the -o json form; remote_error is set when only the
// installed versions could be listed.
type versionsJSON struct {
	*component.Listing
	RemoteError string `json:"remote_error,omitempty"`
}

func runVersions(ctx context.Context, g *globalOptions, name string, opts *versionsOptions) error {
	if err := component.ValidateName(name); err != nil {
		return usageError{err}
	}
	env, err := g.openEnvAsIs()
	var manifest *metadata.Manifest
	switch {
	case err == nil:
		manifest = env.Manifest
	case errors.Is(err, metadata.ErrNoEnvironment):
		env = nil
		if manifest, err = outsideManifest(name); err != nil {
			return err
		}
	default:
		return err
	}
	repo := opts.repo
	if repo == "" {
		c := manifest.Components[name]
		if c == nil {
			where := "the OQTOPUS templates (backend, cloud-local, manager)"
			if env != nil {
				where = env.Path(metadata.ManifestFile)
			}
			return fmt.Errorf("unknown component %q in %s: use one of %v, or give --repo URL", name, where, manifest.ComponentOrder)
		}
		repo = c.Repo
	}
	l := component.ListVersions(ctx, component.Git{}, env, name, repo)
	if l.RemoteErr != nil && env == nil {
		return l.RemoteErr
	}
	if outputFormat(opts.output) == outputJSON {
		out := versionsJSON{Listing: l}
		if l.RemoteErr != nil {
			out.RemoteError = l.RemoteErr.Error()
		}
		if err := writeJSON(g.stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprint(g.stdout, l.Format())
	}
	if l.RemoteErr != nil {
		return fmt.Errorf("%w; only installed versions are listed", l.RemoteErr)
	}
	return nil
}

// outsideManifest is, outside an environment, the manifest of the first
// OQTOPUS template (backend, cloud-local, manager) that declares component,
// else the backend template's.
func outsideManifest(component string) (*metadata.Manifest, error) {
	var first *metadata.Manifest
	for _, t := range []string{"backend", "cloud-local", "manager"} {
		m, err := metadata.TemplateManifest(t)
		if err != nil {
			return nil, err
		}
		if m.Components[component] != nil {
			return m, nil
		}
		if first == nil {
			first = m
		}
	}
	return first, nil
}
