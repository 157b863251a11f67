package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/images/engine"
)

// ExecStreams are an interactive exec's streams (berth exec).
type ExecStreams struct {
	// In is copied to the command's stdin; nil gives it none.
	In       io.Reader
	Out, Err io.Writer
	// TTY gives the command a terminal of Height x Width (0: the
	// daemon's default); its output then comes on Out alone.
	TTY           bool
	Height, Width uint
}

// execExitWait bounds how long the exit code may take to show once the
// command's output has ended (the daemon records it just after).
const execExitWait = 5 * time.Second

// ExecInteractive runs argv in the target's running container as docker exec
// -i [-t] does and returns its exit code.
func ExecInteractive(ctx context.Context, c *engine.Client, t ExecTarget, argv []string, s ExecStreams) (int, error) {
	id, err := containerOf(ctx, c, t)
	if err != nil {
		return -1, err
	}
	created, err := c.ContainerExecCreate(ctx, id, dcontainer.ExecOptions{
		Cmd: argv, Tty: s.TTY, AttachStdin: s.In != nil, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", t, err)
	}
	att, err := c.ContainerExecAttach(ctx, created.ID, dcontainer.ExecAttachOptions{Tty: s.TTY})
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", t, err)
	}
	defer att.Close()
	if s.TTY && s.Height > 0 && s.Width > 0 {
		// Best effort: the command runs in the daemon's default size if not.
		c.ContainerExecResize(ctx, created.ID, dcontainer.ResizeOptions{Height: s.Height, Width: s.Width})
	}
	if s.In != nil {
		go func() {
			io.Copy(att.Conn, s.In)
			att.CloseWrite()
		}()
	}
	copied := make(chan error, 1)
	go func() {
		var err error
		if s.TTY {
			_, err = io.Copy(s.Out, att.Reader)
		} else {
			_, err = stdcopy.StdCopy(s.Out, s.Err, att.Reader)
		}
		copied <- err
	}()
	select {
	case <-ctx.Done():
		return -1, ctx.Err()
	case err := <-copied:
		if err != nil && !errors.Is(err, io.EOF) {
			return -1, fmt.Errorf("exec in %s: %w", t, err)
		}
	}
	deadline := time.Now().Add(execExitWait)
	for {
		info, err := c.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return -1, fmt.Errorf("exec in %s: %w", t, err)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("exec in %s: the command's output ended but it still runs", t)
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
