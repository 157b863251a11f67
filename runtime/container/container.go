// Package container runs services as Docker containers through the Engine
// API: one container per service, named <environment>-<service> and labelled
// with both, so that berth finds its own containers and never touches any
// other. It implements runtime.Runner.
package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// Labels on every container berth creates.
const (
	LabelEnvironment = "dev.berth.environment"
	LabelService     = "dev.berth.service"
)

// ClientFunc returns the Docker client of a manifest host ("" is the
// default endpoint).
type ClientFunc func(ctx context.Context, host string) (*engine.Client, error)

// ImageFunc maps a service's container.image to a local image reference,
// and says how the user makes it when it is missing.
type ImageFunc func(image string) (ref, hint string, err error)

// Options configure a Runner.
type Options struct {
	Client ClientFunc
	// Image, if nil, takes container.image as the reference.
	Image ImageFunc
	// Progress receives the progress of image pulls; nil discards it.
	Progress io.Writer
}

// Runner is the container runner.
type Runner struct{ opts Options }

// New returns a container runner.
func New(opts Options) *Runner { return &Runner{opts: opts} }

// Name is the container name of svc.
func Name(svc *runtime.Service) string { return svc.Environment + "-" + svc.Name }

func specOf(svc *runtime.Service) (*metadata.ContainerSpec, error) {
	if svc.Container == nil || svc.Container.Image == "" {
		return nil, fmt.Errorf("service %s runs as a container but names no container.image in berth.yaml", svc.Name)
	}
	return svc.Container, nil
}

func (r *Runner) client(ctx context.Context, svc *runtime.Service) (*engine.Client, error) {
	c, err := r.opts.Client(ctx, svc.Host)
	if err != nil {
		if h := svc.Host; h != "" {
			return nil, fmt.Errorf("host %s: %w", h, err)
		}
		return nil, err
	}
	return c, nil
}

// Detail is what the container runner knows of a service: its container.
type Detail struct {
	ID string `json:"container_id,omitempty"`
	// Host is the manifest host the container runs on; the state shows it.
	Host string `json:"-"`
}

// Describe is "container 0123456789ab", with " on HOST" on another host.
func (d Detail) Describe() string {
	s := "container " + engine.ShortID(d.ID)
	if d.Host != "" {
		s += " on " + d.Host
	}
	return s
}

// ForeignContainerError means a container has the name berth would give a
// service but was not created by berth for it.
type ForeignContainerError struct {
	Service, Container string
}

func (e *ForeignContainerError) Error() string {
	return fmt.Sprintf("a container named %s exists that berth did not create for service %s: berth leaves it alone; remove or rename it (docker rm %s) if it is not needed", e.Container, e.Service, e.Container)
}

func owned(svc *runtime.Service, labels map[string]string) bool {
	return labels[LabelEnvironment] == svc.Environment && labels[LabelService] == svc.Name
}

// find inspects the container named for svc: nil when there is none.
func (r *Runner) find(ctx context.Context, c *engine.Client, svc *runtime.Service) (*dcontainer.InspectResponse, error) {
	name := Name(svc)
	info, err := c.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", name, err)
	}
	if info.Config == nil || !owned(svc, info.Config.Labels) {
		return &info, &ForeignContainerError{Service: svc.Name, Container: name}
	}
	return &info, nil
}

// Inspect reports the service's container from the daemon.
func (r *Runner) Inspect(ctx context.Context, svc *runtime.Service) (runtime.State, error) {
	st := runtime.State{Name: svc.Name, State: runtime.Stopped, Host: svc.Host}
	c, err := r.client(ctx, svc)
	if err != nil {
		return st, err
	}
	info, err := r.find(ctx, c, svc)
	var fe *ForeignContainerError
	if errors.As(err, &fe) {
		st.Reason = fe.Error()
		return st, nil
	}
	if err != nil || info == nil {
		return st, err
	}
	h := runtime.Handle{Service: svc.Name, Runner: metadata.RunnerContainer, ID: info.ID, Host: svc.Host}
	if t, err := time.Parse(time.RFC3339Nano, info.State.StartedAt); err == nil {
		h.StartedAt = t
	}
	st.Handle = &h
	st.Detail = Detail{ID: info.ID, Host: svc.Host}
	if info.State.Running {
		st.State = runtime.Running
		if !h.StartedAt.IsZero() {
			t := h.StartedAt
			st.StartedAt = &t
		}
		return st, nil
	}
	st.Reason = fmt.Sprintf("container %s %s", engine.ShortID(info.ID), runtime.ExitOfCode(int64(info.State.ExitCode)))
	return st, nil
}

func (r *Runner) start(ctx context.Context, c *engine.Client, svc *runtime.Service, id string) (runtime.Handle, error) {
	if err := c.ContainerStart(ctx, id, dcontainer.StartOptions{}); err != nil {
		c.ContainerRemove(context.WithoutCancel(ctx), id, dcontainer.RemoveOptions{Force: true})
		return runtime.Handle{}, fmt.Errorf("start container %s: %w", Name(svc), err)
	}
	return runtime.Handle{Service: svc.Name, Runner: metadata.RunnerContainer, ID: id, StartedAt: time.Now(), Host: svc.Host}, nil
}

// Start creates and starts the service's container, replacing a stopped
// one of the same service.
func (r *Runner) Start(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	c, err := r.client(ctx, svc)
	if err != nil {
		return runtime.Handle{}, err
	}
	id, err := r.create(ctx, c, svc, false)
	if err != nil {
		return runtime.Handle{}, err
	}
	return r.start(ctx, c, svc, id)
}

// Run runs the container attached: its output goes to stdio, the signals
// berth receives go to it, and its exit status is returned. The container
// is removed at the end.
func (r *Runner) Run(ctx context.Context, svc *runtime.Service, stdio runtime.Stdio, launched func(runtime.Handle)) (runtime.Exit, error) {
	c, err := r.client(ctx, svc)
	if err != nil {
		return runtime.Exit{}, err
	}
	id, err := r.create(ctx, c, svc, true)
	if err != nil {
		return runtime.Exit{}, err
	}
	defer c.ContainerRemove(context.WithoutCancel(ctx), id, dcontainer.RemoveOptions{Force: true})
	// From here on the container's own end ends the run: berth's Ctrl-C
	// (which also cancels ctx) is forwarded through stdio.Signals, and berth
	// then waits for the container's exit code, as for a host process.
	ctx = context.WithoutCancel(ctx)
	// Attach and wait before starting, as docker run does, or a fast exit
	// and its output are missed.
	att, err := c.ContainerAttach(ctx, id, dcontainer.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return runtime.Exit{}, fmt.Errorf("attach to container %s: %w", Name(svc), err)
	}
	defer att.Close()
	go func() {
		if stdio.Stdin != nil {
			io.Copy(att.Conn, stdio.Stdin)
		}
		att.CloseWrite()
	}()
	waitCh, errCh := c.ContainerWait(ctx, id, dcontainer.WaitConditionNextExit)
	out, errOut := io.Writer(io.Discard), io.Writer(io.Discard)
	if stdio.Stdout != nil {
		out = stdio.Stdout
	}
	if stdio.Stderr != nil {
		errOut = stdio.Stderr
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		stdcopy.StdCopy(out, errOut, att.Reader)
	}()
	h, err := r.start(ctx, c, svc, id)
	if err != nil {
		return runtime.Exit{}, err
	}
	if launched != nil {
		launched(h)
	}
	for {
		select {
		case sig := <-stdio.Signals:
			if s, ok := sig.(syscall.Signal); ok {
				c.ContainerKill(ctx, id, fmt.Sprint(int(s)))
			}
		case res := <-waitCh:
			<-copied
			if res.Error != nil {
				return runtime.Exit{}, fmt.Errorf("wait for container %s: %s", Name(svc), res.Error.Message)
			}
			return runtime.ExitOfCode(res.StatusCode), nil
		case err := <-errCh:
			return runtime.Exit{}, fmt.Errorf("wait for container %s: %w", Name(svc), err)
		}
	}
}

// Wait returns when the container of h stops.
func (r *Runner) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	c, err := r.opts.Client(ctx, h.Host)
	if err != nil {
		return runtime.Exit{}, err
	}
	waitCh, errCh := c.ContainerWait(ctx, h.ID, dcontainer.WaitConditionNotRunning)
	select {
	case res := <-waitCh:
		if res.Error != nil {
			return runtime.Exit{}, errors.New(res.Error.Message)
		}
		return runtime.ExitOfCode(res.StatusCode), nil
	case err := <-errCh:
		if cerrdefs.IsNotFound(err) {
			return runtime.Exit{}, runtime.ErrNotRunning
		}
		return runtime.Exit{}, err
	}
}

// killWait bounds the wait after KILL: the kernel ends the process at
// once, but the daemon then reaps it, unmounts the container's file system
// and reports the exit through the API, which takes seconds on a busy host.
const killWait = 10 * time.Second

// Stop sends the stop signal, waits up to the grace period and removes the
// container. Docker's own stop would send KILL when its timeout ends; berth
// sends KILL only when opts.Kill is set, so it signals and waits itself.
func (r *Runner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	c, info, err := r.handled(ctx, svc, h)
	if err != nil || info == nil {
		return err
	}
	if info.Config == nil || !owned(svc, info.Config.Labels) {
		return &ForeignContainerError{Service: svc.Name, Container: strings.TrimPrefix(info.Name, "/")}
	}
	if info.State.Running {
		// A restart policy would bring the container back after the signal.
		policy := info.HostConfig.RestartPolicy
		if policy.Name != "" && policy.Name != dcontainer.RestartPolicyDisabled {
			if _, err := c.ContainerUpdate(ctx, h.ID, dcontainer.UpdateConfig{RestartPolicy: dcontainer.RestartPolicy{Name: dcontainer.RestartPolicyDisabled}}); err != nil {
				return fmt.Errorf("turn off the restart policy of %s before stopping it: %w", Name(svc), err)
			}
		}
		sig := opts.Signal
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		ended, err := r.signalAndWait(ctx, c, h.ID, sig, opts.Grace)
		if err != nil {
			return err
		}
		if !ended {
			if !opts.Kill {
				if policy.Name != "" && policy.Name != dcontainer.RestartPolicyDisabled {
					c.ContainerUpdate(ctx, h.ID, dcontainer.UpdateConfig{RestartPolicy: policy})
				}
				return &runtime.StopTimeoutError{Service: svc.Name, Grace: opts.Grace, Signal: sig}
			}
			if ended, err = r.signalAndWait(ctx, c, h.ID, syscall.SIGKILL, killWait); err != nil {
				return err
			} else if !ended {
				return fmt.Errorf("container %s survived KILL", Name(svc))
			}
		}
	}
	if err := c.ContainerRemove(ctx, h.ID, dcontainer.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", Name(svc), err)
	}
	return nil
}

func (r *Runner) signalAndWait(ctx context.Context, c *engine.Client, id string, sig syscall.Signal, grace time.Duration) (bool, error) {
	wctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	waitCh, errCh := c.ContainerWait(wctx, id, dcontainer.WaitConditionNotRunning)
	if err := c.ContainerKill(ctx, id, fmt.Sprint(int(sig))); err != nil {
		if cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) {
			// Gone or no longer running: the wait below says which.
		} else {
			return false, fmt.Errorf("send %d to container %s: %w", int(sig), engine.ShortID(id), err)
		}
	}
	select {
	case <-waitCh:
		return true, nil
	case err := <-errCh:
		if cerrdefs.IsNotFound(err) {
			return true, nil
		}
		if wctx.Err() != nil && ctx.Err() == nil {
			return false, nil
		}
		return false, err
	}
}

// handled inspects the container of h; a container that is gone gives a
// nil info and no error.
func (r *Runner) handled(ctx context.Context, svc *runtime.Service, h runtime.Handle) (*engine.Client, *dcontainer.InspectResponse, error) {
	c, err := r.client(ctx, svc)
	if err != nil {
		return nil, nil, err
	}
	info, err := c.ContainerInspect(ctx, h.ID)
	if cerrdefs.IsNotFound(err) {
		return c, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("inspect container %s: %w", Name(svc), err)
	}
	return c, &info, nil
}

// Forget removes the container of h if it is stopped.
func (r *Runner) Forget(ctx context.Context, svc *runtime.Service, h runtime.Handle) error {
	c, info, err := r.handled(ctx, svc, h)
	if err != nil || info == nil {
		return err
	}
	if info.State.Running || info.Config == nil || !owned(svc, info.Config.Labels) {
		return nil
	}
	if err := c.ContainerRemove(ctx, h.ID, dcontainer.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove the stopped container %s: %w", Name(svc), err)
	}
	return nil
}

// Logs returns the container's stdout and stderr as the daemon keeps them.
func (r *Runner) Logs(ctx context.Context, svc *runtime.Service, opts runtime.LogOptions) (io.ReadCloser, error) {
	c, err := r.client(ctx, svc)
	if err != nil {
		return nil, err
	}
	info, err := r.find(ctx, c, svc)
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, fmt.Errorf("service %s has no container (%s): start it first", svc.Name, Name(svc))
	}
	if opts.Follow {
		return r.followLogs(ctx, c, svc, info.ID, opts)
	}
	return engine.Logs(ctx, c, info.ID, engine.LogOptions{Tail: opts.Tail, Since: opts.Since})
}

// Capabilities says what the runner can do beyond the Runner contract.
func (r *Runner) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{Foreground: true, LogLineTimes: true, StopWithoutKill: true}
}
