package container

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// MissingImageError means the service's image is not on the daemon.
type MissingImageError struct {
	Service, Image, Endpoint, Hint string
}

func (e *MissingImageError) Error() string {
	return fmt.Sprintf("service %s: image %s is not on the Docker daemon at %s: %s", e.Service, e.Image, e.Endpoint, e.Hint)
}

// imageRef is the reference the service's container is made from. A
// manifest image is berth's to build and is never pulled; any other is
// pulled as container.pull says (missing by default).
func (r *Runner) imageRef(ctx context.Context, c *engine.Client, svc *runtime.Service, cs *metadata.ContainerSpec) (string, error) {
	ref, hint := cs.Image, ""
	if r.opts.Image != nil {
		var err error
		if ref, hint, err = r.opts.Image(cs.Image); err != nil {
			return "", fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	policy := cs.Pull
	if hint != "" {
		policy = metadata.PullNever // a manifest image: berth builds it
	} else if policy == metadata.PullNever {
		hint = fmt.Sprintf("container.pull is never: load it (berth images load, docker load) or pull it (docker pull %s), or set container.pull to missing", ref)
	}
	_, pulled, err := images.Ensure(ctx, c, ref, policy, r.opts.Progress)
	var np *images.NotPresentError
	if errors.As(err, &np) {
		return "", &MissingImageError{Service: svc.Name, Image: ref, Endpoint: c.Endpoint, Hint: hint}
	}
	if err != nil {
		return "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	if pulled && r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "%s: pulled %s\n", svc.Name, ref)
	}
	return ref, nil
}

// prepare removes a stopped container of the service and refuses a
// running one or one berth did not create.
func (r *Runner) prepare(ctx context.Context, c *engine.Client, svc *runtime.Service) error {
	info, err := r.find(ctx, c, svc)
	if err != nil || info == nil {
		return err
	}
	if info.State.Running {
		return &runtime.AlreadyRunningError{Service: svc.Name}
	}
	if err := c.ContainerRemove(ctx, info.ID, dcontainer.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove the stopped container %s of %s: %w", Name(svc), svc.Name, err)
	}
	return nil
}

// dockerSignal is the stop signal as a container's config takes it: a number.
func dockerSignal(s syscall.Signal) string {
	if s == 0 {
		s = syscall.SIGTERM
	}
	return fmt.Sprint(int(s))
}

// create makes the service's container (not started).
func (r *Runner) create(ctx context.Context, c *engine.Client, svc *runtime.Service, attach bool) (string, error) {
	cs, err := specOf(svc)
	if err != nil {
		return "", err
	}
	if err := r.prepare(ctx, c, svc); err != nil {
		return "", err
	}
	ref, err := r.imageRef(ctx, c, svc, cs)
	if err != nil {
		return "", err
	}
	exposed, bindings, err := nat.ParsePortSpecs(cs.Ports)
	if err != nil {
		return "", fmt.Errorf("service %s: container.ports: %w (use HOST:CONTAINER, e.g. 8080:80)", svc.Name, err)
	}
	var binds []string
	for _, v := range cs.Volumes {
		src, rest, ok := strings.Cut(v, ":")
		if !ok || src == "" || rest == "" {
			return "", fmt.Errorf("service %s: container.volumes entry %q: use HOST_PATH:CONTAINER_PATH[:ro]", svc.Name, v)
		}
		if !filepath.IsAbs(src) {
			src = filepath.Join(svc.Dir, src)
		}
		binds = append(binds, src+":"+rest)
	}
	restart := dcontainer.RestartPolicy{}
	if cs.Restart != "" {
		if restart, err = parseRestart(cs.Restart); err != nil {
			return "", fmt.Errorf("service %s: container.restart %q: %w", svc.Name, cs.Restart, err)
		}
	}
	grace := int(svc.StopGrace / time.Second)
	cfg := &dcontainer.Config{
		Image:        ref,
		Cmd:          svc.Argv,
		Env:          svc.OwnEnv,
		User:         cs.User,
		ExposedPorts: exposed,
		Labels:       map[string]string{LabelEnvironment: svc.Environment, LabelService: svc.Name},
		StopSignal:   dockerSignal(svc.StopSignal),
		StopTimeout:  &grace,
		AttachStdout: attach,
		AttachStderr: attach,
		// Attached, the container reads berth's stdin (a debugger's prompt);
		// its stdin closes when berth's does.
		AttachStdin: attach,
		OpenStdin:   attach,
		StdinOnce:   attach,
	}
	init := true
	hc := &dcontainer.HostConfig{PortBindings: bindings, Binds: binds, RestartPolicy: restart, Init: &init, Resources: resourcesOf(cs.Resources)}
	resp, err := c.ContainerCreate(ctx, cfg, hc, nil, nil, Name(svc))
	if cerrdefs.IsConflict(err) {
		// Another berth created it between our check and now.
		return "", &runtime.AlreadyRunningError{Service: svc.Name}
	}
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", Name(svc), err)
	}
	return resp.ID, nil
}

// resourcesOf maps container.resources to the daemon's limits; a
// container's memory reservation is a soft limit.
func resourcesOf(r *metadata.Resources) dcontainer.Resources {
	var out dcontainer.Resources
	if r == nil {
		return out
	}
	if l := r.Limits; l != nil {
		out.NanoCPUs = int64(l.CPUs * 1e9)
		out.Memory = int64(l.Memory)
	}
	if res := r.Reservations; res != nil {
		out.MemoryReservation = int64(res.Memory)
	}
	return out
}

// parseRestart reads no, always, unless-stopped or on-failure[:N].
func parseRestart(s string) (dcontainer.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := dcontainer.RestartPolicy{Name: dcontainer.RestartPolicyMode(name)}
	switch p.Name {
	case dcontainer.RestartPolicyDisabled, dcontainer.RestartPolicyAlways, dcontainer.RestartPolicyUnlessStopped:
		if hasCount {
			return p, fmt.Errorf("only on-failure takes a retry count")
		}
	case dcontainer.RestartPolicyOnFailure:
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, fmt.Errorf("retry count %q is not a number", count)
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, fmt.Errorf("use no, always, unless-stopped or on-failure[:N]")
	}
	return p, nil
}

// PullImage pulls the service's image now, unless berth builds it (a
// manifest image) or container.pull is never.
func (r *Runner) PullImage(ctx context.Context, svc *runtime.Service) (ref, skipped string, err error) {
	cs, err := specOf(svc)
	if err != nil {
		return "", "", err
	}
	ref, hint := cs.Image, ""
	if r.opts.Image != nil {
		if ref, hint, err = r.opts.Image(cs.Image); err != nil {
			return "", "", fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	if why := images.PullSkipped(hint, cs.Pull, "container.pull"); why != "" {
		return ref, why, nil
	}
	c, err := r.client(ctx, svc)
	if err != nil {
		return ref, "", err
	}
	if err := images.Pull(ctx, c, ref, r.opts.Progress); err != nil {
		return ref, "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	return ref, "", nil
}

var _ runtime.ImagePuller = (*Runner)(nil)
