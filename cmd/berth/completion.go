package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
	"github.com/berthdev/berth/runtime"
)

// Completion of names: every function here answers cobra's __complete
// request from the environment as it is, and answers nothing (rather than an
// error) when there is no environment, so that the shell falls back quietly.

// completionTimeout bounds what a completion may wait for: the Docker daemon
// for container states, git for a component's remote versions. A <Tab> that
// hangs is worse than one that offers less.
const completionTimeout = 3 * time.Second

const noFiles = cobra.ShellCompDirectiveNoFileComp

// serviceFilter picks the services a command acts on.
type serviceFilter int

const (
	anyService serviceFilter = iota
	runningServices
	stoppedServices
)

// completeServices offers the manifest's services that match filter (and
// "all" first, for commands that take it), leaving out those already named.
func completeServices(g *globalOptions, filter serviceFilter, withAll bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if slices.Contains(args, runtime.All) {
			return nil, noFiles
		}
		env, err := g.openQuietly()
		if err != nil {
			return nil, noFiles
		}
		names := env.Manifest.ServiceOrder
		if filter != anyService {
			names = servicesInState(cmd.Context(), g, env, filter)
		}
		var out []string
		if withAll && len(args) == 0 {
			out = append(out, runtime.All)
		}
		for _, n := range names {
			if !slices.Contains(args, n) {
				out = append(out, n)
			}
		}
		return out, noFiles
	}
}

// servicesInState asks the runners which services run; a service whose state
// cannot be read (Unknown) is offered to neither start nor stop.
func servicesInState(ctx context.Context, g *globalOptions, env *metadata.Env, filter serviceFilter) []string {
	ctx, cancel := context.WithTimeout(orBackground(ctx), completionTimeout)
	defer cancel()
	m := &runtime.Manager{Env: env, Runners: newRegistry(env, io.Discard)}
	defer m.Close()
	states, _ := m.Status(ctx, nil, runtime.StatusRequest{})
	var out []string
	for _, st := range states {
		if (filter == runningServices && st.IsRunning()) || (filter == stoppedServices && st.State == runtime.Stopped) {
			out = append(out, st.Name)
		}
	}
	return out
}

// completeFirstArg completes only the first argument through names.
func completeFirstArg(names func(*metadata.Env) []string, extra ...string) func(g *globalOptions) cobra.CompletionFunc {
	return func(g *globalOptions) cobra.CompletionFunc {
		return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, noFiles
			}
			return append(slices.Clone(extra), manifestNames(g, names)...), noFiles
		}
	}
}

// manifestNames lists names from the environment's manifest, or from the
// backend template's outside an environment (as versions does).
func manifestNames(g *globalOptions, names func(*metadata.Env) []string) []string {
	env, err := g.openQuietly()
	if errors.Is(err, metadata.ErrNoEnvironment) {
		m, terr := metadata.TemplateManifest("backend")
		if terr != nil {
			return nil
		}
		env, err = &metadata.Env{Manifest: m}, nil
	}
	if err != nil {
		return nil
	}
	return names(env)
}

func serviceNames(env *metadata.Env) []string   { return env.Manifest.ServiceOrder }
func componentNames(env *metadata.Env) []string { return env.Manifest.ComponentOrder }
func imageNames(env *metadata.Env) []string     { return env.Manifest.ImageOrder }
func hostNames(env *metadata.Env) []string      { return env.Manifest.HostOrder }

// completeImages offers "all" and the manifest's images not yet named.
func completeImages(g *globalOptions) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if slices.Contains(args, runtime.All) {
			return nil, noFiles
		}
		var out []string
		if len(args) == 0 {
			out = append(out, runtime.All)
		}
		for _, n := range manifestNames(g, imageNames) {
			if !slices.Contains(args, n) {
				out = append(out, n)
			}
		}
		return out, noFiles
	}
}

// completeInstall offers components (and all), then the component's
// versions: its remote's stable tags and what is installed, and "branch:"
// to go on typing a branch name.
func completeInstall(g *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return append([]string{runtime.All}, manifestNames(g, componentNames)...), noFiles
		case 1:
			env, err := g.openQuietly()
			if err != nil || env.Manifest.Components[args[0]] == nil {
				return nil, noFiles
			}
			ctx, cancel := context.WithTimeout(orBackground(cmd.Context()), completionTimeout)
			defer cancel()
			l := component.ListVersions(ctx, component.Git{}, env, args[0], env.Manifest.Components[args[0]].Repo)
			out := []string{}
			for _, v := range l.Versions {
				out = append(out, v.Version)
			}
			return append(out, metadata.BranchPrefix), noFiles | cobra.ShellCompDirectiveNoSpace
		}
		return nil, noFiles
	}
}

// completeUninstall offers components, then what of the component is
// installed (release versions and this environment's branch).
func completeUninstall(g *globalOptions) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return manifestNames(g, componentNames), noFiles
		case 1:
			env, err := g.openQuietly()
			if err != nil || env.Manifest.Components[args[0]] == nil {
				return nil, noFiles
			}
			return component.InstalledVersions(env, args[0]), noFiles
		}
		return nil, noFiles
	}
}

// argCompletions are the completions of each command's arguments, by
// command name: kept in one table so the command files stay about flags.
func argCompletions(g *globalOptions) map[string]cobra.CompletionFunc {
	components := completeFirstArg(componentNames)(g)
	return map[string]cobra.CompletionFunc{
		"start":     completeServices(g, stoppedServices, true),
		"stop":      completeServices(g, runningServices, true),
		"restart":   completeServices(g, runningServices, true),
		"logs":      completeServices(g, runningServices, true),
		"up":        completeServices(g, stoppedServices, false),
		"down":      completeServices(g, runningServices, false),
		"status":    completeServices(g, anyService, false),
		"health":    completeServices(g, anyService, false),
		"pull":      completeServices(g, anyService, false),
		"deps":      completeFirstArg(serviceNames)(g),
		"config":    completeServices(g, anyService, false),
		"exec":      completeExec(g),
		"versions":  components,
		"update":    completeFirstArg(componentNames, runtime.All)(g),
		"install":   completeInstall(g),
		"uninstall": completeUninstall(g),
		"build":     completeImages(g),
		"init": func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
}

// flagCompletions complete flag values wherever a command has the flag.
func flagCompletions(g *globalOptions) map[string]cobra.CompletionFunc {
	return map[string]cobra.CompletionFunc{
		"host": func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return manifestNames(g, hostNames), noFiles
		},
		"profile": func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return manifestNames(g, func(env *metadata.Env) []string { return env.Manifest.Profiles() }), noFiles
		},
		"builder": cobra.FixedCompletions([]string{"auto", string(images.BuilderClassic), string(images.BuilderBuildKit)}, noFiles),
	}
}

// addCompletions gives every command without its own completion the one of
// the tables above, and commands without arguments no file names.
func addCompletions(g *globalOptions, root *cobra.Command) {
	args, flags := argCompletions(g), flagCompletions(g)
	for _, c := range root.Commands() {
		if c.ValidArgsFunction == nil {
			if f, ok := args[c.Name()]; ok {
				c.ValidArgsFunction = f
			} else if c.Name() != "help" && c.Name() != "completion" {
				c.ValidArgsFunction = cobra.NoFileCompletions
			}
		}
		for name, f := range flags {
			if c.Flags().Lookup(name) != nil {
				if _, taken := c.GetFlagCompletionFunc(name); !taken {
					c.RegisterFlagCompletionFunc(name, f)
				}
			}
		}
	}
	root.RegisterFlagCompletionFunc("env", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	})
}

// openQuietly opens the environment for a completion: warnings are not
// printed (they would land in the shell's completion output) and .metadata
// is not migrated.
func (g *globalOptions) openQuietly() (*metadata.Env, error) {
	root, err := g.findRoot()
	if err != nil {
		return nil, err
	}
	return metadata.OpenTolerant(root)
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// completeExec offers a service, then leaves the command to the shell.
func completeExec(g *globalOptions) cobra.CompletionFunc {
	services := completeFirstArg(serviceNames)(g)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return services(cmd, args, toComplete)
		}
		return nil, cobra.ShellCompDirectiveDefault
	}
}
