package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/metadata"
)

// commands are berth's top-level commands, in one place, each with the
// names it answers to (its name, then its aliases), so that a run which names
// one can build it alone (see newRootCommandFor). cobra lists them sorted in
// help; here they are grouped by what they work on.
var commands = []struct {
	names []string
	build func(*globalOptions) *cobra.Command
}{
	// the environment
	{[]string{"init"}, newInitCommand}, {[]string{"validate"}, newValidateCommand},
	{[]string{"config"}, newConfigCommand}, {[]string{"info"}, newInfoCommand},
	{[]string{"relocate"}, newRelocateCommand}, {[]string{"doctor"}, newDoctorCommand},
	// components
	{[]string{"versions"}, newVersionsCommand}, {[]string{"install"}, newInstallCommand},
	{[]string{"update"}, newUpdateCommand}, {[]string{"uninstall"}, newUninstallCommand},
	// runtime images
	{[]string{"build"}, newBuildCommand}, {[]string{"images"}, newImagesCommand}, {[]string{"pull"}, newPullCommand},
	// services
	{[]string{"start"}, newStartCommand}, {[]string{"stop"}, newStopCommand},
	{[]string{"restart"}, newRestartCommand}, {[]string{"status", "ps"}, newStatusCommand},
	{[]string{"health"}, newHealthCommand}, {[]string{"deps"}, newDepsCommand},
	{[]string{"logs"}, newLogsCommand}, {[]string{"exec"}, newExecCommand},
	{[]string{"events"}, newEventsCommand}, {[]string{"supervisor"}, newSupervisorCommand},
	// compose habits: up, down (and ps, an alias of status)
	{[]string{"up"}, newUpCommand}, {[]string{"down"}, newDownCommand},
	// tasks the manifest declares
	{[]string{"run"}, newRunCommand},
	// a tour, and berth's own helper programs
	{[]string{"demo"}, newDemoCommand}, {[]string{"internal"}, newInternalCommand},
}

// globalOptions is what every command is given: the shared flags and the
// standard streams.
type globalOptions struct {
	envDir string
	*streams
	// root is the environment found by findRoot, kept: a status asks its
	// supervisor before it opens the environment.
	root string
}

// openEnv finds and opens the environment: --env, then BERTH_ENV, then the
// working directory upward. Like the OQTOPUS CLI at the start of every
// environment command, it first renames the legacy keys of .metadata (best
// effort). Warnings (a key set twice) go to stderr.
func (g *globalOptions) openEnv() (*metadata.Env, error) {
	return g.open(metadata.Open, true)
}

// openEnvAsIs is openEnv without the rename, for versions (which the CLI
// runs anywhere and which leaves .metadata as it is).
func (g *globalOptions) openEnvAsIs() (*metadata.Env, error) {
	return g.open(metadata.Open, false)
}

// openEnvTolerant is openEnv for commands that only inspect or stop
// services: a bad line in .metadata or config/.env is a warning, not an
// error, since they need none of those values.
func (g *globalOptions) openEnvTolerant() (*metadata.Env, error) {
	return g.open(metadata.OpenTolerant, true)
}

func (g *globalOptions) open(open func(string) (*metadata.Env, error), migrate bool) (*metadata.Env, error) {
	root, err := g.findRoot()
	if err != nil {
		return nil, err
	}
	// .metadata is read once: its legacy keys, if it has any (or if the
	// environment did not open), are renamed and the environment read
	// again, as a migration before the first read would have shown it.
	env, err := open(root)
	if migrate && (err != nil || len(env.Meta.Migrated) > 0) {
		if renamed := metadata.MigrateLegacyKeys(root); len(renamed) > 0 {
			env, err = open(root)
		}
	}
	if err != nil {
		return nil, err
	}
	for _, w := range env.Warnings {
		fmt.Fprintf(g.stderr, "Warning: %s\n", w)
	}
	return env, nil
}

func (g *globalOptions) findRoot() (string, error) {
	if g.root != "" {
		return g.root, nil
	}
	override := g.envDir
	if override == "" {
		override = os.Getenv(metadata.EnvVar)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := metadata.FindRoot(wd, override)
	if err == nil {
		g.root = root
	}
	return root, err
}

// newRootCommand builds berth's whole command tree.
func newRootCommand(s *streams) *cobra.Command {
	g, root := newBareRoot(s)
	for _, cmd := range commands {
		c := cmd.build(g)
		root.AddCommand(c)
		finishCommand(c)
	}
	completion := newCompletionCommand(root)
	root.AddCommand(completion)
	finishCommand(completion)
	addCompletions(g, root)
	return root
}

// newRootCommandFor builds what running berth with args needs. Building
// every command (flags, closures, completions) was a fifth of the work of
// berth --version, paid by every run for 29 commands of which it uses one.
// When args name a top-level command after nothing but --env, only that
// command (and its subcommands) is built: cobra finds the same command with
// the same flags as in the whole tree. A bare --version builds no command.
// Everything else (help, completion requests, an unknown command, which
// cobra answers with suggestions) gets the whole tree.
func newRootCommandFor(s *streams, args []string) *cobra.Command {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-v") {
		_, root := newBareRoot(s)
		return root
	}
	build := invokedCommand(args)
	if build == nil {
		return newRootCommand(s)
	}
	g, root := newBareRoot(s)
	c := build(g)
	root.AddCommand(c)
	finishCommand(c)
	return root
}

// invokedCommand returns the constructor of the top-level command that args
// name, if nothing but --env comes before the name.
func invokedCommand(args []string) func(*globalOptions) *cobra.Command {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--env":
			i++
		case strings.HasPrefix(a, "--env="):
		case strings.HasPrefix(a, "-"):
			return nil
		default:
			for _, cmd := range commands {
				if slices.Contains(cmd.names, a) {
					return cmd.build
				}
			}
			return nil
		}
	}
	return nil
}

// newBareRoot is the root command without its subcommands.
func newBareRoot(s *streams) (*globalOptions, *cobra.Command) {
	g := &globalOptions{streams: s}
	root := &cobra.Command{
		Use:   "berth",
		Short: "Manage containerized development environments",
		Long: `berth manages development environments made of versioned components,
runtime images built through the Docker Engine API, and services run as host
processes, containers or docker compose projects.`,
		Version:       berthVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.stdin)
	root.SetOut(s.stdout)
	root.SetErr(s.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&g.envDir, "env", "", "environment directory (default: $BERTH_ENV, else the nearest directory upward holding .metadata)")
	root.CompletionOptions.DisableDefaultCmd = true
	return g, root
}

// finishCommand gives a top-level command what berth adds to every one:
// its examples, --env refused where it does not apply, usage errors for a
// wrong number of arguments.
func finishCommand(c *cobra.Command) {
	addExamples(c)
	hideEnvFlag(c)
	wrapArgs(c)
}

// wrapArgs makes argument-count errors usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

func commandPathFor(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != nil {
		return c.CommandPath()
	}
	return root.CommandPath()
}

// outputFormat is the -o flag of commands that report state.
type outputFormat string

const (
	outputText outputFormat = "text"
	outputJSON outputFormat = "json"
	outputWide outputFormat = "wide"
)

func addOutputFlag(c *cobra.Command, p *string, formats ...outputFormat) {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	c.Flags().StringVarP(p, "output", "o", string(outputText), "output format: "+strings.Join(names, ", "))
	c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
	prev := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		ok := false
		for _, f := range formats {
			ok = ok || string(f) == *p
		}
		if !ok {
			return usagef("unknown output format %q: use one of %s", *p, strings.Join(names, ", "))
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
