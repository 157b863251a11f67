package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
)

type doctorOptions struct{ output string }

func newDoctorCommand(g *globalOptions) *cobra.Command {
	opts := &doctorOptions{}
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check that what the environment needs is installed and reachable",
		Long: `Check the Docker daemon (reachable, version, API version, BuildKit), compose
(v2 plugin or standalone v1), git, uv, the free disk under install_root, the
daemon's swarm (inactive, manager with its nodes, or worker) and whether the
daemon reaches each registry the manifest names.
A check is required when the environment's manifest needs it; doctor exits 1
when a required check fails. Outside an environment, Docker and git are required.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDoctor(cmd.Context(), g, opts) },
	}
	addOutputFlag(c, &opts.output, outputText, outputJSON)
	return c
}

// check is one line of the doctor's report.
type check struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Required bool   `json:"required"`
	Detail   string `json:"detail"`
	Hint     string `json:"hint,omitempty"`
}

// needs is what the environment's manifest needs from the machine, and why.
type needs struct {
	docker, buildkit, compose, git, uv, disk string
}

func manifestNeeds(env *metadata.Env) needs {
	if env == nil {
		return needs{docker: "berth builds images and runs containers through it", git: "berth installs components from git"}
	}
	m := env.Manifest
	var n needs
	if len(m.ImageOrder) > 0 {
		n.docker = "the manifest declares images"
	}
	for _, name := range m.ServiceOrder {
		s := m.Services[name]
		switch s.Runner {
		case metadata.RunnerContainer:
			n.docker = "service " + name + " runs as a container"
		case metadata.RunnerCompose:
			n.docker = "service " + name + " runs through compose"
			n.compose = n.docker
		}
		if len(s.Command) > 0 && s.Command[0] == "uv" {
			n.uv = "service " + name + " runs with uv"
		}
	}
	for _, name := range m.ComponentOrder {
		n.git = "components are installed from git"
		n.disk = "components are installed under install_root"
		for _, st := range m.Components[name].Setup {
			if len(st.Run) > 0 && st.Run[0] == "uv" {
				n.uv = "component " + name + " is set up with uv"
			}
		}
	}
	for _, name := range m.ImageOrder {
		img := m.Images[name]
		dir, err := env.ComponentDir(img.Component)
		if err != nil {
			continue
		}
		df := img.Dockerfile
		if df == "" {
			df = "Dockerfile"
		}
		if ok, line, err := images.DockerfileNeedsBuildKit(filepath.Join(dir, img.Context, df)); err == nil && ok {
			n.buildkit = fmt.Sprintf("image %s's Dockerfile needs it (%s)", name, line)
		}
	}
	return n
}

func runDoctor(ctx context.Context, g *globalOptions, opts *doctorOptions) error {
	var env *metadata.Env
	if root, err := g.findRoot(); err == nil {
		if env, err = metadata.Open(root); err != nil {
			return err
		}
	} else if !errors.Is(err, metadata.ErrNoEnvironment) {
		return err
	}
	n := manifestNeeds(env)
	var checks []check
	add := func(c check, why string) {
		c.Required = why != ""
		if c.Required && !c.OK {
			c.Hint += " (required: " + why + ")"
		}
		checks = append(checks, c)
	}

	docker, buildkit := dockerChecks(ctx)
	add(docker, n.docker)
	add(buildkit, n.buildkit)
	add(composeCheck(ctx), n.compose)
	add(toolCheck(ctx, "git", "install git (apt-get install git)", "--version"), n.git)
	add(toolCheck(ctx, "uv", "install uv: https://docs.astral.sh/uv/getting-started/installation/", "--version"), n.uv)
	installRoot := metadata.DefaultInstallRoot("")
	if env != nil {
		if r, err := env.InstallRoot(); err == nil {
			installRoot = r
		}
	}
	add(diskCheck(installRoot), n.disk)
	for i, c := range swarmChecks(ctx, env) {
		why := ""
		if i == 0 {
			why = swarmNeed(env)
		}
		add(c, why)
	}

	failed := false
	for _, c := range checks {
		failed = failed || (c.Required && !c.OK)
	}
	if outputFormat(opts.output) == outputJSON {
		if err := writeJSON(g.stdout, checks); err != nil {
			return err
		}
	} else {
		printChecks(g.stdout, checks)
	}
	if failed {
		return &ExitError{Code: exitFailure, Err: errors.New("a required check failed (see the FAIL lines above)")}
	}
	return nil
}

// dockerChecks checks that the daemon answers, and whether it offers
// BuildKit through the API.
func dockerChecks(ctx context.Context) (docker, buildkit check) {
	cli, err := engine.NewClient(ctx, engine.Endpoint{})
	if err != nil {
		return check{Name: "docker", Detail: err.Error(), Hint: "start the Docker daemon, or set DOCKER_HOST"},
			check{Name: "buildkit", Detail: "unknown: the daemon is unreachable", Hint: "start the Docker daemon"}
	}
	defer cli.Close()
	docker = check{Name: "docker", OK: true}
	if v, err := cli.ServerVersion(ctx); err != nil {
		docker.OK, docker.Detail, docker.Hint = false, fmt.Sprintf("reachable at %s, but its version is unknown: %v", cli.Endpoint, err), "check the daemon's logs"
	} else {
		docker.Detail = fmt.Sprintf("Docker %s (API %s, negotiated %s) at %s", v.Version, v.APIVersion, cli.ClientVersion(), cli.Endpoint)
	}
	buildkit = check{Name: "buildkit", OK: cli.HasBuildKit()}
	if buildkit.OK {
		def := "classic"
		if cli.Ping.BuilderVersion == "2" {
			def = "buildkit"
		}
		buildkit.Detail = "available through the API (daemon default builder: " + def + ")"
	} else {
		buildkit.Detail = fmt.Sprintf("not available (API %s, %s)", cli.ClientVersion(), cli.Ping.OSType)
		buildkit.Hint = "use Docker 18.09 or later on Linux; Dockerfiles with RUN --mount need BuildKit"
	}
	return docker, buildkit
}

// printChecks prints one line per check: pass, FAIL (required) or warn.
func printChecks(w io.Writer, checks []check) {
	for _, c := range checks {
		mark := "pass"
		if !c.OK {
			mark = "FAIL"
			if !c.Required {
				mark = "warn"
			}
		}
		line := fmt.Sprintf("%s  %-9s %s", mark, c.Name, c.Detail)
		if !c.OK && c.Hint != "" {
			line += ": " + c.Hint
		}
		fmt.Fprintln(w, line)
	}
}

// toolTimeout bounds each version command, so a wedged tool cannot hang doctor.
const toolTimeout = 10 * time.Second

func toolVersion(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), nil
}

func toolCheck(ctx context.Context, name, hint string, args ...string) check {
	path, err := exec.LookPath(name)
	if err != nil {
		return check{Name: name, Detail: name + " not found on PATH", Hint: hint}
	}
	v, err := toolVersion(ctx, path, args...)
	if err != nil {
		return check{Name: name, Detail: fmt.Sprintf("%s does not run: %v", path, err), Hint: hint}
	}
	return check{Name: name, OK: true, Detail: v + " (" + path + ")"}
}

// composeCheck finds the compose v2 plugin, else standalone docker-compose (v1).
func composeCheck(ctx context.Context) check {
	var dirs []string
	if cfg := os.Getenv("DOCKER_CONFIG"); cfg != "" {
		dirs = append(dirs, filepath.Join(cfg, "cli-plugins"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".docker", "cli-plugins"))
	}
	dirs = append(dirs, "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
	for _, d := range dirs {
		p := filepath.Join(d, "docker-compose")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			if v, err := toolVersion(ctx, p, "version", "--short"); err == nil {
				return check{Name: "compose", OK: true, Detail: "docker compose v2 plugin " + v + " (" + p + ")"}
			}
		}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		if v, err := toolVersion(ctx, p, "version", "--short"); err == nil {
			return check{Name: "compose", OK: true, Detail: "docker-compose " + v + " (" + p + ")"}
		}
	}
	return check{Name: "compose", Detail: "neither the docker compose plugin nor docker-compose was found", Hint: "install docker-compose (apt-get install docker-compose) or the compose v2 plugin"}
}

// minFreeDisk is what a release install with its uv environments wants.
const minFreeDisk = 2 << 30

func diskCheck(installRoot string) check {
	c := check{Name: "disk"}
	dir := installRoot
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		c.Detail, c.Hint = fmt.Sprintf("cannot read free space under %s: %v", installRoot, err), "check install_root in .metadata"
		return c
	}
	free := st.Bavail * uint64(st.Bsize)
	c.Detail = fmt.Sprintf("%.1f GiB free under %s", float64(free)/(1<<30), installRoot)
	c.OK = free >= minFreeDisk
	if !c.OK {
		c.Hint = "free at least 2 GiB there, or move install_root"
	}
	return c
}
