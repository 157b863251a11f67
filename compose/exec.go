package compose

import (
	"context"
	"fmt"
	"io"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
)

// ExecTarget names the container a command runs in: a container service's
// container, or one compose service of an environment's compose project.
type ExecTarget struct {
	// Container is a container's name or id (a container service's).
	Container string
	// Project and Service find a compose service's running container.
	Project, Service string
}

// TargetOf reads a step's in: (SERVICE or SERVICE/COMPOSE_SERVICE) against
// the manifest of the environment named envName.
func TargetOf(m *metadata.Manifest, envName, in string) (ExecTarget, error) {
	name, cs := metadata.SplitIn(in)
	spec := m.Services[name]
	switch {
	case spec == nil:
		return ExecTarget{}, fmt.Errorf("in: %q names no service", in)
	case spec.Runner == metadata.RunnerContainer:
		return ExecTarget{Container: envName + "-" + name}, nil
	case spec.Runner == metadata.RunnerCompose && spec.Compose != nil && len(spec.Compose.Services) > 0:
		if cs == "" {
			cs = spec.Compose.Services[0]
		}
		return ExecTarget{Project: Project(envName), Service: cs}, nil
	}
	return ExecTarget{}, fmt.Errorf("in: %q is not a container or compose service", in)
}

// Exec runs argv inside the target's running container through the Engine
// API (as docker exec / compose exec -T do), copying its output to out, and
// returns its exit code. When ctx ends first the call returns ctx's error;
// the daemon has no call to stop an exec, so the command may run on.
func Exec(ctx context.Context, c *engine.Client, t ExecTarget, argv, env []string, dir string, out io.Writer) (int, error) {
	id, err := containerOf(ctx, c, t)
	if err != nil {
		return -1, err
	}
	created, err := c.ContainerExecCreate(ctx, id, dcontainer.ExecOptions{
		Cmd: argv, Env: env, WorkingDir: dir, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", t, err)
	}
	att, err := c.ContainerExecAttach(ctx, created.ID, dcontainer.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", t, err)
	}
	defer att.Close()
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, att.Reader)
		copied <- err
	}()
	select {
	case <-ctx.Done():
		return -1, ctx.Err()
	case err := <-copied:
		if err != nil {
			return -1, fmt.Errorf("exec in %s: read its output: %w", t, err)
		}
	}
	info, err := c.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", t, err)
	}
	return info.ExitCode, nil
}

func (t ExecTarget) String() string {
	if t.Container != "" {
		return "container " + t.Container
	}
	return "compose service " + t.Service
}

// containerOf is the id (or name) of the target's running container.
func containerOf(ctx context.Context, c *engine.Client, t ExecTarget) (string, error) {
	if t.Container != "" {
		return t.Container, nil
	}
	list, err := c.ContainerList(ctx, dcontainer.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", LabelProject+"="+t.Project), filters.Arg("label", LabelService+"="+t.Service),
		filters.Arg("status", "running"))})
	if err != nil {
		return "", fmt.Errorf("find the container of compose service %s: %w", t.Service, err)
	}
	if len(list) == 0 {
		return "", fmt.Errorf("compose service %s of project %s has no running container", t.Service, t.Project)
	}
	return list[0].ID, nil
}
