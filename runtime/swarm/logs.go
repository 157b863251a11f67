package swarm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/runtime"
)

// serviceLogs reads the service's logs through the manager (every node's
// tasks), prefixing each line with its task as "<service>.<slot> | ".
func (r *Runner) serviceLogs(ctx context.Context, c API, svc *runtime.Service, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: "all", Details: true}
	if opts.Tail >= 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	if !opts.Since.IsZero() {
		lo.Since = strconv.FormatInt(opts.Since.Unix(), 10)
	}
	rc, err := c.ServiceLogs(ctx, id, lo)
	if err != nil {
		return nil, fmt.Errorf("logs of swarm service %s: %w", Name(svc), err)
	}
	raw, rawW := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(rawW, rawW, rc)
		rc.Close()
		rawW.CloseWithError(err)
	}()
	out, outW := io.Pipe()
	go func() {
		slots := map[string]string{}
		sc := bufio.NewScanner(raw)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			task, msg := splitDetails(sc.Text())
			slot, ok := slots[task]
			if !ok {
				slot = r.slotOf(ctx, c, id, task)
				slots[task] = slot
			}
			if _, err := fmt.Fprintf(outW, "%s.%s | %s\n", svc.Name, slot, msg); err != nil {
				raw.CloseWithError(err)
				return
			}
		}
		outW.CloseWithError(sc.Err())
	}()
	return struct {
		io.Reader
		io.Closer
	}{out, closerFunc(func() error { raw.Close(); return out.Close() })}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// splitDetails takes the details the daemon puts before a service log
// line ("com.docker.swarm.node.id=...,com.docker.swarm.task.id=... ") and
// returns the task ID and the line itself.
func splitDetails(line string) (task, msg string) {
	details, msg, ok := strings.Cut(line, " ")
	if !ok || !strings.Contains(details, "=") {
		return "", line
	}
	for _, kv := range strings.Split(details, ",") {
		if k, v, _ := strings.Cut(kv, "="); k == "com.docker.swarm.task.id" {
			task = v
		}
	}
	return task, msg
}

// slotOf is a task's slot, or its short ID when the task is not listed.
func (r *Runner) slotOf(ctx context.Context, c API, serviceID, task string) string {
	if ts, err := r.tasks(ctx, c, serviceID); err == nil {
		for _, t := range ts {
			if t.ID == task {
				return strconv.Itoa(t.Slot)
			}
		}
	}
	return shortID(task)
}
