package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// LogOptions selects what Logs returns: the part of runtime.LogOptions the
// daemon serves (a container has only its output, so Output does not apply).
type LogOptions struct {
	Follow bool
	// Tail is how many of the last lines; negative means all.
	Tail int
	// Since drops lines older than this time.
	Since time.Time
}

// Logs returns what container id wrote to stdout and stderr, as the daemon
// keeps it and opts selects (with Follow, until ctx ends or the container
// stops), without the stream headers of a non-TTY container. Every runner
// that reads container logs reads them here.
func Logs(ctx context.Context, c API, id string, opts LogOptions) (io.ReadCloser, error) {
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: "all"}
	if opts.Tail >= 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	if !opts.Since.IsZero() {
		lo.Since = strconv.FormatInt(opts.Since.Unix(), 10)
	}
	rc, err := c.ContainerLogs(ctx, id, lo)
	if err != nil {
		return nil, fmt.Errorf("logs of container %s: %w", ShortID(id), err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		rc.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// ShortID is the 12-character form of a container id that docker shows.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
