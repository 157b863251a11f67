package images

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/berthdev/berth/images/engine"
)

// RegistryRef is where an image tagged tag goes in registry
// (HOST[:PORT][/PATH]): the tag's path and tag under the registry, e.g.
// api:1.2 in 127.0.0.1:5000/team is 127.0.0.1:5000/team/api:1.2.
func RegistryRef(registry, tag string) (string, error) {
	named, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		return "", fmt.Errorf("image tag %q: %w", tag, err)
	}
	path := reference.Path(named)
	if reference.Domain(named) == "docker.io" {
		path = strings.TrimPrefix(path, "library/")
	}
	ref := strings.TrimSuffix(registry, "/") + "/" + path
	if t, ok := named.(reference.Tagged); ok {
		ref += ":" + t.Tag()
	} else {
		ref += ":latest"
	}
	return ref, nil
}

// Push tags the local image tag for registry and pushes it, showing the
// daemon's progress on out (a live display when isTerm). It returns the
// pushed image's digest reference (REGISTRY/PATH@sha256:...), by which a
// swarm deploys it.
func Push(ctx context.Context, c *engine.Client, tag, registry string, out io.Writer, fd uintptr, isTerm bool) (string, error) {
	target, err := RegistryRef(registry, tag)
	if err != nil {
		return "", err
	}
	if err := c.ImageTag(ctx, tag, target); err != nil {
		return "", fmt.Errorf("tag %s as %s: %w", tag, target, err)
	}
	// The API wants an auth header even for a registry that needs none.
	rc, err := c.ImagePush(ctx, target, image.PushOptions{RegistryAuth: "e30="})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", target, err)
	}
	defer rc.Close()
	if out == nil {
		out = io.Discard
	}
	if err := jsonmessage.DisplayJSONMessagesStream(rc, out, fd, isTerm, nil); err != nil {
		return "", fmt.Errorf("push %s: %w", target, err)
	}
	info, err := c.ImageInspect(ctx, target)
	if err != nil {
		return "", fmt.Errorf("inspect %s after pushing it: %w", target, err)
	}
	repo := target[:strings.LastIndex(target, ":")]
	for _, d := range info.RepoDigests {
		if strings.HasPrefix(d, repo+"@") {
			return d, nil
		}
	}
	return "", fmt.Errorf("push %s: the daemon recorded no digest for it", target)
}
