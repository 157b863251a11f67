package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/moby/term"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
)

// PullTimeout bounds one pull: a registry that does not answer fails the
// start rather than hanging it.
var PullTimeout = 10 * time.Minute

// anonymous is the empty auth header: the API wants one even for a
// registry that needs none.
const anonymous = "e30="

// terminalWriter is a writer that knows whether it is a terminal (berth's
// output streams).
type terminalWriter interface {
	IsTerminal() bool
	FD() uintptr
}

// terminalOf says whether out is a terminal progress may be drawn on.
func terminalOf(out io.Writer) (uintptr, bool) {
	if t, ok := out.(terminalWriter); ok {
		return t.FD(), t.IsTerminal()
	}
	return term.GetFdInfo(out)
}

// Pull pulls ref through the daemon, anonymously, with the daemon's progress
// on out: redrawn per layer when out is a terminal, one plain line per
// message otherwise (CI logs). nil out discards it.
func Pull(ctx context.Context, c engine.API, ref string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, PullTimeout)
	defer cancel()
	rc, err := c.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: anonymous})
	if err != nil {
		return pullError(ref, err)
	}
	defer rc.Close()
	if out == nil {
		out = io.Discard
	}
	fd, isTerm := terminalOf(out)
	if err := jsonmessage.DisplayJSONMessagesStream(rc, out, fd, isTerm, nil); err != nil {
		return pullError(ref, err)
	}
	return nil
}

// pullError names the registry as the cause when the daemon could not
// reach it (the daemon reports that as text, not as a typed error).
func pullError(ref string, err error) error {
	msg := err.Error()
	for _, s := range []string{"connection refused", "i/o timeout", "no such host", "network is unreachable", "connection reset"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("pull image %s: the daemon cannot reach its registry (%s): start the registry or fix the image reference: %w", ref, registryOf(ref), err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pull image %s: no answer within %s: %w", ref, PullTimeout, err)
	}
	return fmt.Errorf("pull image %s: %w", ref, err)
}

// PullSkipped says why `berth pull` leaves an image alone, or "" when it
// pulls it: berth builds it (built is the build's hint), or the policy
// (the manifest's key, such as container.pull) is never.
func PullSkipped(built, policy, key string) string {
	switch {
	case built != "":
		return "berth builds it: " + built
	case policy == metadata.PullNever:
		return key + " is never"
	}
	return ""
}

// NotPresentError means an image is not on the daemon and the pull policy
// (never) forbids pulling it.
type NotPresentError struct{ Image string }

func (e *NotPresentError) Error() string {
	return fmt.Sprintf("image %s is not on the Docker daemon and the pull policy is never", e.Image)
}

// Ensure makes ref present on the daemon as policy says ("" is missing):
// missing pulls it only when absent, always pulls it every time, never
// returns a *NotPresentError when it is absent. It returns the image's
// inspection and whether it pulled.
func Ensure(ctx context.Context, c engine.API, ref, policy string, out io.Writer) (image.InspectResponse, bool, error) {
	info, err := c.ImageInspect(ctx, ref)
	switch {
	case err != nil && !cerrdefs.IsNotFound(err):
		return info, false, fmt.Errorf("inspect image %s: %w", ref, err)
	case err == nil && policy != metadata.PullAlways:
		return info, false, nil
	case err != nil && policy == metadata.PullNever:
		return info, false, &NotPresentError{Image: ref}
	}
	if err := Pull(ctx, c, ref, out); err != nil {
		return info, false, err
	}
	if info, err = c.ImageInspect(ctx, ref); err != nil {
		return info, true, fmt.Errorf("inspect image %s after pulling it: %w", ref, err)
	}
	return info, true, nil
}

// registryOf is the registry host of ref (docker.io for a short name).
func registryOf(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.Domain(n)
}
