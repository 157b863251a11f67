package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
)

// oqtopusCLIRepo holds the OQTOPUS CLI's templates (templates/<name>), which
// its `init --branch` fetches; berth's --branch does the same.
const oqtopusCLIRepo = "https://github.com/oqtopus-team/oqtopus-cli.git"

type initOptions struct {
	template     string
	name         string
	installRoot  string
	force        bool
	branch       string
	templateRepo string
	templatePath string
}

func newInitCommand(g *globalOptions) *cobra.Command {
	opts := &initOptions{}
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create an environment from a template",
		Long: `Create an environment in DIR (default: the working directory) from a template:
one of berth's embedded templates (backend, the OQTOPUS backend; cloud-local;
manager; demo), a template directory (--template ./DIR), or a template kept
in a git repository (--template NAME with --template-repo URL and/or --branch
B: the directory templates/NAME of that branch, as the OQTOPUS CLI's
init --branch fetches its templates from oqtopus-cli). A template without
berth.yaml whose name is an embedded one's uses the embedded manifest.
A non-empty DIR is refused unless --force; berth never overwrites a file.
--force on an environment of the same template (one the OQTOPUS CLI made)
adds only what it lacks, berth.yaml included, and keeps its .metadata.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if opts.template == "" {
				return usagef("required flag \"--template\" not set: choose one of %s, or a template directory", strings.Join(metadata.Templates(), ", "))
			}
			return runInit(cmd.Context(), g, dir, opts)
		},
	}
	f := c.Flags()
	f.StringVarP(&opts.template, "template", "t", "", "template: "+strings.Join(metadata.Templates(), ", ")+", or a directory (./DIR)")
	f.StringVar(&opts.name, "name", "", "environment name (default: the directory's name)")
	f.StringVar(&opts.installRoot, "install-root", "", "where release installs are shared (default: under $XDG_DATA_HOME)")
	f.BoolVar(&opts.force, "force", false, "allow a non-empty directory or an existing environment of the same template (existing files are kept)")
	f.StringVar(&opts.branch, "branch", "", "take the template from this branch of the template repository (default repository: the OQTOPUS CLI's)")
	f.StringVar(&opts.templateRepo, "template-repo", "", "git repository holding templates (default with --branch: "+oqtopusCLIRepo+")")
	f.StringVar(&opts.templatePath, "template-path", "", "the template's directory in the repository (default: templates/NAME)")
	c.RegisterFlagCompletionFunc("template", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return metadata.Templates(), cobra.ShellCompDirectiveDefault
	})
	return c
}

// isTemplateDir says whether --template names a directory rather than an
// embedded template: a path (with a '/', or . or ..), or an existing
// directory that is not an embedded template's name.
func isTemplateDir(t string) bool {
	if strings.ContainsRune(t, '/') || t == "." || t == ".." {
		return true
	}
	for _, name := range metadata.Templates() {
		if name == t {
			return false
		}
	}
	fi, err := os.Stat(t)
	return err == nil && fi.IsDir()
}

func runInit(ctx context.Context, g *globalOptions, dir string, opts *initOptions) error {
	iopts := metadata.InitOptions{Dir: dir, Template: opts.template, Name: opts.name,
		InstallRoot: opts.installRoot, Force: opts.force}
	fromGit := opts.branch != "" || opts.templateRepo != ""
	switch {
	case fromGit:
		if isTemplateDir(opts.template) {
			return usagef("--template names the template in the repository (a name such as backend), not a directory, when --branch or --template-repo is given")
		}
		tdir, cleanup, err := fetchTemplate(ctx, g, opts)
		if err != nil {
			return err
		}
		defer cleanup()
		iopts.TemplateDir = tdir
	case opts.templatePath != "":
		return usagef("--template-path goes with --template-repo or --branch")
	case isTemplateDir(opts.template):
		iopts.Template, iopts.TemplateDir = "", opts.template
	}
	res, err := metadata.Init(iopts)
	if err != nil {
		return err
	}
	if res.Existing {
		fmt.Fprintf(g.stdout, "Completed %s environment %q in %s\n", res.Template, res.Name, res.Root)
	} else {
		fmt.Fprintf(g.stdout, "Created %s environment %q in %s\n", res.Template, res.Name, res.Root)
	}
	for _, k := range res.Created {
		if res.Existing {
			fmt.Fprintf(g.stdout, "  wrote %s\n", k)
		}
	}
	for _, k := range res.Kept {
		fmt.Fprintf(g.stdout, "  kept existing %s\n", k)
	}
	fmt.Fprintf(g.stdout, "Next: cd %s && berth validate\n", res.Root)
	return nil
}

// fetchTemplate clones the template repository's branch into a temporary
// directory and returns the template's directory in it.
func fetchTemplate(ctx context.Context, g *globalOptions, opts *initOptions) (string, func(), error) {
	repo := opts.templateRepo
	if repo == "" {
		repo = oqtopusCLIRepo
	}
	branch := opts.branch
	if branch == "" {
		branch = "main"
	}
	if err := component.ValidateBranch(branch); err != nil {
		return "", nil, usageError{err}
	}
	sub := opts.templatePath
	if sub == "" {
		sub = "templates/" + opts.template
	}
	sub = filepath.Clean(filepath.FromSlash(sub))
	if filepath.IsAbs(sub) || sub == ".." || strings.HasPrefix(sub, ".."+string(filepath.Separator)) {
		return "", nil, usagef("--template-path %q must be a relative path inside the repository", opts.templatePath)
	}
	tmp, err := os.MkdirTemp("", "berth-template-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	clone := filepath.Join(tmp, "repo")
	fmt.Fprintf(g.stderr, "fetching template %s from %s (branch %s)\n", opts.template, repo, branch)
	if _, err := (component.Git{}).CloneBranch(ctx, repo, branch, clone); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("fetch template %s from %s: branch %q may not exist: %w", opts.template, repo, branch, err)
	}
	// The template's name is what .metadata records, whatever the path.
	tdir := filepath.Join(tmp, opts.template)
	if err := os.Rename(filepath.Join(clone, sub), tdir); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("branch %s of %s has no template directory %s", branch, repo, filepath.ToSlash(sub))
	}
	return tdir, cleanup, nil
}
