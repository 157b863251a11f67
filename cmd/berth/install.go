package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/metadata/component"
)

type installOptions struct {
	skipSSEBuild bool
	adopt        bool
	output       string
}

func addInstallFlags(c *cobra.Command, opts *installOptions) {
	c.Flags().BoolVar(&opts.skipSSEBuild, "skip-sse-build", false, "do not build the component's runtime images (sse-runtime); build them later with berth build")
	c.Flags().BoolVar(&opts.adopt, "adopt", false, "use a release directory berth did not make (e.g. the OQTOPUS CLI's) as it is")
	addOutputFlag(c, &opts.output, outputText, outputJSON)
}

func newInstallCommand(g *globalOptions) *cobra.Command {
	opts := &installOptions{}
	c := &cobra.Command{
		Use:   "install COMPONENT|all [vX.Y.Z|branch:NAME]",
		Short: "Install a component version and bind this environment to it",
		Long: `Install a release (default: the latest stable tag) under install_root, shared
by every environment, or a branch as a fresh shallow clone in $ENV_ROOT/COMPONENT,
run the component's setup steps, build its runtime images, and only then write
COMPONENT_version to .metadata. "all" installs every component, in manifest
order, each at its latest version, and stops at the first failure.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version := ""
			if len(args) == 2 {
				version = args[1]
			}
			return runInstall(cmd.Context(), g, args[0], version, opts)
		},
	}
	addInstallFlags(c, opts)
	return c
}

// installImageBuilder builds a component's build_on_install images (the
// engine's sse-runtime) after its setup steps, with progress on stderr so that
// -o json stays clean.
func installImageBuilder(g *globalOptions) component.BuildImagesFunc {
	return images.InstallHook(g.stderr, images.BuildOptions{Terminal: g.stderr.IsTerminal(), TerminalFd: g.stderr.FD()})
}

func runInstall(ctx context.Context, g *globalOptions, name, version string, opts *installOptions) error {
	if name == "all" && version != "" {
		return usagef("install all takes no version: each component gets its own latest version (install one component to pin it)")
	}
	if name != "all" {
		if err := component.ValidateName(name); err != nil {
			return usageError{err}
		}
	}
	target, err := component.ParseTarget(version)
	if err != nil {
		return usageError{err}
	}
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	if opts.skipSSEBuild {
		if err := checkSkipBuild(env, name); err != nil {
			return err
		}
	}
	copts := component.Options{
		SkipImageBuild: opts.skipSSEBuild,
		Adopt:          opts.adopt,
		BuildImages:    installImageBuilder(g),
		Progress:       newProgress(g.stderr),
	}
	var results []*component.Result
	if name == "all" {
		results, err = component.InstallAll(ctx, env, copts)
	} else {
		var r *component.Result
		if r, err = component.Install(ctx, env, name, target, copts); r != nil {
			results = append(results, r)
		}
	}
	if err != nil && ctx.Err() != nil {
		err = interruptedInstall(name, version)
	}
	if outputFormat(opts.output) == outputJSON {
		if results == nil {
			results = []*component.Result{}
		}
		if jerr := writeJSON(g.stdout, results); jerr != nil && err == nil {
			err = jerr
		}
	} else {
		for _, r := range results {
			printInstallResult(g.stdout, env, r)
		}
	}
	for _, r := range results {
		if len(r.ImagesSkipped) > 0 {
			fmt.Fprintf(g.stderr, "note: %s: image %s not built (--skip-sse-build): run `berth build %s` to build it\n",
				r.Component, strings.Join(r.ImagesSkipped, ", "), r.ImagesSkipped[0])
		}
	}
	return err
}

func printInstallResult(w io.Writer, env *metadata.Env, r *component.Result) {
	how := "installed in"
	if r.Foreign {
		how = "already installed (by the OQTOPUS CLI's rule) in"
	} else if r.Reused {
		how = "already installed in"
	}
	fmt.Fprintf(w, "%s %s %s %s\n", r.Component, r.Binding, how, r.Dir)
	if r.Previous != r.Binding {
		prev := r.Previous
		if prev == "" {
			prev = "none"
		}
		fmt.Fprintf(w, "%s=%s (was %s)\n", env.BindingKey(r.Component), r.Binding, prev)
	}
}

// newProgress reports long steps on stderr, so that stdout stays what -o
// json or a script reads: when stderr is a terminal, a line redrawn in place
// that counts the seconds and ends in done or failed; otherwise (a log file,
// a pipe) one plain line per step, whatever stdout is.
func newProgress(stderr *outStream) component.Progress {
	if !stderr.IsTerminal() {
		return func(comp, step string) func(error) {
			fmt.Fprintf(stderr, "%s: %s\n", comp, step)
			return func(error) {}
		}
	}
	return func(comp, step string) func(error) {
		line := fmt.Sprintf("%s: %s", comp, step)
		start := time.Now()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		fmt.Fprintf(stderr, "%s ...", line)
		go func() {
			defer wg.Done()
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					fmt.Fprintf(stderr, "\r\033[K%s ... %.0fs", line, time.Since(start).Seconds())
				}
			}
		}()
		return func(err error) {
			close(stop)
			wg.Wait()
			result := "done"
			if err != nil {
				result = "failed"
			}
			fmt.Fprintf(stderr, "\r\033[K%s ... %s (%.1fs)\n", line, result, time.Since(start).Seconds())
		}
	}
}

// checkSkipBuild refuses --skip-sse-build where there is no image to skip,
// as the OQTOPUS CLI refuses it for any component but the engine.
func checkSkipBuild(env *metadata.Env, name string) error {
	var with []string
	for _, comp := range env.Manifest.ComponentOrder {
		for _, img := range env.Manifest.ImageOrder {
			if i := env.Manifest.Images[img]; i.Component == comp && i.BuildOnInstall {
				with = append(with, comp)
				break
			}
		}
	}
	for _, c := range with {
		if name == "all" || c == name {
			return nil
		}
	}
	if len(with) == 0 {
		return usagef("--skip-sse-build: no component of this environment builds an image on install, so there is nothing to skip: leave the flag out")
	}
	return usagef("--skip-sse-build applies only to %s and all (the components that build an image on install); %s builds none: leave the flag out", strings.Join(with, ", "), name)
}

// interruptedInstall is the error of an install cut off by Ctrl-C or TERM:
// said as such, not as the "context canceled" of whatever step it was in.
func interruptedInstall(name, version string) error {
	again := strings.TrimSpace("berth install " + name + " " + version)
	return fmt.Errorf("install of %s interrupted: nothing new was bound, and what was half-installed is marked incomplete; run `%s` to install it", name, again)
}
