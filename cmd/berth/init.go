package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
)

type initOptions struct {
	template    string
	name        string
	installRoot string
	force       bool
}

func newInitCommand(g *globalOptions) *cobra.Command {
	opts := &initOptions{}
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create an environment from a template",
		Long: `Create an environment in DIR (default: the working directory) from one of
berth's embedded templates: backend (the OQTOPUS backend), cloud-local or demo.
A non-empty DIR is refused unless --force; berth never overwrites a file.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if opts.template == "" {
				return usagef("required flag \"--template\" not set: choose one of %s", strings.Join(metadata.Templates(), ", "))
			}
			return runInit(cmd.Context(), g, dir, opts)
		},
	}
	f := c.Flags()
	f.StringVarP(&opts.template, "template", "t", "", "template: "+strings.Join(metadata.Templates(), ", "))
	f.StringVar(&opts.name, "name", "", "environment name (default: the directory's name)")
	f.StringVar(&opts.installRoot, "install-root", "", "where release installs are shared (default: under $XDG_DATA_HOME)")
	f.BoolVar(&opts.force, "force", false, "allow a non-empty directory (existing files are kept)")
	c.RegisterFlagCompletionFunc("template", cobra.FixedCompletions(metadata.Templates(), cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runInit(_ context.Context, g *globalOptions, dir string, opts *initOptions) error {
	res, err := metadata.Init(metadata.InitOptions{
		Dir: dir, Template: opts.template, Name: opts.name,
		InstallRoot: opts.installRoot, Force: opts.force,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Created %s environment %q in %s\n", opts.template, res.Name, res.Root)
	for _, k := range res.Kept {
		fmt.Fprintf(g.stdout, "  kept existing %s\n", k)
	}
	fmt.Fprintf(g.stdout, "Next: cd %s && berth validate\n", res.Root)
	return nil
}
