package engine

import (
	"bytes"
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
	// Since drops lines older than this time (to the nanosecond).
	Since time.Time
	// Times, when set, is told the time the daemon gives each message
	// (asked for with the stream's timestamps, which are cut from the
	// lines), so a follow can re-open the stream after the last line.
	Times func(time.Time)
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
		lo.Since = fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond())
	}
	lo.Timestamps = opts.Times != nil
	rc, err := c.ContainerLogs(ctx, id, lo)
	if err != nil {
		return nil, fmt.Errorf("logs of container %s: %w", ShortID(id), err)
	}
	pr, pw := io.Pipe()
	var w io.Writer = pw
	if opts.Times != nil {
		w = &timeCutter{w: pw, seen: opts.Times}
	}
	go func() {
		_, err := stdcopy.StdCopy(w, w, rc)
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

// timeCutter takes the daemon's timestamp off each message. StdCopy writes
// one frame per Write, and the daemon puts one message (a line, or a part
// of a long one) with its own timestamp in each frame.
type timeCutter struct {
	w    io.Writer
	seen func(time.Time)
}

func (t *timeCutter) Write(p []byte) (int, error) {
	if i := bytes.IndexByte(p, ' '); i > 0 {
		if ts, err := time.Parse(time.RFC3339Nano, string(p[:i])); err == nil {
			if _, err := t.w.Write(p[i+1:]); err != nil {
				return 0, err
			}
			t.seen(ts)
			return len(p), nil
		}
	}
	return t.w.Write(p)
}
