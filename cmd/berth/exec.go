package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/berthdev/berth/compose"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/container"
)

type execOptions struct{ noTTY bool }

func newExecCommand(g *globalOptions) *cobra.Command {
	opts := &execOptions{}
	c := &cobra.Command{
		Use:   "exec SERVICE [--] COMMAND [ARG...]",
		Short: "Run a command in a service: inside its container, or with a host service's environment",
		Long: `Run a command in a service's context and exit with its exit code.

For a container or compose service, the command runs inside the running
container through the Engine API (as docker exec does), with stdin attached and
a terminal when berth has one (stdin and stdout are terminals; -T turns it
off). For a host service, the command runs on this machine with the
environment the service gets (berth's own, config/.env, the manifest's env,
minus unset_env) in its working directory; the service need not run.

Not to be confused with berth run TASK, which runs a task the manifest names.`,
		Example: `  berth exec web -- sh                      # a shell in web's container
  berth exec db -- psql -U postgres         # a compose service's first container
  berth exec core -- env                    # what core's environment holds
  berth exec -T core -- python -m pytest    # no terminal, for scripts`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), g, args[0], args[1:], opts)
		},
	}
	c.Flags().BoolVarP(&opts.noTTY, "no-tty", "T", false, "give the command no terminal even when berth has one")
	// Everything after SERVICE is the command's, flags included: berth's
	// own flags (-T) come before SERVICE.
	c.Flags().SetInterspersed(false)
	return c
}

func runExec(ctx context.Context, g *globalOptions, name string, argv []string, opts *execOptions) error {
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		return usagef("name the command to run: berth exec %s -- COMMAND", name)
	}
	env, err := g.openEnv()
	if err != nil {
		return err
	}
	spec := env.Manifest.Services[name]
	if spec == nil {
		return env.Manifest.UnknownService(name)
	}
	var code int
	switch spec.Runner {
	case "", metadata.RunnerProcess:
		code, err = execOnHost(g, env, name, argv)
	case metadata.RunnerContainer, metadata.RunnerCompose:
		code, err = execInContainer(ctx, g, env, name, argv, opts)
	default:
		return fmt.Errorf("berth exec does not reach %s services (%s): use docker exec on one of its tasks' containers", spec.Runner, name)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// execOnHost runs argv with service name's environment and directory.
func execOnHost(g *globalOptions, env *metadata.Env, name string, argv []string) (int, error) {
	svc, err := runtime.Resolve(env, name)
	if err != nil {
		return -1, err
	}
	path, err := lookPathIn(argv[0], svc.Env, svc.Dir)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", name, err)
	}
	in, out, errOut, release, err := g.streams.files()
	if err != nil {
		return -1, err
	}
	defer release()
	cmd := &exec.Cmd{Path: path, Args: argv, Env: svc.Env, Dir: svc.Dir, Stdin: in, Stdout: out, Stderr: errOut}
	// The command shares berth's terminal: Ctrl-C reaches it there, and
	// berth (which ignores it while waiting) passes its exit code on.
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", name, err)
	}
	return 0, nil
}

// lookPathIn finds file as the service would: through the PATH of its
// environment, relative names against its working directory.
func lookPathIn(file string, envv []string, dir string) (string, error) {
	if strings.Contains(file, "/") {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		return exec.LookPath(file)
	}
	path := ""
	for _, kv := range envv {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		if p, err := exec.LookPath(filepath.Join(d, file)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in the service's PATH (%s)", file, path)
}

// execInContainer runs argv in the service's running container.
func execInContainer(ctx context.Context, g *globalOptions, env *metadata.Env, name string, argv []string, opts *execOptions) (int, error) {
	t, err := compose.TargetOf(env.Manifest, env.Name(), name)
	if err != nil {
		return -1, err
	}
	clients := &engine.Clients{Endpoint: container.Endpoints(env)}
	defer clients.Close()
	c, err := clients.Get(ctx, env.Manifest.Services[name].Host)
	if err != nil {
		return -1, err
	}
	s := compose.ExecStreams{In: g.stdin, Out: g.stdout, Err: g.stderr}
	if !opts.noTTY && g.stdin.IsTerminal() && g.stdout.IsTerminal() {
		s.TTY = true
		if ws, err := term.GetWinsize(g.stdout.FD()); err == nil {
			s.Height, s.Width = uint(ws.Height), uint(ws.Width)
		}
		state, err := term.SetRawTerminal(g.stdin.FD())
		if err != nil {
			return -1, fmt.Errorf("exec in %s: put the terminal in raw mode: %w", name, err)
		}
		defer term.RestoreTerminal(g.stdin.FD(), state)
	}
	code, err := compose.ExecInteractive(ctx, c, t, argv, s)
	if err != nil && (strings.Contains(err.Error(), "No such container") || strings.Contains(err.Error(), "is not running")) {
		return -1, fmt.Errorf("%s is not running: start it with berth start %s", name, name)
	}
	return code, err
}
