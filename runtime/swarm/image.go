package swarm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/images"
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
		hint = fmt.Sprintf("swarm.pull is never: load it (berth images load, docker load) or pull it (docker pull %s), or set swarm.pull to missing", ref)
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
	others, err := r.otherNodes(ctx, c)
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
	info, pulled, err := images.Ensure(ctx, c, ref, pull, r.opts.Progress)
	var np *images.NotPresentError
	if errors.As(err, &np) {
		return "", "", &MissingImageError{Service: svc.Name, Image: ref, Hint: hint}
	}
	if err != nil {
		return "", "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	if pulled && r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "%s: pulled %s\n", svc.Name, ref)
	}
	return info.ID, info.ID, nil
}

// otherNodes are the swarm's nodes other than this daemon's, by hostname,
// asked once per runner (a command): the daemon's info takes it a tenth of
// a second, and a start of ten services asked it ten times, four at once.
func (r *Runner) otherNodes(ctx context.Context, c API) ([]string, error) {
	r.nodesMu.Lock()
	defer r.nodesMu.Unlock()
	if r.nodes != nil {
		return *r.nodes, nil
	}
	others, err := otherNodes(ctx, c)
	if err == nil {
		r.nodes = &others
	}
	return others, err
}

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

// PullImage pulls the service's image to this daemon now, unless berth
// builds it (a manifest image) or swarm.pull is never.
func (r *Runner) PullImage(ctx context.Context, svc *runtime.Service) (ref, skipped string, err error) {
	sw, err := specOf(svc)
	if err != nil {
		return "", "", err
	}
	ref, hint := sw.Image, ""
	if r.opts.Image != nil {
		if ref, _, hint, err = r.opts.Image(sw.Image); err != nil {
			return "", "", fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	if why := images.PullSkipped(hint, sw.Pull, "swarm.pull"); why != "" {
		return ref, why, nil
	}
	c, err := r.client(ctx)
	if err != nil {
		return ref, "", err
	}
	if err := images.Pull(ctx, c, ref, r.opts.Progress); err != nil {
		return ref, "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	return ref, "", nil
}

var _ runtime.ImagePuller = (*Runner)(nil)
