package swarm

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// MissingImageError means a node of the swarm cannot get the service's image.
type MissingImageError struct {
	Service, Image string
	// Nodes are the nodes that lack it.
	Nodes []string
	Hint  string
}

func (e *MissingImageError) Error() string {
	if len(e.Nodes) == 0 {
		return fmt.Sprintf("service %s: image %s is not on the Docker daemon: %s", e.Service, e.Image, e.Hint)
	}
	return fmt.Sprintf("service %s: image %s is only on this node; %s cannot get it: %s", e.Service, e.Image, strings.Join(e.Nodes, ", "), e.Hint)
}

// resolveImage is the reference the service is deployed with and, for a
// local image, its ID. A manifest image with a registry goes by its
// registry digest (berth build pushed it); on a single node any local
// image goes by its ID, so a rebuild rolls the service; on several nodes
// an image that no registry serves is refused, naming the nodes lacking it.
func (r *Runner) resolveImage(ctx context.Context, c API, svc *runtime.Service, sw *metadata.SwarmSpec) (ref, id string, err error) {
	ref, registry, hint := sw.Image, "", ""
	manifestImage := false
	if r.opts.Image != nil {
		if ref, registry, hint, err = r.opts.Image(sw.Image); err != nil {
			return "", "", fmt.Errorf("service %s: %w", svc.Name, err)
		}
		manifestImage = hint != ""
	}
	if hint == "" {
		hint = fmt.Sprintf("load or pull it (pull: missing does), or build it as a manifest image")
	}
	if registry != "" {
		info, err := c.ImageInspect(ctx, ref)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return "", "", &MissingImageError{Service: svc.Name, Image: ref, Hint: hint}
			}
			return "", "", fmt.Errorf("service %s: inspect image %s: %w", svc.Name, ref, err)
		}
		for _, d := range info.RepoDigests {
			if strings.HasPrefix(d, registry+"/") {
				return d, info.ID, nil
			}
		}
		return "", "", fmt.Errorf("service %s: image %s has not been pushed to %s: run berth build --push %s", svc.Name, ref, registry, sw.Image)
	}
	pull := sw.Pull
	if pull == "" {
		pull = metadata.PullMissing
	}
	if manifestImage {
		pull = metadata.PullNever // berth builds it; a registry would have been named
	}
	others, err := otherNodes(ctx, c)
	if err != nil {
		return "", "", err
	}
	if len(others) > 0 {
		if manifestImage {
			return "", "", &MissingImageError{Service: svc.Name, Image: ref, Nodes: others,
				Hint: fmt.Sprintf("name a registry for image %s in berth.yaml (images.%s.registry) and push it there with berth build --push %s", sw.Image, sw.Image, sw.Image)}
		}
		return ref, "", nil // the nodes pull it themselves
	}
	info, err := c.ImageInspect(ctx, ref)
	switch {
	case err == nil && pull != metadata.PullAlways:
		return info.ID, info.ID, nil
	case err != nil && !cerrdefs.IsNotFound(err):
		return "", "", fmt.Errorf("service %s: inspect image %s: %w", svc.Name, ref, err)
	case err != nil && pull == metadata.PullNever:
		return "", "", &MissingImageError{Service: svc.Name, Image: ref, Hint: hint}
	}
	if err := r.pull(ctx, c, svc, ref); err != nil {
		return "", "", err
	}
	if info, err = c.ImageInspect(ctx, ref); err != nil {
		return "", "", fmt.Errorf("service %s: inspect image %s after pulling it: %w", svc.Name, ref, err)
	}
	return info.ID, info.ID, nil
}

func (r *Runner) pull(ctx context.Context, c API, svc *runtime.Service, ref string) error {
	rc, err := c.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("service %s: pull image %s: %w", svc.Name, ref, err)
	}
	defer rc.Close()
	out := r.opts.Progress
	if out == nil {
		out = io.Discard
	}
	if err := jsonmessage.DisplayJSONMessagesStream(rc, out, 0, false, nil); err != nil {
		return fmt.Errorf("service %s: pull image %s: %w", svc.Name, ref, err)
	}
	return nil
}

// otherNodes are the swarm's nodes other than this daemon's, by hostname.
func otherNodes(ctx context.Context, c API) ([]string, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("daemon info: %w", err)
	}
	if info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || !info.Swarm.ControlAvailable {
		return nil, ErrNoSwarm
	}
	if info.Swarm.Nodes <= 1 {
		return nil, nil
	}
	nodes, err := c.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list swarm nodes: %w", err)
	}
	var out []string
	for _, n := range nodes {
		if n.ID != info.Swarm.NodeID {
			out = append(out, n.Description.Hostname)
		}
	}
	sort.Strings(out)
	return out, nil
}
